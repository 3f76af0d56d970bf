//! Launchers for `shaders/prepend_cls.wgsl` and its backward, and the tape op that puts a
//! learned [CLS] token in front of every sequence of a batch (ViT's classification token).

use crate::gpu::kernel_params;

use super::forward;
use crate::gpu::{CommandBatch, GpuBuffer, GpuError, Groups, Kernel};
use crate::tensor::{Result, Shape, Tape, Tensor, TensorError};

kernel_params! {
    pub(crate) struct Params for ["prepend_cls", "prepend_cls_backward"] {
        batch: u32,
        tokens: u32,
        dim: u32,
        _pad: u32,
    }
}

fn params(b: usize, n: usize, d: usize) -> Params {
    Params {
        batch: b as u32,
        tokens: n as u32,
        dim: d as u32,
        _pad: 0,
    }
}

/// Record `out = [cls; x[b]]` for every b: x `[B, N, D]`, cls `[D]`, out `[B, N + 1, D]`.
pub fn launch(
    batch: &mut CommandBatch,
    x: &GpuBuffer,
    cls: &GpuBuffer,
    out: &GpuBuffer,
    [b, n, d]: [usize; 3],
) -> std::result::Result<(), GpuError> {
    let total = (b * (n + 1) * d) as u64;
    batch.dispatch(
        Kernel::new("prepend_cls", "prepend"),
        &params(b, n, d),
        &[x, cls, out],
        Groups::Linear(total.div_ceil(64)),
    )
}

/// Record the gradients of [`launch`]: dy `[B, N + 1, D]` → dx `[B, N, D]` and dcls `[D]`.
pub fn launch_backward(
    batch: &mut CommandBatch,
    dy: &GpuBuffer,
    dx: &GpuBuffer,
    dcls: &GpuBuffer,
    [b, n, d]: [usize; 3],
) -> std::result::Result<(), GpuError> {
    let threads = (b * n * d).max(d) as u64;
    batch.dispatch(
        Kernel::new("prepend_cls_backward", "prepend_backward"),
        &params(b, n, d),
        &[dy, dx, dcls],
        Groups::Linear(threads.div_ceil(64)),
    )
}

/// `[cls; x[b]]` for every b: x `[B, N, D]`, cls `[D]` → `[B, N + 1, D]`. The token's gradient
/// sums over the batch; x's is the rest of the output gradient.
pub fn prepend_cls(tape: &Tape, x: &Tensor, cls: &Tensor) -> Result<Tensor> {
    x.expect_f32("prepend_cls")?;
    cls.expect_f32("prepend_cls")?;
    let Ok([b, n, d]) = <[usize; 3]>::try_from(x.shape().dims()) else {
        return Err(TensorError::Shape {
            op: "prepend_cls",
            a: x.shape().to_string(),
            b: cls.shape().to_string(),
            why: "x must be [B, N, D]",
        });
    };
    if cls.numel() != d {
        return Err(TensorError::Shape {
            op: "prepend_cls",
            a: x.shape().to_string(),
            b: cls.shape().to_string(),
            why: "the token must hold D values",
        });
    }
    let total = b * (n + 1) * d;
    let out = forward(tape.gpu(), total, "prepend_cls", |bt, o| {
        launch(bt, x.buffer(), cls.buffer(), o, [b, n, d])
    })?;
    let shape = Shape(vec![b, n + 1, d]);
    Ok(
        tape.record("prepend_cls", out, shape, &[x, cls], move |bt, _, dy| {
            let pool = bt.gpu().pool.clone();
            let dx = pool.storage(4 * (b * n * d).max(1) as u64, "prepend_cls dx")?;
            let dcls = pool.storage(4 * d.max(1) as u64, "prepend_cls dcls")?;
            launch_backward(bt, dy, &dx, &dcls, [b, n, d])?;
            Ok::<_, GpuError>(vec![Some(dx), Some(dcls)])
        }),
    )
}
