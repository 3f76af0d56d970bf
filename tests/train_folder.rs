//! The folder source: `generate` folders read back as training batches (GIF round trip,
//! `--fraction` subsets, epochs, one-line errors for bad folders).

mod common;

use common::data::text;

use std::path::Path;

use locomotion::caption::{CaptionKind, describe};
use locomotion::cli::generate::GenerateArgs;
use locomotion::gpu::{AdapterRequest, CommandBatch};
use locomotion::motion::Compositor;
use locomotion::train::data::*;

const B: usize = 3;

// ---------------------------------------------------------------- folder source

fn generate(dir: &Path, clips: u64, captions: bool) {
    let args = GenerateArgs {
        out: dir.to_path_buf(),
        clips,
        seed: 21,
        size: "32".into(),
        frames: 8,
        objects: 1,
        backgrounds: None,
        objects_dir: None,
        nonlinear: false,
        easing: false,
        scale_changes: false,
        still_segments: false,
        min_travel: 3.0,
        min_turn: 20.0,
        min_segment_frames: 0,
        frames_png: false,
        shard: None,
        batch: 16,
        captions,
        paraphrases: 2,
        force: false,
    };
    locomotion::cli::generate::run(&AdapterRequest::default(), &args).expect("generate");
}

fn folder(dir: &Path, mix: &str, fraction: f64, seed: u64) -> anyhow::Result<FolderSource> {
    FolderSource::open(
        &common::gpu(),
        dir,
        text(mix),
        FolderConfig {
            seed,
            batch_size: B,
            fraction,
            frames: 8,
            height: 32,
            width: 32,
        },
    )
}

#[test]
fn folder_source_round_trips_generate_within_gif_quantisation() {
    let tmp = tempfile::tempdir().unwrap();
    generate(tmp.path(), 7, true);
    let src = folder(tmp.path(), "motion", 1.0, 0).unwrap();
    assert_eq!(src.len(), 7);
    let b = src.batch(1).unwrap();
    // The same clips composited on the GPU, straight into the tensor.
    let gpu = common::gpu();
    let objects = locomotion::motion::ObjectLibrary::builtin();
    let bgs = locomotion::motion::BackgroundLibrary::builtin(32, 32, 8);
    let comp = Compositor::new(&gpu, &objects, &bgs).unwrap();
    let out = gpu
        .filled(
            VIDEO_NORMALIZATION.bytes((B * 8) as u64, 32, 32),
            common::POISON,
            "ref",
        )
        .unwrap();
    let mut gb = CommandBatch::new(&gpu);
    let staged = comp
        .record(&mut gb, &b.host.clips, &out, VIDEO_NORMALIZATION)
        .unwrap();
    gb.submit_and_wait().unwrap();
    drop(staged);
    let want: Vec<f32> = gpu.read(&out).unwrap();
    let got: Vec<f32> = gpu.read(&b.video).unwrap();
    // GIF keeps at most 256 colours per frame (a 32² clip of flat shapes needs fewer, so it
    // is near lossless): in 0–255 units (× std·255 ≈ 57) the mean error must stay under one
    // level and the relative error under 1 %.
    let mean_abs = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs() as f64)
        .sum::<f64>()
        / got.len() as f64;
    let rel = common::rel_err(&got, &want);
    eprintln!("folder vs compositor: mean |Δ| {mean_abs:.4} (normalised), rel {rel:.4}");
    assert!(mean_abs * 57.0 < 1.0 && rel < 0.01, "{mean_abs} {rel}");
    // Motion captions come from captions.jsonl, i.e. the describer's.
    for (c, cap) in b.host.clips.iter().zip(&b.host.captions) {
        assert_eq!(cap, &describe(c, CaptionKind::Motion));
    }
    // Paraphrases come from the stored ones.
    let p = folder(tmp.path(), "paraphrase", 1.0, 0)
        .unwrap()
        .batch(0)
        .unwrap();
    let stored = std::fs::read_to_string(tmp.path().join("captions.jsonl")).unwrap();
    for cap in &p.host.captions {
        assert!(
            stored.contains(&serde_json::to_string(cap).unwrap()),
            "{cap}"
        );
    }
}

#[test]
fn fraction_subset_is_sized_stable_and_nested_and_epochs_reshuffle() {
    let tmp = tempfile::tempdir().unwrap();
    generate(tmp.path(), 10, false);
    let a = folder(tmp.path(), "motion", 0.2, 3).unwrap();
    let again = folder(tmp.path(), "motion", 0.2, 3).unwrap();
    let half = folder(tmp.path(), "motion", 0.5, 3).unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!(a.clip_ids(), again.clip_ids());
    assert_eq!(half.len(), 5);
    assert!(a.clip_ids().iter().all(|id| half.clip_ids().contains(id)));
    let other = folder(tmp.path(), "motion", 0.5, 4).unwrap();
    assert_ne!(
        half.clip_ids(),
        other.clip_ids(),
        "the subset follows the seed"
    );
    // Each epoch visits every clip once, in its own order.
    let all = folder(tmp.path(), "motion", 1.0, 3).unwrap();
    let (e0, e1) = (all.epoch_order(0), all.epoch_order(1));
    let mut sorted = e0.clone();
    sorted.sort();
    assert_eq!(sorted, (0..10).collect::<Vec<_>>());
    assert_ne!(e0, e1);
    // Captions without captions.jsonl come from the parameters; batches are deterministic.
    let (x, y) = (half.batch(2).unwrap(), again.batch(0).unwrap());
    assert_eq!(
        x.host,
        folder(tmp.path(), "motion", 0.5, 3)
            .unwrap()
            .batch(2)
            .unwrap()
            .host
    );
    assert!(
        y.host
            .clips
            .iter()
            .all(|c| a.clip_ids().contains(&c.id.as_str()))
    );
    for (c, cap) in x.host.clips.iter().zip(&x.host.captions) {
        assert_eq!(cap, &describe(c, CaptionKind::Motion));
    }
}

#[test]
fn bad_folders_fail_with_one_line_naming_the_file() {
    let one_line = |e: anyhow::Error| {
        let s = format!("{e:#}");
        assert!(!s.contains('\n'), "{s}");
        s
    };
    let tmp = tempfile::tempdir().unwrap();
    let e = one_line(folder(tmp.path(), "motion", 1.0, 0).err().unwrap());
    assert!(e.contains("manifest.jsonl"), "{e}");
    generate(tmp.path(), 4, false);
    for f in [0.0, 1.5, f64::NAN] {
        let e = one_line(folder(tmp.path(), "motion", f, 0).err().unwrap());
        assert!(e.contains("--fraction"), "{e}");
    }
    // A missing and a corrupt GIF.
    let src = folder(tmp.path(), "motion", 1.0, 0).unwrap();
    std::fs::remove_file(tmp.path().join("clips/clip-000000.gif")).unwrap();
    std::fs::write(tmp.path().join("clips/clip-000001.gif"), b"GIF89a garbage").unwrap();
    let mut errors = Vec::new();
    for s in 0..2 {
        if let Err(e) = src.batch(s) {
            errors.push(one_line(e));
        }
    }
    assert!(
        errors
            .iter()
            .any(|e| e.contains("clip-000000.gif") && e.contains("missing")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("clip-000001.gif") && e.contains("corrupt")),
        "{errors:?}"
    );
    // A corrupt manifest line names the file and line.
    let m = tmp.path().join("manifest.jsonl");
    let mut text = std::fs::read_to_string(&m).unwrap();
    text.push_str("{not json\n");
    std::fs::write(&m, text).unwrap();
    let e = one_line(folder(tmp.path(), "motion", 1.0, 0).err().unwrap());
    assert!(e.contains("manifest.jsonl:5"), "{e}");
}
