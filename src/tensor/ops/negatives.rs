//! Launcher for `shaders/hard_negatives.wgsl`: VTM's hard negatives drawn on the GPU from the
//! VTC similarity matrix, as the row indices of the 3B VTM pairs (see the shader), so a
//! training step reads nothing back to pick them.

use crate::gpu::kernel_params;

use crate::gpu::{CommandBatch, GpuBuffer, GpuError, Groups, Kernel};
use crate::tensor::{Result, Tensor, TensorError};

kernel_params! {
    pub(crate) struct Params for ["hard_negatives"] {
        b: u32,
        inv_tau: f32,
        seed_lo: u32,
        seed_hi: u32,
    }
}

/// Record the draw over `sim` (b, b) into `text_rows` and `video_rows` (3b u32 each).
pub fn launch(
    batch: &mut CommandBatch,
    sim: &GpuBuffer,
    text_rows: &GpuBuffer,
    video_rows: &GpuBuffer,
    b: usize,
    temperature: f32,
    seed: u64,
) -> std::result::Result<(), GpuError> {
    let p = Params {
        b: b as u32,
        inv_tau: 1.0 / temperature,
        seed_lo: seed as u32,
        seed_hi: (seed >> 32) as u32,
    };
    batch.dispatch(
        Kernel::new("hard_negatives", "draw"),
        &p,
        &[sim, text_rows, video_rows],
        Groups::Linear((2 * b as u64).div_ceil(64)),
    )
}

/// The VTM pair rows `(text_rows, video_rows)`, each 3B u32 on the GPU, for the VTC
/// similarities `sim` (B, B) = video · text: positives, then each video with a text drawn
/// ∝ exp(sim / τ) among the others, then each text with a video drawn likewise. `seed`
/// fixes every draw. No gradient flows through the choice.
pub fn hard_negative_rows(
    sim: &Tensor,
    temperature: f64,
    seed: u64,
) -> Result<(GpuBuffer, GpuBuffer)> {
    sim.expect_f32("hard negatives")?;
    let d = sim.shape().dims();
    if d.len() != 2 || d[0] != d[1] || d[0] < 2 {
        return Err(TensorError::Shape {
            op: "hard negatives",
            a: sim.shape().to_string(),
            b: "(B, B)".into(),
            why: "the similarities must be square with B >= 2",
        });
    }
    let b = d[0];
    let gpu = sim.gpu();
    let text_rows = gpu.pool.storage(4 * 3 * b as u64, "VTM text rows")?;
    let video_rows = gpu.pool.storage(4 * 3 * b as u64, "VTM video rows")?;
    let mut batch = CommandBatch::new(gpu);
    launch(
        &mut batch,
        sim.buffer(),
        &text_rows,
        &video_rows,
        b,
        temperature as f32,
        seed,
    )?;
    batch.submit();
    Ok((text_rows, video_rows))
}
