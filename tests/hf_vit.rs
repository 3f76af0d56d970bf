//! `--init-video` import of Hugging Face vision transformers, against the outputs transformers
//! itself computed (tests/fixtures, made by scripts/make-vision-fixtures.py): a random
//! `ViTModel` and a random `CLIPModel`'s vision tower (f16 weights, 2 layers, patch 8, image
//! 32) reproduced to 1e-4 by the CPU reference and by both kernel variants, the bicubic
//! position resize, tubelet inflation, and one-line errors naming a missing, misshapen or
//! unknown tensor.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::vlm::cpu_video;
use common::{gpu, gpu_path, rel_err};
use locomotion::gpu::{Gpu, Kernels};
use locomotion::model::checkpoint::{TensorMap, read_safetensors};
use locomotion::model::config::VideoEncoderConfig;
use locomotion::model::hf_vit::{HfVision, Inflate};
use locomotion::model::hf_vit_config::HfVisionConfig;
use locomotion::model::video::{VideoEncoder, VideoOutput};
use locomotion::motion::composite::{IMAGENET_MEAN, IMAGENET_STD};
use locomotion::nn::Activation;
use locomotion::tensor::{Tape, Tensor};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The references transformers computed (see the generator script's header).
fn reference() -> TensorMap {
    read_safetensors(&fixtures().join("hf-vision-reference.safetensors"), false).unwrap()
}

/// The encoder of `cfg` with `weights` on `g`, run on `pixels` `[B, T, C, H, W]`.
fn run(
    g: &Gpu,
    cfg: &VideoEncoderConfig,
    weights: &TensorMap,
    pixels: &[f32],
    b: usize,
) -> (Vec<f32>, Vec<f32>) {
    let enc = VideoEncoder::from_weights(g, cfg, weights).unwrap();
    let dims = [b, cfg.frames, cfg.channels, cfg.height, cfg.width];
    let video = Tensor::from_host(g, pixels, dims).unwrap();
    let VideoOutput { hidden, cls } = enc.forward(&Tape::new(g), &video).unwrap();
    (hidden.to_vec().unwrap(), cls.to_vec().unwrap())
}

/// Both kernel variants and the CPU reference reproduce `want` (and `want_cls` for the
/// [CLS] output) from the one-frame clips `pixels` of `b` images.
fn assert_reproduces(
    cfg: &VideoEncoderConfig,
    weights: &TensorMap,
    pixels: &[f32],
    b: usize,
    want: &[f32],
    want_cls: &[f32],
) {
    let cpu = cpu_video(cfg, weights, pixels, b);
    let e = rel_err(&cpu, want);
    assert!(e < 1e-4, "CPU reference vs transformers: rel err {e}");
    for (name, g) in [
        ("cpu", gpu().with_kernels(Kernels::Cpu)),
        ("gpu", gpu_path()),
    ] {
        let (hidden, cls) = run(&g, cfg, weights, pixels, b);
        let e = rel_err(&hidden, want);
        assert!(
            e < 1e-4,
            "{name} kernels vs transformers: hidden rel err {e}"
        );
        let e = rel_err(&cls, want_cls);
        assert!(
            e < 1e-4,
            "{name} kernels vs transformers: [CLS] rel err {e}"
        );
    }
}

/// Row 0 of each `[B, L, H]` sequence.
fn first_rows(x: &[f32], b: usize, h: usize) -> Vec<f32> {
    x.chunks(x.len() / b)
        .flat_map(|s| s[..h].to_vec())
        .collect()
}

#[test]
fn a_vit_model_is_reproduced_on_one_frame_clips() {
    let hf = HfVision::load(&fixtures().join("hf-vit")).unwrap();
    let cfg = hf.video_config(1, 1, 32).unwrap();
    assert_eq!(
        (
            cfg.hidden_size,
            cfg.num_layers,
            cfg.num_heads,
            cfg.mlp_ratio,
            cfg.tubelet
        ),
        (48, 2, 3, 4, [1, 8, 8])
    );
    assert_eq!(
        (cfg.layer_norm_eps, cfg.hidden_act, cfg.pre_norm),
        (1e-12, Activation::Gelu, false)
    );
    assert_eq!(hf.ignored, ["pooler.dense.bias", "pooler.dense.weight"]);
    let weights = hf.video_weights(&cfg, Inflate::Central).unwrap();
    let r = reference();
    let want = &r["vit.last_hidden_state"].data;
    assert_reproduces(
        &cfg,
        &weights,
        &r["vit.pixels"].data,
        2,
        want,
        &first_rows(want, 2, 48),
    );
}

#[test]
fn a_clip_vision_tower_is_reproduced_on_one_frame_clips() {
    let hf = HfVision::load(&fixtures().join("hf-clip")).unwrap();
    let cfg = hf.video_config(1, 1, 32).unwrap();
    assert_eq!(
        (
            cfg.hidden_size,
            cfg.num_heads,
            cfg.mlp_ratio,
            cfg.hidden_act,
            cfg.pre_norm
        ),
        (32, 2, 2, Activation::QuickGelu, true)
    );
    assert_eq!(cfg.layer_norm_eps, 1e-5);
    // The text tower, its projection, the visual projection and logit_scale are listed.
    for name in [
        "visual_projection.weight",
        "text_projection.weight",
        "logit_scale",
    ] {
        assert!(hf.ignored.iter().any(|n| n == name), "{name} not listed");
    }
    assert!(
        hf.ignored
            .iter()
            .any(|n| n.starts_with("text_model.encoder.layers.0."))
    );
    assert!(
        !hf.ignored.iter().any(|n| n.starts_with("vision_model.")),
        "{:?}",
        hf.ignored
    );
    let weights = hf.video_weights(&cfg, Inflate::Central).unwrap();
    let r = reference();
    // post_layernorm on every token; its [CLS] row is CLIP's pooled output.
    assert_reproduces(
        &cfg,
        &weights,
        &r["clip.pixels"].data,
        2,
        &r["clip.post_layernorm_hidden"].data,
        &r["clip.pooler_output"].data,
    );
    // The same tower saved as a CLIPVisionModel (no prefix) imports the same weights.
    let tower = HfVision::load(&fixtures().join("hf-clip-vision")).unwrap();
    assert!(tower.ignored.is_empty(), "{:?}", tower.ignored);
    let again = tower.video_weights(&cfg, Inflate::Central).unwrap();
    assert_eq!(
        again.keys().collect::<Vec<_>>(),
        weights.keys().collect::<Vec<_>>()
    );
    for (name, t) in &weights {
        assert_eq!(again[name].data, t.data, "{name}");
    }
}

#[test]
fn positions_resize_bicubically_as_interpolate_pos_encoding_does() {
    let hf = HfVision::load(&fixtures().join("hf-vit")).unwrap();
    // 48² frames: a 6 × 6 grid from the checkpoint's 4 × 4 table.
    let cfg = hf.video_config(1, 1, 48).unwrap();
    let weights = hf.video_weights(&cfg, Inflate::Central).unwrap();
    assert_eq!(weights["video.pos.space"].shape, [36, 48]);
    let r = reference();
    let want = &r["vit48.last_hidden_state"].data;
    let (hidden, _) = run(&gpu(), &cfg, &weights, &r["vit48.pixels"].data, 1);
    let e = rel_err(&hidden, want);
    assert!(e < 1e-4, "48² frames vs transformers: rel err {e}");
}

#[test]
fn a_clip_of_identical_frames_starts_as_the_image_model_for_either_inflation() {
    let hf = HfVision::load(&fixtures().join("hf-vit")).unwrap();
    let r = reference();
    let img = &r["vit.pixels"].data;
    // 2 frames in one tubelet of depth 2: each image repeated, one time step.
    let clip: Vec<f32> = img.chunks(3 * 32 * 32).flat_map(|f| f.repeat(2)).collect();
    let want = &r["vit.last_hidden_state"].data;
    for inflate in [Inflate::Central, Inflate::Average] {
        let cfg = hf.video_config(2, 2, 32).unwrap();
        let weights = hf.video_weights(&cfg, inflate).unwrap();
        assert!(weights["video.pos.time"].data.iter().all(|&v| v == 0.0));
        let (hidden, _) = run(&gpu(), &cfg, &weights, &clip, 2);
        let e = rel_err(&hidden, want);
        assert!(e < 1e-4, "{inflate:?}: rel err {e}");
        let p = &weights["video.patch.weight"].data;
        // Values are ordered (channel, frame, row, column): frame 0 of channel 0 is rows
        // 0..64, frame 1 rows 64..128.
        let (f0, f1) = (&p[..64 * 48], &p[64 * 48..128 * 48]);
        match inflate {
            // Frame ⌊2/2⌋ = 1 holds the kernel, frame 0 is zero.
            Inflate::Central => {
                assert!(f0.iter().all(|&v| v == 0.0) && f1.iter().any(|&v| v != 0.0))
            }
            Inflate::Average => assert_eq!(f0, f1),
        }
    }
}

/// A copy of fixture `name` in a temporary folder with its tensors passed through `edit`
/// (name, shape, bytes) → kept or not.
fn edited(
    name: &str,
    edit: impl Fn(&mut String, &mut Vec<usize>, &mut Vec<u8>) -> bool,
) -> tempfile::TempDir {
    let src = fixtures().join(name);
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(src.join("config.json"), dir.path().join("config.json")).unwrap();
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut kept = Vec::new();
    for (n, v) in st.tensors() {
        let (mut n, mut s, mut b) = (n, v.shape().to_vec(), v.data().to_vec());
        if edit(&mut n, &mut s, &mut b) {
            kept.push((n, v.dtype(), s, b));
        }
    }
    let views: Vec<_> = kept
        .iter()
        .map(|(n, d, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let out = safetensors::serialize(views, None::<HashMap<String, String>>).unwrap();
    std::fs::write(dir.path().join("model.safetensors"), out).unwrap();
    dir
}

fn import_error(dir: &Path) -> String {
    let cfg_and_weights = HfVision::load(dir).and_then(|hf| {
        let cfg = hf.video_config(1, 1, 32)?;
        hf.video_weights(&cfg, Inflate::Central)
    });
    let e = format!("{:#}", cfg_and_weights.expect_err("the import must fail"));
    assert!(!e.contains('\n'), "one line: {e}");
    e
}

#[test]
fn a_missing_misshapen_or_unknown_tensor_is_named() {
    let missing = edited("hf-vit", |n, _, _| {
        n != "encoder.layer.1.output.dense.weight"
    });
    let e = import_error(missing.path());
    assert!(e.contains("video.layers.1.mlp.down.weight"), "{e}");

    let missing = edited("hf-clip", |n, _, _| {
        n != "vision_model.embeddings.class_embedding"
    });
    let e = import_error(missing.path());
    assert!(e.contains("embeddings.class_embedding"), "{e}");

    // The position table of a 3 × 3 grid where config.json says 4 × 4.
    let short = edited("hf-vit", |n, s, b| {
        if n == "embeddings.position_embeddings" {
            *s = vec![1, 10, 48];
            b.truncate(10 * 48 * 2);
        }
        true
    });
    let e = import_error(short.path());
    assert!(
        e.contains("embeddings.position_embeddings") && e.contains("[1, 10, 48]"),
        "{e}"
    );

    let renamed = edited("hf-clip-vision", |n, _, _| {
        if n == "encoder.layers.0.mlp.fc1.bias" {
            *n = "encoder.layers.0.mlp.gate.bias".into();
        }
        true
    });
    let e = import_error(renamed.path());
    assert!(e.contains("encoder.layers.0.mlp.gate.bias"), "{e}");
}

#[test]
fn configs_the_import_cannot_run_are_refused_by_field() {
    let err = |v: serde_json::Value| format!("{:#}", HfVisionConfig::from_json(&v).unwrap_err());
    let e = err(serde_json::json!({"model_type": "bert"}));
    assert!(e.contains("model_type \"bert\""), "{e}");
    let e = err(serde_json::json!({"model_type": "vit", "hidden_act": "relu"}));
    assert!(e.contains("hidden_act \"relu\""), "{e}");
    let e =
        err(serde_json::json!({"model_type": "vit", "hidden_size": 48, "intermediate_size": 100}));
    assert!(e.contains("intermediate_size (100)"), "{e}");
    let e = err(serde_json::json!({"model_type": "clip"}));
    assert!(e.contains("vision_config"), "{e}");
    // Defaults are transformers': a CLIP config without the fields is ViT-B/32's.
    let c =
        HfVisionConfig::from_json(&serde_json::json!({"model_type": "clip_vision_model"})).unwrap();
    assert_eq!(
        (c.patch_size, c.image_size, c.hidden_act, c.layer_norm_eps),
        (32, 224, Activation::QuickGelu, 1e-5)
    );
    assert!(
        Inflate::parse("middle")
            .unwrap_err()
            .to_string()
            .contains("--init-video-inflate")
    );
}

#[test]
fn the_checkpoints_pixel_statistics_fold_into_the_patch_embedding() {
    // The fixture's pixels are what the ViT took, as if normalised with mean = std = 0.5
    // (google/vit-*'s preprocessor); the same picture ImageNet-normalised, as the engine
    // feeds it, must embed the same once the statistics are folded in.
    let dir = tempfile::tempdir().unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(fixtures().join("hf-vit").join(f), dir.path().join(f)).unwrap();
    }
    let pre = dir.path().join("preprocessor_config.json");
    let stats = r#""image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]"#;
    std::fs::write(&pre, format!(r#"{{"do_normalize": true, {stats}}}"#)).unwrap();
    let mut hf = HfVision::load(dir.path()).unwrap();
    assert_eq!(hf.pixel_stats, Some(([0.5; 3], [0.5; 3])));
    assert!(hf.fold_pixel_stats((IMAGENET_MEAN, IMAGENET_STD)).unwrap());
    let cfg = hf.video_config(1, 1, 32).unwrap();
    let r = reference();
    let engine: Vec<f32> = r["vit.pixels"]
        .data
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let c = (i / (32 * 32)) % 3;
            (x * 0.5 + 0.5 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]
        })
        .collect();
    let want = &r["vit.last_hidden_state"].data;
    let folded = hf.video_weights(&cfg, Inflate::Central).unwrap();
    let e = rel_err(&run(&gpu(), &cfg, &folded, &engine, 2).0, want);
    assert!(e < 1e-4, "folded: rel err {e}");
    // Unfolded, the engine's input is not what the checkpoint saw.
    let plain = HfVision::load(&fixtures().join("hf-vit")).unwrap();
    assert_eq!(plain.pixel_stats, None);
    let unfolded = plain.video_weights(&cfg, Inflate::Central).unwrap();
    let e = rel_err(&run(&gpu(), &cfg, &unfolded, &engine, 2).0, want);
    assert!(e > 1e-2, "unfolded: rel err {e}");

    std::fs::write(
        &pre,
        r#"{"image_mean": [0.5, 0.5], "image_std": [1, 1, 1]}"#,
    )
    .unwrap();
    let e = format!("{:#}", HfVision::load(dir.path()).unwrap_err());
    assert!(
        e.contains("preprocessor_config.json: image_mean must be 3 numbers"),
        "{e}"
    );
}

#[test]
fn a_vit_for_image_classification_layout_imports_the_same_encoder() {
    // google/vit-base-patch16-224's layout: every name under `vit.`, a classifier head and
    // no pooler (here the fixture's pooler renamed to the classifier).
    let cls = edited("hf-vit", |n, _, _| {
        *n = match n.strip_prefix("pooler.dense.") {
            Some(p) => format!("classifier.{p}"),
            None => format!("vit.{n}"),
        };
        true
    });
    let hf = HfVision::load(cls.path()).unwrap();
    assert_eq!(hf.ignored, ["classifier.bias", "classifier.weight"]);
    let plain = HfVision::load(&fixtures().join("hf-vit")).unwrap();
    let cfg = plain.video_config(1, 1, 32).unwrap();
    let (a, b) = (
        hf.video_weights(&cfg, Inflate::Central).unwrap(),
        plain.video_weights(&cfg, Inflate::Central).unwrap(),
    );
    assert_eq!(a, b);
}

#[test]
fn configs_written_before_the_vision_fields_load_as_gelu_without_ln_pre() {
    let tiny = locomotion::model::config::ModelConfig::preset("tiny").unwrap();
    let mut v = serde_json::to_value(&tiny).unwrap();
    let video = v["video"].as_object_mut().unwrap();
    assert!(video.remove("hidden_act").is_some() && video.remove("pre_norm").is_some());
    let old = locomotion::model::config::ModelConfig::from_json(&v.to_string()).unwrap();
    assert_eq!(old, tiny);
    assert_eq!(
        (old.video.hidden_act, old.video.pre_norm),
        (Activation::Gelu, false)
    );
}
