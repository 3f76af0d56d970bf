//! Launchers for `shaders/l2_normalize.wgsl` and its backward, and the tape op: row-wise L2
//! normalisation, which puts the VTC embeddings on the unit sphere so that their dot products
//! are cosine similarities.

use crate::gpu::kernel_params;

use super::{forward, one_grad};
use crate::gpu::{CommandBatch, GpuBuffer, GpuError, Groups, Kernel};
use crate::tensor::{Result, Tape, Tensor};

/// The norm below which a row is divided by this instead (torch's `F.normalize` default).
pub const NORMALIZE_EPS: f32 = 1e-12;

kernel_params! {
    pub(crate) struct Params for ["l2_normalize", "l2_normalize_backward"] {
        rows: u32,
        dim: u32,
        eps: f32,
        _pad: u32,
    }
}

fn params(rows: usize, dim: usize) -> Params {
    Params {
        rows: rows as u32,
        dim: dim as u32,
        eps: NORMALIZE_EPS,
        _pad: 0,
    }
}

/// Record `y = x / max(‖x‖, eps)` row by row; x and y are `[rows, dim]`.
pub fn launch(
    batch: &mut CommandBatch,
    x: &GpuBuffer,
    y: &GpuBuffer,
    rows: usize,
    dim: usize,
) -> std::result::Result<(), GpuError> {
    batch.dispatch(
        Kernel::new("l2_normalize", "l2_normalize"),
        &params(rows, dim),
        &[x, y],
        Groups::Linear((rows as u64).div_ceil(64)),
    )
}

/// Record the gradient `dx` of row-wise normalisation given x and dy, all `[rows, dim]`.
pub fn launch_backward(
    batch: &mut CommandBatch,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    dx: &GpuBuffer,
    rows: usize,
    dim: usize,
) -> std::result::Result<(), GpuError> {
    batch.dispatch(
        Kernel::new("l2_normalize_backward", "l2_normalize_backward"),
        &params(rows, dim),
        &[x, dy, dx],
        Groups::Linear((rows as u64).div_ceil(64)),
    )
}

/// Every row of `x` (last dimension) scaled to unit L2 norm.
pub fn l2_normalize(tape: &Tape, x: &Tensor) -> Result<Tensor> {
    x.expect_f32("l2_normalize")?;
    let (rows, dim) = (x.shape().rows(), x.shape().last());
    let out = forward(tape.gpu(), x.numel(), "l2_normalize", |b, y| {
        launch(b, x.buffer(), y, rows, dim)
    })?;
    let rule = one_grad(rows * dim, "l2_normalize grad", move |b, ins, dy, dx| {
        launch_backward(b, ins[0].buffer(), dy, dx, rows, dim)
    });
    Ok(tape.record("l2_normalize", out, x.shape().clone(), &[x], rule))
}
