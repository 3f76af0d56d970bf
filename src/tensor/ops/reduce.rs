//! Launchers for `shaders/reduce.wgsl` (sum, mean, max over one axis) and their tape ops.

use crate::gpu::kernel_params;

use crate::gpu::{CommandBatch, GpuBuffer, GpuError, Groups, Kernel};
use crate::tensor::{Result, Tape, Tensor, TensorError};

/// Which reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduce {
    /// Sum over the axis.
    Sum,
    /// Mean over the axis.
    Mean,
    /// Maximum over the axis (gradient to the first arg-max).
    Max,
}

kernel_params! {
    pub(crate) struct Params for ["reduce"] {
        outer: u32,
        axis: u32,
        inner: u32,
        op: u32,
    }
}

fn params(op: Reduce, outer: usize, axis: usize, inner: usize) -> Params {
    Params {
        outer: outer as u32,
        axis: axis as u32,
        inner: inner as u32,
        op: op as u32,
    }
}

/// Record `out = op over a of x[o, a, i]`; x is (outer, axis, inner), out (outer, inner).
pub fn launch(
    batch: &mut CommandBatch,
    op: Reduce,
    x: &GpuBuffer,
    out: &GpuBuffer,
    outer: usize,
    axis: usize,
    inner: usize,
) -> std::result::Result<(), GpuError> {
    let idx = batch
        .gpu()
        .pool
        .storage(4 * (outer * inner).max(1) as u64, "argmax")?;
    launch_with_index(batch, op, x, out, &idx, outer, axis, inner)
}

/// Like [`launch`], also writing the first arg-max of each output into `idx`.
#[allow(clippy::too_many_arguments)]
pub fn launch_with_index(
    batch: &mut CommandBatch,
    op: Reduce,
    x: &GpuBuffer,
    out: &GpuBuffer,
    idx: &GpuBuffer,
    outer: usize,
    axis: usize,
    inner: usize,
) -> std::result::Result<(), GpuError> {
    batch.dispatch(
        Kernel::new("reduce", "reduce"),
        &params(op, outer, axis, inner),
        &[x, out, idx],
        Groups::Linear(((outer * inner) as u64).div_ceil(64)),
    )
}

/// Record the gradient dx (outer, axis, inner) of a reduction from dy (outer, inner).
#[allow(clippy::too_many_arguments)]
pub fn launch_backward(
    batch: &mut CommandBatch,
    op: Reduce,
    dy: &GpuBuffer,
    idx: &GpuBuffer,
    dx: &GpuBuffer,
    outer: usize,
    axis: usize,
    inner: usize,
) -> std::result::Result<(), GpuError> {
    batch.dispatch(
        Kernel::new("reduce", "reduce_backward"),
        &params(op, outer, axis, inner),
        &[dy, idx, dx],
        Groups::Linear(((outer * axis * inner) as u64).div_ceil(64)),
    )
}

/// Reduce `x` over `axis` (the axis disappears from the shape).
pub fn reduce(tape: &Tape, x: &Tensor, op: Reduce, axis: usize) -> Result<Tensor> {
    x.expect_f32("reduce")?;
    if axis >= x.shape().rank() {
        return Err(TensorError::Shape {
            op: "reduce",
            a: x.shape().to_string(),
            b: format!("axis {axis}"),
            why: "the axis is out of range",
        });
    }
    let (outer, len, inner) = x.shape().around(axis);
    let gpu = tape.gpu();
    let out = gpu
        .pool
        .storage(4 * (outer * inner).max(1) as u64, "reduce out")?;
    let idx = gpu
        .pool
        .storage(4 * (outer * inner).max(1) as u64, "argmax")?;
    let mut batch = CommandBatch::new(gpu);
    launch_with_index(&mut batch, op, x.buffer(), &out, &idx, outer, len, inner)?;
    batch.submit();
    let n = x.numel();
    let rule = super::one_grad(n, "reduce grad", move |b, _, dy, dx| {
        launch_backward(b, op, dy, &idx, dx, outer, len, inner)
    });
    Ok(tape.record("reduce", out, x.shape().without(axis), &[x], rule))
}

/// Sum of every element, as a one-value tensor (e.g. a loss).
pub fn sum_all(tape: &Tape, x: &Tensor) -> Result<Tensor> {
    let flat = tape.reshape(x, [x.numel()])?;
    reduce(tape, &flat, Reduce::Sum, 0)
}

/// Mean of every element, as a one-value tensor.
pub fn mean_all(tape: &Tape, x: &Tensor) -> Result<Tensor> {
    let flat = tape.reshape(x, [x.numel()])?;
    reduce(tape, &flat, Reduce::Mean, 0)
}
