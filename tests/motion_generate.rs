//! `locomotion generate` as a user meets it, and the object and background libraries it
//! loads: determinism, shards, user sprites and backgrounds (GIF, PNG frames), resizing and
//! looping, and one-line errors that leave no output behind.

mod common;

use std::path::Path;
use std::process::Command;

use locomotion::motion::atlas::Atlas;
use locomotion::motion::params::{Category, ManifestEntry};
use locomotion::motion::{BackgroundLibrary, GenConfig, ObjectLibrary, sample_clip};

fn generate(args: &[&str], path_env: Option<&str>) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_locomotion"));
    cmd.arg("generate").args(args);
    if let Some(p) = path_env {
        cmd.env("PATH", p);
    }
    let out = cmd.output().expect("run locomotion");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn manifest(dir: &Path) -> Vec<ManifestEntry> {
    common::read_jsonl(dir.join("manifest.jsonl"))
}

const SMALL: [&str; 6] = ["--size", "40x24", "--frames", "4", "--objects", "2"];

#[test]
fn same_seed_gives_a_byte_identical_manifest_and_playable_gifs() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for d in [&a, &b] {
        let mut args = vec!["--out", d.to_str().unwrap(), "--clips", "5", "--seed", "7"];
        args.extend(SMALL);
        let (ok, err) = generate(&args, None);
        assert!(ok, "{err}");
    }
    let ma = std::fs::read(a.join("manifest.jsonl")).unwrap();
    assert_eq!(ma, std::fs::read(b.join("manifest.jsonl")).unwrap());
    let entries = manifest(&a);
    assert_eq!(entries.len(), 5);
    for e in &entries {
        assert_eq!(e.params.objects.len(), 2);
        let gif = a.join(e.gif.as_ref().unwrap());
        let mut dec = gif::DecodeOptions::new()
            .read_info(std::fs::File::open(&gif).unwrap())
            .unwrap();
        assert_eq!((dec.width(), dec.height()), (40, 24));
        let mut n = 0;
        while dec.read_next_frame().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 4, "{}", gif.display());
    }
    // No temporary files are left behind.
    let leftovers = std::fs::read_dir(a.join("clips"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn shards_concatenate_into_the_full_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("full");
    let mut args = vec![
        "--out",
        full.to_str().unwrap(),
        "--clips",
        "7",
        "--seed",
        "3",
    ];
    args.extend(SMALL);
    assert!(generate(&args, None).0);
    let mut joined = Vec::new();
    for k in 0..3 {
        let d = tmp.path().join(format!("s{k}"));
        let shard = format!("{k}/3");
        let mut args = vec![
            "--out",
            d.to_str().unwrap(),
            "--clips",
            "7",
            "--seed",
            "3",
            "--shard",
            &shard,
        ];
        args.extend(SMALL);
        let (ok, err) = generate(&args, None);
        assert!(ok, "{err}");
        joined.extend(manifest(&d));
    }
    joined.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(joined, manifest(&full));
    let (ok, err) = generate(&["--out", "/tmp/x", "--shard", "3/3"], None);
    assert!(!ok && err.contains("--shard"), "{err}");
}

fn write_rgba_png(path: &Path, w: u32, h: u32, px: impl Fn(u32, u32) -> [u8; 4]) {
    let img = image::RgbaImage::from_fn(w, h, |x, y| image::Rgba(px(x, y)));
    img.save(path).unwrap();
}

fn write_gif(path: &Path, colours: &[[u8; 3]], w: u16, h: u16) {
    let f = std::fs::File::create(path).unwrap();
    let mut enc = gif::Encoder::new(f, w, h, &[]).unwrap();
    for c in colours {
        let mut px: Vec<u8> = (0..w as usize * h as usize)
            .flat_map(|_| [c[0], c[1], c[2], 255])
            .collect();
        enc.write_frame(&gif::Frame::from_rgba(w, h, &mut px))
            .unwrap();
    }
}

#[test]
fn user_objects_and_backgrounds_flow_into_the_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let objs = tmp.path().join("objects");
    std::fs::create_dir(&objs).unwrap();
    write_rgba_png(&objs.join("red_car.png"), 30, 14, |x, _| {
        [200, 0, 0, if x < 2 { 0 } else { 255 }]
    });
    write_rgba_png(&objs.join("bird1.png"), 12, 12, |_, _| [0, 0, 200, 128]);
    std::fs::write(
        objs.join("objects.json"),
        r#"{"bird1.png": {"name": "blue bird", "category": "bird"}}"#,
    )
    .unwrap();
    let bgs = tmp.path().join("backgrounds");
    let frames = bgs.join("beach_frames");
    std::fs::create_dir_all(&frames).unwrap();
    for t in 0..2u8 {
        write_rgba_png(&frames.join(format!("{t:03}.png")), 50, 30, |x, _| {
            [x as u8 * 5, 100, t * 100, 255]
        });
    }
    write_gif(
        &bgs.join("snow.gif"),
        &[[250, 250, 250], [200, 200, 255], [180, 180, 255]],
        20,
        40,
    );

    let objects = ObjectLibrary::from_dir(&objs).unwrap();
    let names: Vec<(&str, Category)> = objects
        .objects
        .iter()
        .map(|(o, _)| (o.name.as_str(), o.category))
        .collect();
    assert_eq!(
        names,
        [("blue bird", Category::Bird), ("red car", Category::Other)]
    );
    // Premultiplied on load: the half-transparent blue bird stores half its blue.
    assert_eq!(&objects.objects[0].1.rgba[..4], &[0, 0, 100, 128]);

    let backgrounds = BackgroundLibrary::from_path(&bgs, 24, 32, 5).unwrap();
    let ids: Vec<&str> = backgrounds
        .videos
        .iter()
        .map(|v| v.background.id.as_str())
        .collect();
    assert_eq!(ids, ["user:beach_frames", "user:snow.gif"]);
    assert_eq!(backgrounds.videos[1].frames.len(), 3);
    for v in &backgrounds.videos {
        assert!(v.frames.iter().all(|f| f.len() == 24 * 32 * 4));
    }
    // Centre crop: 50×30 scaled to 40×24 covers 32×24; the crop keeps columns 4..36 of 40,
    // so the left edge is not the source's darkest column.
    assert!(backgrounds.videos[0].frames[0][0] > 10);
    // A 2-frame source loops through a 5-frame clip.
    let cfg = GenConfig {
        frames: 5,
        height: 24,
        width: 32,
        ..GenConfig::default()
    };
    let atlas = Atlas::new(&objects, &backgrounds);
    let clip = (0..50)
        .map(|i| sample_clip(1, i, &cfg, &objects, &backgrounds))
        .find(|c| c.background.id == "user:beach_frames")
        .unwrap();
    let tables = atlas.tables(&[clip]).unwrap();
    let frame_of: Vec<u32> = tables.frame_info.iter().map(|f| f[0] / (24 * 32)).collect();
    assert_eq!(frame_of, [0, 1, 0, 1, 0]);

    let out = tmp.path().join("out");
    let (ok, err) = generate(
        &[
            "--out",
            out.to_str().unwrap(),
            "--clips",
            "6",
            "--size",
            "32x24",
            "--frames",
            "5",
            "--objects-dir",
            objs.to_str().unwrap(),
            "--backgrounds",
            bgs.to_str().unwrap(),
            "--frames-png",
        ],
        None,
    );
    assert!(ok, "{err}");
    let entries = manifest(&out);
    assert!(
        entries
            .iter()
            .all(|e| e.params.background.id.starts_with("user:"))
    );
    assert!(
        entries
            .iter()
            .any(|e| e.params.objects[0].object.name == "blue bird")
    );
    let frames_dir = out.join(entries[0].frames_dir.as_ref().unwrap());
    assert_eq!(std::fs::read_dir(frames_dir).unwrap().count(), 5);
}

#[test]
fn bad_inputs_are_named_and_leave_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    let objs = tmp.path().join("objects");
    std::fs::create_dir(&objs).unwrap();
    let rgb = image::RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3]));
    rgb.save(objs.join("flat.png")).unwrap();
    let out = tmp.path().join("out1");
    let (ok, err) = generate(
        &[
            "--out",
            out.to_str().unwrap(),
            "--objects-dir",
            objs.to_str().unwrap(),
        ],
        None,
    );
    assert!(!ok);
    assert!(err.contains("flat.png") && err.contains("alpha"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!out.exists(), "output written despite the error");

    let bgs = tmp.path().join("bgs");
    std::fs::create_dir(&bgs).unwrap();
    std::fs::write(bgs.join("broken.gif"), b"GIF89a not really").unwrap();
    let out = tmp.path().join("out2");
    let (ok, err) = generate(
        &[
            "--out",
            out.to_str().unwrap(),
            "--backgrounds",
            bgs.to_str().unwrap(),
        ],
        None,
    );
    assert!(!ok && err.contains("broken.gif"), "{err}");
    assert!(!out.exists());

    // A video format with no ffmpeg on PATH says what to install.
    let video = tmp.path().join("clip.mp4");
    std::fs::write(&video, b"not decoded").unwrap();
    let empty = tmp.path().join("empty-path");
    std::fs::create_dir(&empty).unwrap();
    let out = tmp.path().join("out3");
    let (ok, err) = generate(
        &[
            "--out",
            out.to_str().unwrap(),
            "--backgrounds",
            video.to_str().unwrap(),
        ],
        Some(empty.to_str().unwrap()),
    );
    assert!(
        !ok && err.contains("clip.mp4") && err.contains("ffmpeg"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn builtin_libraries_need_no_files() {
    let objects = ObjectLibrary::builtin();
    assert_eq!(objects.len(), 64);
    let names: Vec<&str> = objects
        .objects
        .iter()
        .map(|(o, _)| o.name.as_str())
        .collect();
    for n in [
        "red star",
        "blue circle",
        "green heart",
        "yellow arrow",
        "black ring",
    ] {
        assert!(names.contains(&n), "{n} missing");
    }
    // Anti-aliased: edges have partial alpha; every shape has an opaque interior and clear corners.
    for (o, s) in &objects.objects {
        let alpha: Vec<u8> = s.rgba.chunks_exact(4).map(|p| p[3]).collect();
        assert!(
            alpha.iter().any(|&a| a > 0 && a < 255),
            "{} not anti-aliased",
            o.name
        );
        assert!(alpha.contains(&255) && alpha[0] == 0, "{}", o.name);
    }
    let bgs = BackgroundLibrary::builtin(24, 40, 6);
    assert!(bgs.len() >= 8);
    assert!(bgs.videos.iter().all(|v| !v.background.name.is_empty()));
    let moving: Vec<_> = bgs.videos.iter().filter(|v| v.frames.len() == 6).collect();
    assert!(
        !moving.is_empty() && moving.len() < bgs.len(),
        "some static, some moving"
    );
    for v in moving {
        assert_ne!(
            v.frames[0], v.frames[5],
            "{} does not move",
            v.background.name
        );
    }
}

#[test]
fn captions_come_out_of_the_same_pass_and_match_describe() {
    use locomotion::caption::records::CaptionRecord;
    use locomotion::caption::{CaptionKind, facts_of, parse_facts};
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("d");
    let mut args = vec![
        "--out",
        out.to_str().unwrap(),
        "--clips",
        "3",
        "--seed",
        "5",
    ];
    args.extend(SMALL);
    args.extend(["--captions", "--paraphrases", "2"]);
    let (ok, err) = generate(&args, None);
    assert!(ok, "{err}");
    let entries = manifest(&out);
    let records: Vec<CaptionRecord> = common::read_jsonl(out.join("captions.jsonl"));
    assert_eq!(records.len(), 3 * entries.len(), "three kinds per clip");
    for e in &entries {
        let motion = records
            .iter()
            .find(|r| r.id == e.id && r.kind == CaptionKind::Motion)
            .expect("a motion caption per clip");
        assert_eq!(parse_facts(&motion.caption).unwrap(), facts_of(&e.params));
        assert_eq!(motion.paraphrases.len(), 2);
    }
    // `describe` on the manifest with the same seed writes the same file.
    let again = tmp.path().join("again.jsonl");
    let status = Command::new(env!("CARGO_BIN_EXE_locomotion"))
        .arg("describe")
        .arg(out.join("manifest.jsonl"))
        .args(["--paraphrases", "2", "--seed", "5", "--out"])
        .arg(&again)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert_eq!(
        std::fs::read(out.join("captions.jsonl")).unwrap(),
        std::fs::read(&again).unwrap()
    );
}
