//! Checkpoints: exact round trips, atomic replacement, and errors that name the file and the
//! tensor for every way a checkpoint can be wrong.

use std::collections::HashMap;
use std::path::Path;

use locomotion::model::checkpoint::{
    CONFIG_FILE, Checkpoint, CheckpointConfig, FORMAT_VERSION, HostTensor, TensorMap,
    TrainingState, WEIGHTS_FILE, adam_m_name, adam_v_name,
};
use locomotion::model::config::ModelConfig;
use locomotion::model::params::model_parameter_shapes;
use locomotion::train::schedule::LrSchedule;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A `tiny` checkpoint with random parameters and AdamW moments.
fn checkpoint(seed: u64) -> Checkpoint {
    let model = ModelConfig::preset("tiny").unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut tensors = TensorMap::new();
    for (name, shape) in model_parameter_shapes(&model) {
        let n: usize = shape.iter().product();
        let mut rand_t = || {
            let data = (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            HostTensor::new(shape.clone(), data)
        };
        tensors.insert(adam_m_name(&name), rand_t());
        tensors.insert(adam_v_name(&name), rand_t());
        tensors.insert(name, rand_t());
    }
    let state = TrainingState {
        step: 300,
        optimizer_step: 300,
        seed,
        data_position: 300 * 16,
        schedule: LrSchedule {
            base_lr: 1e-4,
            final_lr: 0.0,
            warmup_steps: 50,
            total_steps: 1000,
        },
        extra: serde_json::Map::from_iter([("captions".to_string(), "motion".into())]),
    };
    Checkpoint {
        config: CheckpointConfig {
            format_version: FORMAT_VERSION,
            model,
            state,
        },
        tensors,
    }
}

fn err(dir: &Path) -> String {
    format!("{:#}", Checkpoint::load(dir).unwrap_err())
}

#[test]
fn save_then_load_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt");
    let c = checkpoint(1);
    c.save(&path).unwrap();
    let back = Checkpoint::load(&path).unwrap();
    assert_eq!(back, c, "a loaded checkpoint differs from the saved one");
    back.check_shapes(&model_parameter_shapes(&c.config.model))
        .unwrap();
    // Deterministic bytes: the same contents give the same file.
    let again = dir.path().join("again");
    c.save(&again).unwrap();
    let bytes = |p: &Path| std::fs::read(p.join(WEIGHTS_FILE)).unwrap();
    assert!(
        bytes(&path) == bytes(&again),
        "same checkpoint, different bytes"
    );
}

#[test]
fn saving_over_a_checkpoint_replaces_it_and_leaves_no_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latest");
    checkpoint(1).save(&path).unwrap();
    let newer = checkpoint(2);
    newer.save(&path).unwrap();
    assert_eq!(Checkpoint::load(&path).unwrap(), newer);
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, ["latest"], "temporary files left behind");
}

#[test]
fn a_failed_save_keeps_the_previous_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latest");
    let good = checkpoint(1);
    good.save(&path).unwrap();
    let mut bad = checkpoint(2);
    // Shape and data disagree: the save must fail before touching the old checkpoint.
    bad.tensors.insert(
        "video.cls".into(),
        HostTensor {
            shape: vec![3],
            data: vec![1.0; 2],
        },
    );
    let e = format!("{:#}", bad.save(&path).unwrap_err());
    assert!(e.contains("video.cls"), "{e}");
    assert_eq!(Checkpoint::load(&path).unwrap(), good);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn missing_or_misshapen_tensors_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt");
    let mut c = checkpoint(3);
    c.tensors.remove("text.layers.1.ffn.up.weight");
    c.tensors.insert(
        "video.cls".into(),
        HostTensor::new(vec![2, 32], vec![0.5; 64]),
    );
    c.save(&path).unwrap();
    // A shape that contradicts config.json is refused as it loads, by field and tensor.
    let e = err(&path);
    assert!(
        e.contains("video.hidden_size") && e.contains("video.cls") && e.contains("[2, 32]"),
        "{e}"
    );
    // Past the load (a caller's own expectations), `get` names the tensor and both shapes.
    c.tensors
        .insert("video.cls".into(), HostTensor::new(vec![64], vec![0.5; 64]));
    c.save(&path).unwrap();
    let mut back = Checkpoint::load(&path).unwrap();
    back.tensors.insert(
        "video.cls".into(),
        HostTensor::new(vec![2, 32], vec![0.5; 64]),
    );
    let e = back
        .get("text.layers.1.ffn.up.weight", &[64, 256])
        .unwrap_err()
        .to_string();
    assert!(e.contains("no tensor text.layers.1.ffn.up.weight"), "{e}");
    let e = back.get("video.cls", &[64]).unwrap_err().to_string();
    assert!(
        e.contains("video.cls") && e.contains("[2, 32]") && e.contains("[64]"),
        "{e}"
    );
    let e = back
        .check_shapes(&model_parameter_shapes(&c.config.model))
        .unwrap_err()
        .to_string();
    assert!(e.contains("video.cls") || e.contains("ffn.up"), "{e}");
}

#[test]
fn wrong_dtype_corrupt_files_and_missing_parts_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt");
    checkpoint(4).save(&path).unwrap();
    let weights = path.join(WEIGHTS_FILE);

    // A tensor stored as f16.
    let data = vec![0u8; 8];
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F16, vec![4], &data).unwrap();
    let bytes = safetensors::serialize([("heads.vtm.bias", view)], None::<HashMap<String, String>>)
        .unwrap();
    std::fs::write(&weights, bytes).unwrap();
    let e = err(&path);
    assert!(
        e.contains(WEIGHTS_FILE) && e.contains("heads.vtm.bias") && e.contains("F16"),
        "{e}"
    );

    // Truncated weights.
    checkpoint(4).save(&path).unwrap();
    let full = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &full[..full.len() / 2]).unwrap();
    let e = err(&path);
    assert!(
        e.contains(WEIGHTS_FILE) && e.contains("not a valid safetensors file"),
        "{e}"
    );

    // Corrupt config, a future format, a missing directory.
    checkpoint(4).save(&path).unwrap();
    std::fs::write(
        path.join(CONFIG_FILE),
        "{\"format_version\": 1, \"model\": ",
    )
    .unwrap();
    let e = err(&path);
    assert!(
        e.contains(CONFIG_FILE) && e.contains("not a valid checkpoint config"),
        "{e}"
    );
    let mut future = checkpoint(4);
    future.config.format_version = 99;
    future.save(&path).unwrap();
    assert!(err(&path).contains("format_version 99"));
    let e = err(&dir.path().join("nowhere"));
    assert!(e.contains("nowhere") && e.contains("not found"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
}

#[test]
fn load_for_a_model_checks_parameters_moments_and_strays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt");
    let c = checkpoint(5);
    let expected = model_parameter_shapes(&c.config.model);
    c.save(&path).unwrap();
    assert_eq!(Checkpoint::load_for(&path, &expected).unwrap(), c);

    let mut bad = c.clone();
    bad.tensors.insert(
        adam_v_name("video.cls"),
        HostTensor::new(vec![3], vec![0.0; 3]),
    );
    bad.save(&path).unwrap();
    let e = format!("{:#}", Checkpoint::load_for(&path, &expected).unwrap_err());
    assert!(
        e.contains(WEIGHTS_FILE) && e.contains("adam.v.video.cls") && e.contains("[3]"),
        "{e}"
    );

    let mut stray = c.clone();
    stray
        .tensors
        .insert("video.extra".into(), HostTensor::new(vec![1], vec![0.0]));
    stray.save(&path).unwrap();
    let e = format!("{:#}", Checkpoint::load_for(&path, &expected).unwrap_err());
    assert!(e.contains("unexpected tensor video.extra"), "{e}");

    // A checkpoint of a different preset fails on the first mismatching parameter, by name.
    c.save(&path).unwrap();
    let small = model_parameter_shapes(&ModelConfig::preset("small").unwrap());
    let e = format!("{:#}", Checkpoint::load_for(&path, &small).unwrap_err());
    assert!(
        e.contains(WEIGHTS_FILE) && e.contains("video.patch.weight"),
        "{e}"
    );
}
