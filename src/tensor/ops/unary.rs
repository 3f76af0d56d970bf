//! Launchers for `shaders/unary.wgsl` (scale, GELU, tanh, dropout, accumulate) and the tape
//! ops built on them.

use crate::gpu::kernel_params;

use super::elementwise::{self, Binary};
use super::{forward, one_grad, storage};
use crate::gpu::{CommandBatch, GpuBuffer, GpuError, Kernel};
use crate::tensor::{Result, Tape, Tensor};

kernel_params! {
    pub(crate) struct Params for ["unary"] {
        n: u32,
        alpha: f32,
        beta: f32,
        seed: u32,
    }
}

/// Record unary `entry` over the first `n` elements: x is read, out written; x, out are (n,).
#[allow(clippy::too_many_arguments)]
pub fn launch(
    batch: &mut CommandBatch,
    entry: &'static str,
    x: &GpuBuffer,
    out: &GpuBuffer,
    n: usize,
    alpha: f32,
    beta: f32,
    seed: u32,
) -> std::result::Result<(), GpuError> {
    let params = Params {
        n: n as u32,
        alpha,
        beta,
        seed,
    };
    super::elementwise::dispatch_flat4(
        batch,
        Kernel::new("unary", entry),
        &params,
        &[(x, n), (out, n)],
        &[],
        n,
    )
}

/// `alpha * x`.
pub fn scale(tape: &Tape, x: &Tensor, alpha: f32) -> Result<Tensor> {
    x.expect_f32("scale")?;
    let n = x.numel();
    let out = forward(tape.gpu(), n, "scale", |b, o| {
        launch(b, "scale", x.buffer(), o, n, alpha, 0.0, 0)
    })?;
    let rule = one_grad(n, "scale grad", move |b, _, dy, dx| {
        launch(b, "scale", dy, dx, n, alpha, 0.0, 0)
    });
    Ok(tape.record("scale", out, x.shape().clone(), &[x], rule))
}

/// GELU in the erf form, `x * Phi(x)`, as BERT uses.
pub fn gelu(tape: &Tape, x: &Tensor) -> Result<Tensor> {
    x.expect_f32("gelu")?;
    let n = x.numel();
    let out = forward(tape.gpu(), n, "gelu", |b, o| {
        launch(b, "gelu", x.buffer(), o, n, 0.0, 0.0, 0)
    })?;
    let rule = one_grad(n, "gelu grad", move |b, ins, dy, dx| {
        elementwise::launch(b, "gelu_backward", ins[0].buffer(), dy, dx, n, 0.0, 0.0, 1)
    });
    Ok(tape.record("gelu", out, x.shape().clone(), &[x], rule))
}

/// Hyperbolic tangent.
pub fn tanh(tape: &Tape, x: &Tensor) -> Result<Tensor> {
    x.expect_f32("tanh")?;
    let n = x.numel();
    let out = forward(tape.gpu(), n, "tanh", |b, o| {
        launch(b, "tanh_forward", x.buffer(), o, n, 0.0, 0.0, 0)
    })?;
    // The backward rule needs tanh's output; it shares the output's buffer.
    let saved = tape.gpu().pool.storage(4 * n.max(1) as u64, "tanh saved")?;
    let mut batch = CommandBatch::new(tape.gpu());
    batch.copy(&out, &saved, 4 * n as u64);
    batch.submit();
    let rule = one_grad(n, "tanh grad", move |b, _, dy, dx| {
        elementwise::launch(b, "tanh_backward", &saved, dy, dx, n, 0.0, 0.0, 1)
    });
    Ok(tape.record("tanh", out, x.shape().clone(), &[x], rule))
}

/// Inverted dropout with drop probability `p`: the mask is a hash of (`seed`, element index),
/// so the backward pass regenerates it instead of storing it. `p = 0` is the identity.
pub fn dropout(tape: &Tape, x: &Tensor, p: f32, seed: u32) -> Result<Tensor> {
    x.expect_f32("dropout")?;
    let n = x.numel();
    let keep = 1.0 / (1.0 - p);
    let out = forward(tape.gpu(), n, "dropout", |b, o| {
        launch(b, "dropout", x.buffer(), o, n, p, keep, seed)
    })?;
    let rule = one_grad(n, "dropout grad", move |b, _, dy, dx| {
        launch(b, "dropout", dy, dx, n, p, keep, seed)
    });
    Ok(tape.record("dropout", out, x.shape().clone(), &[x], rule))
}

/// `x * y` elementwise (same shapes).
pub fn mul(tape: &Tape, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    super::same_shape("mul", x, y)?;
    let n = x.numel();
    let out = forward(tape.gpu(), n, "mul", |b, o| {
        elementwise::binary(b, Binary::Mul, x.buffer(), y.buffer(), o, n as u32)
    })?;
    Ok(
        tape.record("mul", out, x.shape().clone(), &[x, y], move |b, ins, dy| {
            let dx = storage(b.gpu(), n, "mul grad")?;
            let dyy = storage(b.gpu(), n, "mul grad")?;
            elementwise::binary(b, Binary::Mul, dy, ins[1].buffer(), &dx, n as u32)?;
            elementwise::binary(b, Binary::Mul, dy, ins[0].buffer(), &dyy, n as u32)?;
            Ok(vec![Some(dx), Some(dyy)])
        }),
    )
}
