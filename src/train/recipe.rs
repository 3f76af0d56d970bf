//! The pre-training recipe: the one source of defaults that `pretrain`, `demo` and
//! `experiment` share, each measured to learn on the `tiny` preset through lavapipe (see
//! BENCHMARKS.md, "Learning motion", for what each setting did and what did not help).

/// Model preset.
pub const PRESET: &str = "tiny";
/// Optimizer steps.
pub const STEPS: u64 = 300;
/// Video-caption pairs per batch.
pub const BATCH: usize = 16;
/// Peak learning rate (cosine decay to 0 after the warm-up).
pub const LR: f64 = 1e-3;
/// Linear warm-up steps.
pub const WARMUP: u64 = 20;
/// AdamW's decoupled weight decay.
pub const WEIGHT_DECAY: f64 = 0.02;
/// Global gradient-norm clip.
pub const CLIP_NORM: f64 = 1.0;
/// Pre-training captions.
pub const CAPTIONS: &str = "motion";
/// Loss weights VTC, VTM, MLM as the `--weights` flag writes them.
pub const WEIGHTS: &str = "1,0,0";
/// Clips per motion group in a batch (1: independent clips).
pub const GROUP_SIZE: usize = 1;

/// [`WEIGHTS`] as numbers.
pub fn weights() -> [f64; 3] {
    let w: Vec<f64> = WEIGHTS
        .split(',')
        .map(|x| x.parse().expect("the recipe's weights parse"))
        .collect();
    [w[0], w[1], w[2]]
}

/// Steps over which the backgrounds fade in from black when pre-training from scratch on
/// online clips: half of the run.
pub fn background_fade(steps: u64) -> u64 {
    steps / 2
}
