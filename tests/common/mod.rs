//! Helpers shared by the GPU tests: the shared device, seeded random data, error norms.

#![allow(dead_code)]

pub mod attention;
pub mod child;
pub mod cli;
pub mod data;
pub mod dist;
pub mod fd;
pub mod loss;
pub mod matmul;
pub mod minilm;
pub mod mlp;
pub mod skip;
pub mod ssv2;
pub mod step;
pub mod vlm;

use locomotion::gpu::Gpu;
use locomotion::model::config::ModelConfig;
use locomotion::train::config::TrainConfig;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Every line of the JSON-lines file `path`, parsed.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(path: impl AsRef<std::path::Path>) -> Vec<T> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The `step` of each record of the metrics log `path` (a metrics.jsonl), in order.
pub fn logged_steps(path: impl AsRef<std::path::Path>) -> Vec<u64> {
    read_jsonl::<serde_json::Value>(path)
        .iter()
        .map(|r| r["step"].as_u64().unwrap())
        .collect()
}

/// The process-wide device (lavapipe on a machine without a GPU). Every storage buffer it
/// hands out is poisoned with NaNs, so an output element a kernel forgets to write (or a
/// buffer a kernel wrongly assumes is zeroed) fails the test.
pub fn gpu() -> Gpu {
    let g =
        Gpu::shared().expect("a GPU adapter (install mesa-vulkan-drivers for the CPU fallback)");
    g.pool.set_poison(Some(POISON));
    g
}

/// `n` uniform values in [-1, 1) from `seed`; never all zeros.
pub fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// ‖a − b‖ / ‖b‖ in f64.
pub fn rel_err(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        num += (x as f64 - y as f64).powi(2);
        den += (y as f64).powi(2);
    }
    (num / den.max(1e-300)).sqrt()
}

/// The stated tolerance of comparisons between kernel variants that add in the same order:
/// they may still differ in the last bits, because a driver may contract `a * b + c` into
/// one fused multiply-add in one pipeline and not in another (GPU drivers do, per pipeline).
/// In units in the last place of the compared tensor's largest magnitude.
pub const VARIANT_ULPS: f32 = 64.0;

/// Assert that `got` and `want` (same length, all finite) differ element by element by at
/// most `ulps` units in the last place of `want`'s largest magnitude; `what` names them.
pub fn assert_within_ulps(got: &[f32], want: &[f32], ulps: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    let bound = ulps * f32::EPSILON * scale;
    for (i, (&x, &y)) in got.iter().zip(want).enumerate() {
        assert!(
            x.is_finite() && y.is_finite() && (x - y).abs() <= bound,
            "{what}: element {i} is {x}, against {y} (bound {bound:e}: {ulps} ulp of {scale})"
        );
    }
}

/// A quiet-NaN bit pattern used to poison output buffers.
pub const POISON: u32 = 0x7fc0_dead;

/// The shared device with launchers picking the GPU kernel variants (SGEMM matmul, attention
/// as matmuls while the scores fit, 64-thread layer norm) whatever the adapter, as
/// `LOCOMOTION_KERNELS=gpu` does: on lavapipe, the path a discrete GPU takes runs in the
/// normal `cargo test`.
pub fn gpu_path() -> Gpu {
    gpu().with_kernels(locomotion::gpu::Kernels::Gpu)
}

/// A tiny run into `out` the tests change field by field: the tiny preset, 2 steps of batch
/// 2, lr 3e-4, no warm-up, motion captions, seed 5, no fade, independent clips, quiet.
pub fn tiny_run(out: &std::path::Path) -> TrainConfig {
    TrainConfig {
        model: ModelConfig::preset("tiny").unwrap(),
        steps: 2,
        batch: 2,
        accumulate: 1,
        lr: 3e-4,
        weight_decay: 0.02,
        warmup: 0,
        clip_norm: 1.0,
        captions: "motion".into(),
        seed: 5,
        data: None,
        fraction: 1.0,
        annotations: None,
        init_checkpoint: None,
        init_text: None,
        init_video: None,
        out: out.to_path_buf(),
        save_every: 0,
        log_every: 1,
        resume: false,
        stop_after: None,
        progress: false,
        background_fade_steps: 0,
        group_size: 1,
        motion: Default::default(),
        allow_truncated_captions: false,
    }
}
