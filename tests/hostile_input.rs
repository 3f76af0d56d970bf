//! Hostile files, no GPU needed: declared sizes are checked before anything is allocated,
//! and every reader (sprites, backgrounds, manifests, lexicons, model configs, checkpoints,
//! tokenizers, annotations, embeddings, videos through ffmpeg) answers a corpus of truncated, mutated and oversized files made here with an
//! error, never a panic, within a time and memory bound.

mod alloc_meter;
mod hostile;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use alloc_meter::peak_allocated;
use hostile::{Rng, err_text, readers, tiny_checkpoint, variants};
use locomotion::caption::Lexicon;
use locomotion::cli::generate::check_budget;
use locomotion::model::checkpoint::{Checkpoint, HostTensor, SaveStep, abort_save_after};
use locomotion::motion::backgrounds::load_video;
use locomotion::motion::params::ManifestEntry;
use locomotion::motion::sprites::ObjectLibrary;
use locomotion::motion::{BackgroundLibrary, GenConfig, sample_clip};
use locomotion::util::limits::MAX_HOST_BYTES;

// ---------------------------------------------------------------- small file makers

/// A GIF of one 1×1 frame whose header declares a `w` × `h` screen (35 bytes).
fn gif_with_screen(w: u16, h: u16) -> Vec<u8> {
    let mut b = b"GIF89a".to_vec();
    b.extend(w.to_le_bytes());
    b.extend(h.to_le_bytes());
    b.extend([0, 0, 0]);
    // Image descriptor: at (0, 0), 1×1, a local table of two colours.
    b.extend([0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0x80]);
    b.extend([255, 0, 0, 0, 0, 255]);
    b.extend([0x02, 0x02, 0x4c, 0x01, 0x00]);
    b.push(0x3b);
    b
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A valid RGBA PNG of `w` × `h`, then its IHDR rewritten (CRC fixed) to declare `dw` × `dh`.
fn png_declaring(w: u32, h: u32, dw: u32, dh: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    let img = image::RgbaImage::from_pixel(w, h, image::Rgba([200, 10, 10, 255]));
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .unwrap();
    // Signature (8), length (4), "IHDR" (4), then width and height.
    bytes[16..20].copy_from_slice(&dw.to_be_bytes());
    bytes[20..24].copy_from_slice(&dh.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// A bound on wall-clock time that holds on a 2-core machine loaded 8-deep: only a reader
/// that hangs or does pathological work exceeds it (memory is measured, not timed).
const LOADED: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------- declared sizes

#[test]
fn a_gif_declaring_a_huge_or_empty_screen_is_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.gif");
    std::fs::write(&huge, gif_with_screen(65_535, 65_535)).unwrap();
    assert_eq!(std::fs::metadata(&huge).unwrap().len(), 35);
    let t0 = Instant::now();
    let (got, held) = peak_allocated(|| load_video(&huge, 32, 32, 16));
    let e = err_text(got.unwrap_err());
    assert!(
        e.contains("huge.gif") && e.contains("65535x65535"),
        "names the file and its size: {e}"
    );
    // One frame of that screen is 16 GiB: refused before allocating, it holds a few KiB.
    assert!(held < 1 << 20, "allocated {} KiB", held >> 10);
    assert!(t0.elapsed() < LOADED, "{:?}", t0.elapsed());
    // The whole folder route (generate --backgrounds) stops at the same check.
    let e = err_text(BackgroundLibrary::from_path(dir.path(), 32, 32, 16).unwrap_err());
    assert!(e.contains("65535x65535"), "{e}");

    let empty = dir.path().join("empty.gif");
    std::fs::write(&empty, gif_with_screen(0, 0)).unwrap();
    let e = err_text(load_video(&empty, 32, 32, 16).unwrap_err());
    assert!(e.contains("empty.gif") && e.contains("0x0"), "{e}");

    // The same 35 bytes with a 1×1 screen decode: the limit is on the size, not the file.
    let ok = dir.path().join("ok.gif");
    std::fs::write(&ok, gif_with_screen(1, 1)).unwrap();
    let v = load_video(&ok, 32, 32, 16).unwrap();
    assert_eq!(v.frames.len(), 1);
    assert_eq!(v.frames[0].len(), 32 * 32 * 4);
}

#[test]
fn png_frames_and_sprites_declaring_gigapixels_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    std::fs::write(
        frames.join("0000.png"),
        png_declaring(4, 4, 100_000, 100_000),
    )
    .unwrap();
    let t0 = Instant::now();
    let (got, held) = peak_allocated(|| load_video(&frames, 32, 32, 4));
    let e = err_text(got.unwrap_err());
    assert!(e.contains("0000.png") && e.contains("100000x100000"), "{e}");
    assert!(
        held < 1 << 20,
        "allocated {} KiB for a refused frame",
        held >> 10
    );
    let sprites = dir.path().join("sprites");
    std::fs::create_dir(&sprites).unwrap();
    std::fs::write(sprites.join("red_car.png"), png_declaring(4, 4, 9000, 20)).unwrap();
    let (got, held) = peak_allocated(|| ObjectLibrary::from_dir(&sprites));
    let e = err_text(got.unwrap_err());
    assert!(e.contains("red_car.png") && e.contains("9000x20"), "{e}");
    assert!(
        held < 1 << 20,
        "allocated {} KiB for a refused sprite",
        held >> 10
    );
    assert!(t0.elapsed() < LOADED);
    // A frame folder of many frames is read fitted, one source frame at a time.
    for t in 1..6 {
        image::RgbaImage::from_pixel(640, 480, image::Rgba([0, 0, 255, 255]))
            .save(frames.join(format!("{t:04}.png")))
            .unwrap();
    }
    std::fs::remove_file(frames.join("0000.png")).unwrap();
    let v = load_video(&frames, 24, 40, 3).unwrap();
    assert_eq!(v.frames.len(), 3, "at most --frames frames are read");
    assert!(v.frames.iter().all(|f| f.len() == 24 * 40 * 4));
}

#[test]
fn the_run_budget_names_the_flag_to_lower() {
    let cfg = |frames, side| GenConfig {
        frames,
        height: side,
        width: side,
        ..GenConfig::default()
    };
    let binding = 128 << 20;
    // 4096³ RGBA is 256 GiB a clip.
    let e = err_text(check_budget(&cfg(4096, 4096), 16, 10, 10, binding).unwrap_err());
    assert!(e.contains("--frames") && e.contains("--size"), "{e}");
    // One clip fits, sixteen do not: the message says --batch, and how far to lower it.
    let e = err_text(check_budget(&cfg(64, 512), 16, 100, 1, binding).unwrap_err());
    assert!(
        e.contains("--batch") && e.contains("lower --batch to 2"),
        "{e}"
    );
    // Fewer clips than --batch only need what they use.
    check_budget(&cfg(64, 512), 16, 2, 1, binding).unwrap();
    // Host memory: many long backgrounds at a large size.
    let big = 1u64 << 40;
    let e = err_text(check_budget(&cfg(1024, 1024), 1, 1, 1000, big).unwrap_err());
    assert!(e.contains("backgrounds") && e.contains("memory"), "{e}");
    let per_bg = 1024u64 * 1024 * 1024 * 4;
    assert!(1000 * per_bg > MAX_HOST_BYTES);
    // The defaults pass.
    check_budget(&GenConfig::default(), 16, 16, 10, binding).unwrap();
}

#[test]
fn a_save_killed_after_any_filesystem_step_leaves_a_loadable_checkpoint() {
    let steps = [
        SaveStep::Created,
        SaveStep::WeightsWritten,
        SaveStep::ConfigWritten,
        SaveStep::OldMoved,
        SaveStep::NewMoved,
    ];
    for step in steps {
        let dir = tempfile::tempdir().unwrap();
        let ck = dir.path().join("checkpoint");
        tiny_checkpoint(10, 1.0).save(&ck).unwrap();
        abort_save_after(Some(step));
        let r = tiny_checkpoint(20, 2.0).save(&ck);
        abort_save_after(None);
        assert!(r.is_err(), "{step:?}: the hook stops the save");
        assert!(
            Checkpoint::recover(&ck).unwrap(),
            "{step:?}: a checkpoint is recovered"
        );
        let got = Checkpoint::load(&ck).unwrap();
        let s = got.config.state.step;
        // Once the new one is whole (config written), recovery keeps the newer step.
        let want = if step >= SaveStep::ConfigWritten {
            20
        } else {
            10
        };
        assert_eq!(s, want, "{step:?}");
        assert_eq!(got.tensors["w"].data[0], if want == 20 { 2.0 } else { 1.0 });
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["checkpoint"], "{step:?}: leftovers are cleared");
        // And the next save works normally.
        tiny_checkpoint(30, 3.0).save(&ck).unwrap();
        assert_eq!(Checkpoint::load(&ck).unwrap().config.state.step, 30);
    }
}

#[test]
fn validate_for_names_a_missing_or_misshapen_optimizer_moment() {
    let mut ck = tiny_checkpoint(5, 1.0);
    let expected = vec![("w".to_string(), vec![2, 3])];
    let e = err_text(ck.validate_for(&expected, true).unwrap_err());
    assert!(e.contains("adam.m.w"), "{e}");
    ck.tensors
        .insert("adam.m.w".into(), HostTensor::new(vec![2, 3], vec![0.0; 6]));
    ck.tensors
        .insert("adam.v.w".into(), HostTensor::new(vec![7], vec![0.0; 7]));
    let e = err_text(ck.validate_for(&expected, true).unwrap_err());
    assert!(e.contains("adam.v.w") && e.contains("[7]"), "{e}");
    ck.tensors
        .insert("adam.v.w".into(), HostTensor::new(vec![2, 3], vec![0.0; 6]));
    ck.validate_for(&expected, true).unwrap();
    ck.tensors
        .insert("stray".into(), HostTensor::new(vec![1], vec![0.0]));
    let e = err_text(ck.validate_for(&expected, true).unwrap_err());
    assert!(e.contains("stray"), "{e}");
}

#[test]
fn every_reader_refuses_truncated_mutated_and_oversized_files_without_panicking() {
    let work = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut tried, mut panics, mut slow, mut accepted_bad) =
        (0, Vec::new(), Vec::new(), Vec::new());
    let mut most = 0usize;
    let start = Instant::now();
    for r in readers(work.path()) {
        let text = r.file.ends_with(".json") || r.file.ends_with(".jsonl");
        // The valid example itself reads: the corpus mutates something a reader accepts.
        let case = |bytes: &[u8]| -> std::thread::Result<anyhow::Result<()>> {
            let dir = tempfile::tempdir_in(work.path()).unwrap();
            for (name, b) in &r.beside {
                std::fs::write(dir.path().join(name), b).unwrap();
            }
            std::fs::write(dir.path().join(r.file), bytes).unwrap();
            catch_unwind(AssertUnwindSafe(|| (r.read)(dir.path())))
        };
        match case(&r.valid) {
            Ok(Ok(())) => {}
            other => panic!("{}: the valid example does not read: {other:?}", r.name),
        }
        for (label, bytes, must_fail) in
            // A GIF or a video cut between two frames is a shorter one.
            variants(
                &r.valid,
                text,
                r.file.ends_with(".gif") || r.file.ends_with(".webm"),
                &mut rng,
            )
        {
            tried += 1;
            let t0 = Instant::now();
            let (got, held) = peak_allocated(|| case(&bytes));
            if t0.elapsed() > LOADED {
                slow.push(format!("{} / {label}: {:?}", r.name, t0.elapsed()));
            }
            most = most.max(held);
            match got {
                Err(_) => panics.push(format!("{} / {label}", r.name)),
                Ok(Ok(())) if must_fail => accepted_bad.push(format!("{} / {label}", r.name)),
                Ok(Err(e)) => {
                    let msg = err_text(e);
                    assert!(!msg.contains('\n'), "{} / {label}: one line: {msg}", r.name);
                }
                Ok(Ok(())) => {}
            }
        }
    }
    eprintln!(
        "fuzz: {tried} cases in {:.1} s, {} panics, {} slow, at most {} MiB held by one case",
        start.elapsed().as_secs_f64(),
        panics.len(),
        slow.len(),
        most >> 20
    );
    assert!(panics.is_empty(), "panicked: {panics:?}");
    assert!(slow.is_empty(), "over {LOADED:?}: {slow:?}");
    assert!(accepted_bad.is_empty(), "accepted: {accepted_bad:?}");
    assert!(most < 256 << 20, "a case held {} MiB", most >> 20);
}

#[test]
fn manifest_rows_are_checked_against_what_the_sampler_guarantees() {
    let tiny = GenConfig {
        frames: 8,
        height: 32,
        width: 32,
        ..GenConfig::default()
    };
    let clip = sample_clip(
        3,
        0,
        &tiny,
        &ObjectLibrary::builtin(),
        &BackgroundLibrary::builtin(32, 32, 8),
    );
    let entry = |c: &locomotion::motion::params::ClipParams| ManifestEntry {
        id: c.id.clone(),
        gif: None,
        frames_dir: None,
        params: c.clone(),
    };
    let mut bad: Vec<(&str, locomotion::motion::params::ClipParams)> = Vec::new();
    let mut c = clip.clone();
    c.frames = 1_000_000_000;
    bad.push(("frames", c));
    let mut c = clip.clone();
    (c.width, c.height) = (0, 0);
    bad.push(("size 0x0", c));
    let mut c = clip.clone();
    c.objects = vec![clip.objects[0].clone(); 100];
    bad.push(("100 objects", c));
    let mut c = clip.clone();
    c.objects[0].segments[0].end_frame += 1;
    bad.push(("segment 0", c));
    let mut c = clip.clone();
    c.objects[0].keyframes[0].scale = 0.0;
    bad.push(("keyframe 0", c));
    let dir = tempfile::tempdir().unwrap();
    for (want, c) in bad {
        let path = dir.path().join("manifest.jsonl");
        let good = serde_json::to_string(&entry(&clip)).unwrap();
        let row = serde_json::to_string(&entry(&c)).unwrap();
        std::fs::write(&path, format!("{good}\n{row}\n")).unwrap();
        let e = err_text(locomotion::caption::records::read_manifest(&path).unwrap_err());
        assert!(
            e.contains("manifest.jsonl:2") && e.contains(want),
            "{want}: {e}"
        );
    }
}

#[test]
fn a_paraphrase_that_negates_or_changes_colour_or_noun_is_rejected() {
    use locomotion::caption::facts::check_appearance;
    let src = "the red star moves quickly to the left";
    let names = ["red star"];
    check_appearance("the red star dashes to the left", src, &names).unwrap();
    check_appearance("the star dashes to the left", src, &names).unwrap();
    for (bad, why) in [
        ("the red star never moves to the left", "never"),
        ("the red star does not move to the left", "not"),
        ("the red star doesn't drift left", "doesn't"),
        ("the blue star moves quickly to the left", "blue"),
        ("the red ball moves quickly to the left", "red star"),
        (
            "the red star moves quickly to the left past a green one",
            "green",
        ),
    ] {
        let e = check_appearance(bad, src, &names).unwrap_err().to_string();
        assert!(e.contains(why), "{bad}: {e}");
    }
}

#[test]
fn a_lexicon_that_makes_its_own_captions_unreadable_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lex.json");
    std::fs::write(&path, "{}").unwrap();
    Lexicon::load(&path).unwrap();
    std::fs::write(&path, r#"{"then": ["while"]}"#).unwrap();
    let e = err_text(Lexicon::load(&path).unwrap_err());
    assert!(e.contains("lex.json") && e.contains("read"), "{e}");
}
