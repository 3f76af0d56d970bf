//! One module per shader family: the raw-buffer launcher, and the tape op with its backward
//! rule.

pub mod adamw;
pub mod attention;
pub mod check;
pub mod choices;
pub mod colsum;
pub mod dev;
pub mod elementwise;
pub mod embedding;
pub mod frame_diff;
pub mod gather;
pub mod layernorm;
pub mod loss;
pub mod matmul;
pub mod negatives;
pub mod normalize;
pub mod permute;
pub mod prepend_cls;
pub mod quick_gelu;
pub mod reduce;
pub mod softmax;
pub mod tubelet;
pub mod unary;

use crate::gpu::{CommandBatch, Gpu, GpuBuffer, GpuError};
use crate::tensor::{Result, Tensor, TensorError};

/// Allocate an output of `n` floats, record `f` into a fresh batch and queue it (no wait:
/// queue order keeps later work and readbacks after it; see `Gpu::flush`).
pub(crate) fn forward(
    gpu: &Gpu,
    n: usize,
    what: &str,
    f: impl FnOnce(&mut CommandBatch, &GpuBuffer) -> std::result::Result<(), GpuError>,
) -> Result<GpuBuffer> {
    let out = gpu.pool.storage(4 * n.max(1) as u64, what)?;
    let mut batch = CommandBatch::new(gpu);
    f(&mut batch, &out)?;
    batch.submit();
    Ok(out)
}

/// The backward rule of an op whose one gradient is `n` floats: a fresh buffer that `f`
/// fills, given the batch, the op's inputs, the upstream gradient dy and that buffer.
pub(crate) fn one_grad(
    n: usize,
    what: &'static str,
    f: impl Fn(
        &mut CommandBatch,
        &[Tensor],
        &GpuBuffer,
        &GpuBuffer,
    ) -> std::result::Result<(), GpuError>
    + 'static,
) -> impl Fn(
    &mut CommandBatch,
    &[Tensor],
    &GpuBuffer,
) -> std::result::Result<Vec<Option<GpuBuffer>>, GpuError>
+ 'static {
    move |b, ins, dy| {
        let dx = storage(b.gpu(), n, what)?;
        f(b, ins, dy, &dx)?;
        Ok(vec![Some(dx)])
    }
}

/// Fail unless `x` and `y` have the same shape and are f32.
pub(crate) fn same_shape(op: &'static str, x: &Tensor, y: &Tensor) -> Result<()> {
    x.expect_f32(op)?;
    y.expect_f32(op)?;
    if x.shape() != y.shape() {
        return Err(TensorError::Shape {
            op,
            a: x.shape().to_string(),
            b: y.shape().to_string(),
            why: "they must be equal",
        });
    }
    Ok(())
}

/// Launchers report argument errors through anyhow; the tape speaks [`GpuError`].
pub(crate) fn launch_err(e: anyhow::Error) -> GpuError {
    GpuError::Launch {
        kernel: "tape op".into(),
        reason: format!("{e:#}"),
    }
}

/// A shape error of `op` over `a` and `b`.
fn shape_err(op: &'static str, a: &Tensor, b: &Tensor, why: &'static str) -> TensorError {
    TensorError::Shape {
        op,
        a: a.shape().to_string(),
        b: b.shape().to_string(),
        why,
    }
}

/// A pooled storage buffer of `n` floats (at least one).
fn storage(gpu: &Gpu, n: usize, what: &str) -> std::result::Result<GpuBuffer, GpuError> {
    gpu.pool.storage(4 * n.max(1) as u64, what)
}
