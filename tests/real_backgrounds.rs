//! Online pre-training on the user's material: `pretrain` / `finetune` / `demo`
//! `--backgrounds PATH` (videos through ffmpeg, GIFs, frame folders) and `--objects-dir DIR`
//! (RGBA PNGs) replace the training libraries only; `eval --benchmark motion --backgrounds
//! PATH` draws the benchmark on given backgrounds.

mod common;

use std::path::Path;

use common::ssv2::{ffmpeg, have_ffmpeg, locomotion};
use locomotion::model::config::ModelConfig;
use locomotion::train::data::LibrarySplit;
use locomotion::train::motion_options::{BackgroundChoice, MotionOptions, generation};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Two background videos (ffmpeg test sources) and two RGBA objects.
fn material(root: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (bgs, objs) = (root.join("backgrounds"), root.join("objects"));
    std::fs::create_dir_all(&bgs).unwrap();
    std::fs::create_dir_all(&objs).unwrap();
    for (name, src) in [
        ("a.webm", "mandelbrot=size=48x40:rate=10"),
        ("b.mp4", "testsrc=size=48x40:rate=10"),
    ] {
        let out = bgs.join(name);
        let codec: &[&str] = if name.ends_with("mp4") {
            &["-c:v", "libx264", "-pix_fmt", "yuv420p"]
        } else {
            &["-c:v", "libvpx", "-deadline", "realtime"]
        };
        let mut args = vec!["-f", "lavfi", "-i", src, "-frames:v", "10"];
        args.extend_from_slice(codec);
        args.push(s(&out));
        ffmpeg(&args);
    }
    for (name, rgb) in [
        ("red_cup.png", [220u8, 30, 30]),
        ("blue_box.png", [30, 30, 220]),
    ] {
        let img = image::RgbaImage::from_fn(12, 12, |x, y| {
            let inside = (3..9).contains(&x) && (2..10).contains(&y);
            image::Rgba([rgb[0], rgb[1], rgb[2], if inside { 255 } else { 0 }])
        });
        img.save(objs.join(name)).unwrap();
    }
    (bgs, objs)
}

#[test]
fn user_backgrounds_and_objects_replace_the_training_libraries_only() {
    if !have_ffmpeg("user_backgrounds_and_objects_replace_the_training_libraries_only") {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let (bgs, objs) = material(root.path());
    let g = generation(&ModelConfig::preset("tiny").unwrap());
    let opts = MotionOptions {
        backgrounds: BackgroundChoice::Path(bgs),
        nonlinear: false,
        objects: Some(objs),
    };
    let split = opts.split(&g).unwrap();
    let builtin = LibrarySplit::builtin(&g);
    assert_eq!(split.train_backgrounds.len(), 2);
    assert_eq!(split.train_objects.len(), 2);
    assert_eq!(
        split.heldout_backgrounds.len(),
        builtin.heldout_backgrounds.len()
    );
    assert_eq!(split.heldout_objects.len(), builtin.heldout_objects.len());
    let f = &split.train_backgrounds.videos[0].frames[0];
    assert_eq!(f.len(), (g.height * g.width * 4) as usize);
}

#[test]
fn pretrain_on_user_material_and_a_benchmark_on_given_backgrounds() {
    if !have_ffmpeg("pretrain_on_user_material_and_a_benchmark_on_given_backgrounds") {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let (bgs, objs) = material(root.path());
    let run = root.path().join("run");
    let out = locomotion(
        &[
            "pretrain",
            "--steps",
            "2",
            "--batch",
            "2",
            "--backgrounds",
            s(&bgs),
            "--objects-dir",
            s(&objs),
            "--out",
            s(&run),
            "--quiet",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(run.join("checkpoint").join("config.json").is_file());
    let json = root.path().join("bench.json");
    let out = locomotion(
        &[
            "eval",
            "--checkpoint",
            s(&run),
            "--benchmark",
            "motion",
            "--groups",
            "2",
            "--per-group",
            "2",
            "--backgrounds",
            s(&bgs),
            "--json",
            s(&json),
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("motion benchmark backgrounds"), "{stdout}");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(m["clips"], 4, "{m}");
    // Wrong material: one line naming it, before any training.
    let nope = root.path().join("nope");
    for (flag, extra) in [("--backgrounds", s(&nope)), ("--objects-dir", s(&nope))] {
        for cmd in ["pretrain", "demo"] {
            let out = locomotion(&[cmd, flag, extra, "--out", s(&root.path().join("x"))], &[]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                !out.status.success() && err.contains("nope"),
                "{cmd} {flag}: {err}"
            );
            assert_eq!(err.trim().lines().count(), 1, "{err}");
        }
    }
    // Online material with a generate folder is refused, not ignored.
    let out = locomotion(
        &[
            "pretrain",
            "--data",
            s(root.path()),
            "--backgrounds",
            "black",
            "--out",
            s(&root.path().join("y")),
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("--backgrounds"),
        "{err}"
    );
}
