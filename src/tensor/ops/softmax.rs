//! Launchers for `shaders/softmax.wgsl` (fused, stable softmax and log-softmax over the last
//! dimension) and their tape ops.

use crate::gpu::kernel_params;

use crate::gpu::{CommandBatch, GpuBuffer, GpuError, Groups, Kernel};
use crate::tensor::{Result, Tape, Tensor};

kernel_params! {
    pub(crate) struct Params for ["softmax"] {
        rows: u32,
        c: u32,
        log: u32,
        _pad: u32,
    }
}

fn params(rows: usize, c: usize, log: bool) -> Params {
    Params {
        rows: rows as u32,
        c: c as u32,
        log: log as u32,
        _pad: 0,
    }
}

/// Record y = softmax(x) (or log-softmax) over rows of width c; x, y are (rows, c).
pub fn launch(
    batch: &mut CommandBatch,
    x: &GpuBuffer,
    y: &GpuBuffer,
    rows: usize,
    c: usize,
    log: bool,
) -> std::result::Result<(), GpuError> {
    batch.dispatch(
        Kernel::new("softmax", "forward"),
        &params(rows, c, log),
        &[x, y],
        Groups::Linear(rows as u64),
    )
}

/// Record dx from the forward output y and dy; all (rows, c).
#[allow(clippy::too_many_arguments)]
pub fn launch_backward(
    batch: &mut CommandBatch,
    y: &GpuBuffer,
    dy: &GpuBuffer,
    dx: &GpuBuffer,
    rows: usize,
    c: usize,
    log: bool,
) -> std::result::Result<(), GpuError> {
    batch.dispatch(
        Kernel::new("softmax", "backward"),
        &params(rows, c, log),
        &[y, dy, dx],
        Groups::Linear(rows as u64),
    )
}

fn op(tape: &Tape, x: &Tensor, log: bool) -> Result<Tensor> {
    x.expect_f32("softmax")?;
    let (rows, c) = (x.shape().rows(), x.shape().last());
    let n = x.numel();
    let gpu = tape.gpu();
    let y = gpu.pool.storage(4 * n.max(1) as u64, "softmax out")?;
    let saved = gpu.pool.storage(4 * n.max(1) as u64, "softmax saved")?;
    let mut batch = CommandBatch::new(gpu);
    launch(&mut batch, x.buffer(), &y, rows, c, log)?;
    // The backward rule needs the output; keep a copy only when a rule will be recorded.
    let wants = tape.wants(&[x]);
    if wants {
        batch.copy(&y, &saved, 4 * n as u64);
    }
    batch.submit();
    let rule = super::one_grad(n, "softmax grad", move |b, _, dy, dx| {
        launch_backward(b, &saved, dy, dx, rows, c, log)
    });
    Ok(tape.record("softmax", y, x.shape().clone(), &[x], rule))
}

/// Softmax over the last dimension.
pub fn softmax(tape: &Tape, x: &Tensor) -> Result<Tensor> {
    op(tape, x, false)
}

/// Log-softmax over the last dimension.
pub fn log_softmax(tape: &Tape, x: &Tensor) -> Result<Tensor> {
    op(tape, x, true)
}
