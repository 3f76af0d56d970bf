//! Launcher for `shaders/quick_gelu.wgsl` and the tape op of quick GELU, `x · σ(1.702 x)`:
//! the MLP activation of OpenAI CLIP's towers (Hugging Face's `hidden_act = "quick_gelu"`).

use crate::gpu::kernel_params;

use super::{forward, one_grad};
use crate::gpu::{CommandBatch, GpuBuffer, GpuError, Kernel};
use crate::tensor::{Result, Tape, Tensor};

/// CLIP's sigmoid scale: quick GELU is `x · σ(QUICK_GELU_ALPHA · x)`.
pub const QUICK_GELU_ALPHA: f32 = 1.702;

kernel_params! {
    pub(crate) struct Params for ["quick_gelu"] {
        n: u32,
        alpha: f32,
        backward: u32,
        _pad0: u32,
    }
}

/// Record quick GELU over `n` elements: out = x·σ(αx) (dy unread), or with `backward`
/// out = dy·d/dx[x·σ(αx)]; x, dy and out are (n,).
pub fn launch(
    batch: &mut CommandBatch,
    backward: bool,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    out: &GpuBuffer,
    n: usize,
    alpha: f32,
) -> std::result::Result<(), GpuError> {
    let params = Params {
        n: n as u32,
        alpha,
        backward: u32::from(backward),
        _pad0: 0,
    };
    super::elementwise::dispatch_flat4(
        batch,
        Kernel::new("quick_gelu", "quick_gelu"),
        &params,
        &[(x, n), (dy, n), (out, n)],
        &[],
        n,
    )
}

/// Quick GELU, `x · σ(1.702 x)`, as CLIP uses.
pub fn quick_gelu(tape: &Tape, x: &Tensor) -> Result<Tensor> {
    x.expect_f32("quick_gelu")?;
    let n = x.numel();
    let a = QUICK_GELU_ALPHA;
    let out = forward(tape.gpu(), n, "quick_gelu", |b, o| {
        launch(b, false, x.buffer(), x.buffer(), o, n, a)
    })?;
    let rule = one_grad(n, "quick_gelu grad", move |b, ins, dy, dx| {
        launch(b, true, ins[0].buffer(), dy, dx, n, a)
    });
    Ok(tape.record("quick_gelu", out, x.shape().clone(), &[x], rule))
}
