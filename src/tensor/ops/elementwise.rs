//! Launchers for `shaders/elementwise.wgsl` over flat f32 buffers, and the add ops of the tape.

use crate::gpu::kernel_params;

use super::forward;
use crate::gpu::{CommandBatch, GpuBuffer, GpuError, Groups, Kernel};
use crate::tensor::{Result, Tape, Tensor, TensorError, copy};

/// Which elementwise binary op to run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Binary {
    /// out = x + y
    Add,
    /// out = x * y
    Mul,
    /// out = alpha * x + beta * y
    Axpby(f32, f32),
}

kernel_params! {
    pub(crate) struct Params for ["elementwise"] {
        n: u32,
        alpha: f32,
        beta: f32,
        period: u32,
    }
}

/// Record a kernel of the flat vec4 family (`shaders/common/flat4.wgsl`: elementwise, unary,
/// quick GELU, AdamW) over `n` elements: each buffer of `bufs` must hold the floats paired
/// with it, and is bound rounded up to whole vec4s; the `exact` buffers are bound after them
/// as they are. One invocation a vec4.
pub(crate) fn dispatch_flat4<P: crate::gpu::KernelParams>(
    batch: &mut CommandBatch,
    kernel: Kernel,
    params: &P,
    bufs: &[(&GpuBuffer, usize)],
    exact: &[&GpuBuffer],
    n: usize,
) -> std::result::Result<(), GpuError> {
    let mut resources = Vec::with_capacity(bufs.len() + exact.len());
    for (i, &(buf, floats)) in bufs.iter().enumerate() {
        let fail = |why: String| GpuError::Launch {
            kernel: format!("{}::{}", kernel.shader, kernel.entry),
            reason: format!("buffer {i} {why}"),
        };
        if buf.bytes() < 4 * floats as u64 {
            return Err(fail(format!(
                "holds {} bytes, the kernel reads {floats} floats",
                buf.bytes()
            )));
        }
        resources.push(buf.binding_rounded(16).ok_or_else(|| {
            fail(format!(
                "of {} bytes has no room to round up to whole vec4s (allocation {})",
                buf.bytes(),
                buf.capacity()
            ))
        })?);
    }
    resources.extend(exact.iter().map(|b| b.binding()));
    batch.dispatch_resources(
        kernel,
        params,
        &resources,
        Groups::Linear((n as u64).div_ceil(4).div_ceil(64)),
    )?;
    for buf in bufs.iter().map(|b| b.0).chain(exact.iter().copied()) {
        batch.hold(buf);
    }
    Ok(())
}

/// Record `out = op(x, y)` over the first `n` elements; x, y, out are (n,).
pub fn binary(
    batch: &mut CommandBatch,
    op: Binary,
    x: &GpuBuffer,
    y: &GpuBuffer,
    out: &GpuBuffer,
    n: u32,
) -> std::result::Result<(), GpuError> {
    let (entry, alpha, beta) = match op {
        Binary::Add => ("add", 1.0, 1.0),
        Binary::Mul => ("mul", 0.0, 0.0),
        Binary::Axpby(a, b) => ("axpby", a, b),
    };
    let params = Params {
        n,
        alpha,
        beta,
        period: 1,
    };
    let n = n as usize;
    dispatch_flat4(
        batch,
        Kernel::new("elementwise", entry),
        &params,
        &[(x, n), (y, n), (out, n)],
        &[],
        n,
    )
}

/// Record elementwise `entry` (e.g. "add_broadcast", "gelu_backward") over n elements with
/// x, y read and out written.
#[allow(clippy::too_many_arguments)]
pub fn launch(
    batch: &mut CommandBatch,
    entry: &'static str,
    x: &GpuBuffer,
    y: &GpuBuffer,
    out: &GpuBuffer,
    n: usize,
    alpha: f32,
    beta: f32,
    period: usize,
) -> std::result::Result<(), GpuError> {
    let params = Params {
        n: n as u32,
        alpha,
        beta,
        period: period.max(1) as u32,
    };
    let y_len = if entry == "add_broadcast" {
        period.max(1)
    } else {
        n
    };
    dispatch_flat4(
        batch,
        Kernel::new("elementwise", entry),
        &params,
        &[(x, n), (y, y_len), (out, n)],
        &[],
        n,
    )
}

/// `x + y`, where y has x's shape or x's trailing dimensions (broadcast over the leading
/// ones, as a bias is); y's gradient sums over the broadcast rows.
pub fn add(tape: &Tape, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    x.expect_f32("add")?;
    y.expect_f32("add")?;
    let (xd, yd) = (x.shape().dims(), y.shape().dims());
    if yd.len() > xd.len() || xd[xd.len() - yd.len()..] != *yd {
        return Err(TensorError::Shape {
            op: "add",
            a: x.shape().to_string(),
            b: y.shape().to_string(),
            why: "the second must equal the first's trailing dimensions",
        });
    }
    let (n, period) = (x.numel(), y.numel());
    let out = forward(tape.gpu(), n, "add", |b, o| {
        launch(
            b,
            "add_broadcast",
            x.buffer(),
            y.buffer(),
            o,
            n,
            1.0,
            1.0,
            period,
        )
    })?;
    Ok(
        tape.record("add", out, x.shape().clone(), &[x, y], move |b, _, dy| {
            let dx = copy(b, dy, n)?;
            let dyy = if period == n {
                copy(b, dy, n)?
            } else {
                let g = b.gpu().pool.storage(4 * period as u64, "bias grad")?;
                super::colsum::column_sum(b, dy, &g, n / period, period)?;
                g
            };
            Ok(vec![Some(dx), Some(dyy)])
        }),
    )
}
