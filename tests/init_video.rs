//! `pretrain --init-video`: the ViT fixture (tests/fixtures/hf-vit) becomes the video encoder
//! of a tiny-preset run (its shape, the preset's frames and tubelet depth); the checkpoint
//! saved after the import resumes to the same weights as an uninterrupted run; the flags
//! refuse misuse in one line.

mod common;

use std::path::{Path, PathBuf};

use common::cli::{locomotion, one_line_error};
use locomotion::model::checkpoint::Checkpoint;
use locomotion::model::hf_vit::{HfVision, Inflate};
use locomotion::train::config::TrainConfig;
use locomotion::train::init_video::InitVideo;
use locomotion::train::trainer::train;

fn vit() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hf-vit")
}

fn config(out: &Path) -> TrainConfig {
    TrainConfig {
        init_video: Some(InitVideo::new(vit())),
        ..common::tiny_run(out)
    }
}

#[test]
fn an_imported_video_encoder_trains_saves_and_resumes_as_an_uninterrupted_run() {
    let gpu = common::gpu();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    assert_eq!(train(&gpu, &config(a.path())).unwrap().step, 2);
    let first = TrainConfig {
        stop_after: Some(1),
        ..config(b.path())
    };
    assert!(train(&gpu, &first).unwrap().interrupted);
    let rest = TrainConfig {
        resume: true,
        ..config(b.path())
    };
    assert_eq!(train(&gpu, &rest).unwrap().step, 2);
    let ca = Checkpoint::load(&a.path().join("checkpoint")).unwrap();
    let cb = Checkpoint::load(&b.path().join("checkpoint")).unwrap();
    assert_eq!(ca.tensors, cb.tensors, "weights and moments match");

    // The model is the checkpoint's shape with the tiny preset's 8 frames and depth-2
    // tubelets; the weights start at the import (2 AdamW steps of lr 3e-4 move each by
    // < 1e-3, a random start would be ~0.2 away).
    let hf = HfVision::load(&vit()).unwrap();
    let want = hf.video_config(8, 2, 32).unwrap();
    assert_eq!(ca.config.model.video, want);
    assert_eq!(
        ca.config.state.extra["init_video"],
        vit().display().to_string()
    );
    let imported = hf.video_weights(&want, Inflate::Central).unwrap();
    for (name, t) in &imported {
        let got = &ca.tensors[name];
        let worst = got
            .data
            .iter()
            .zip(&t.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-3, "{name} is {worst} from the import");
    }
    // The cross encoder's keys and values take the imported width.
    assert_eq!(ca.tensors["cross.layers.0.xattn.k.weight"].shape, [48, 64]);
}

#[test]
fn init_video_flags_refuse_misuse_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let vit = vit();
    let (out, vit) = (out.to_str().unwrap(), vit.to_str().unwrap());
    for (extra, needle) in [
        (
            vec!["--init-video-inflate", "average"],
            "--init-video-inflate applies",
        ),
        (vec!["--init-video-size", "48"], "--init-video-size applies"),
        (
            vec!["--init-video", vit, "--init-video-inflate", "middle"],
            "--init-video-inflate \"middle\"",
        ),
        (
            vec!["--init-video", "/no/such/folder"],
            "/no/such/folder not found",
        ),
        // A side the patch (8) does not divide is refused naming the field.
        (
            vec!["--init-video", vit, "--init-video-size", "36"],
            "video.tubelet",
        ),
    ] {
        let mut args = vec![
            "pretrain", "--steps", "1", "--batch", "2", "--out", out, "--quiet",
        ];
        args.extend(&extra);
        let err = one_line_error(&locomotion(&args, &[]));
        assert!(err.contains(needle), "{extra:?}: {err}");
    }
}
