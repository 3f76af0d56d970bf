//! Launcher for `shaders/frame_diff.wgsl` and the tape op of frame differences: frame 0 of
//! each clip as it is, every later frame minus the one before (the tiny preset's video input,
//! `video.frame_differences`). One memory-bound pass each way; the gradient is the same
//! difference taken forward in time.

use crate::gpu::kernel_params;

use super::{forward, one_grad};
use crate::gpu::{CommandBatch, GpuBuffer, GpuError, Groups, Kernel};
use crate::tensor::{Result, Shape, Tape, Tensor, TensorError};

kernel_params! {
    pub(crate) struct Params for ["frame_diff"] {
        batch: u32,
        frames: u32,
        features: u32,
        dir: u32,
    }
}

/// Record `y = x[t] − x[t − 1]` (frame 0 kept) over `[b, t, f]` or, with `backward`, the
/// gradient `y = x[t] − x[t + 1]` (the last frame kept).
pub fn launch(
    batch: &mut CommandBatch,
    x: &GpuBuffer,
    y: &GpuBuffer,
    [b, t, f]: [usize; 3],
    backward: bool,
) -> std::result::Result<(), GpuError> {
    // Features in whole vec4s go one vec4 an invocation: the same differences.
    let (entry, total) = if f.is_multiple_of(4) {
        ("frame_diff4", (b * t * f / 4) as u64)
    } else {
        ("frame_diff", (b * t * f) as u64)
    };
    batch.dispatch(
        Kernel::new("frame_diff", entry),
        &Params {
            batch: b as u32,
            frames: t as u32,
            features: f as u32,
            dir: u32::from(backward),
        },
        &[x, y],
        Groups::Linear(total.div_ceil(64)),
    )
}

/// Frame differences of a video `[B, T, C, H, W]` (same shape out).
pub fn frame_differences(tape: &Tape, video: &Tensor) -> Result<Tensor> {
    video.expect_f32("frame_differences")?;
    let d = video.shape().dims().to_vec();
    let Ok([b, t, c, h, w]) = <[usize; 5]>::try_from(d.as_slice()) else {
        return Err(TensorError::Shape {
            op: "frame_differences",
            a: video.shape().to_string(),
            b: String::new(),
            why: "the input must be [B, T, C, H, W]",
        });
    };
    let dims = [b, t, c * h * w];
    let n = video.numel();
    let out = forward(tape.gpu(), n, "frame_differences", |bt, o| {
        launch(bt, video.buffer(), o, dims, false)
    })?;
    let rule = one_grad(n, "frame_differences dx", move |bt, _, dy, dx| {
        launch(bt, dy, dx, dims, true)
    });
    Ok(tape.record("frame_differences", out, Shape(d), &[video], rule))
}
