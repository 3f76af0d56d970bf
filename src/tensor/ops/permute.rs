//! Launcher for `shaders/permute.wgsl` (swap axes 1 and 2 of a 4-D tensor) and its tape op:
//! how attention heads are split from and merged back into the hidden dimension.

use crate::gpu::kernel_params;

use crate::gpu::{CommandBatch, GpuBuffer, GpuError, Groups, Kernel};
use crate::tensor::{Result, Shape, Tape, Tensor, TensorError};

kernel_params! {
    pub(crate) struct Params for ["permute"] {
        a: u32,
        b: u32,
        c: u32,
        d: u32,
    }
}

/// Record y = x with axes 1 and 2 swapped; x is (a, b, c, d), y is (a, c, b, d).
pub fn launch(
    batch: &mut CommandBatch,
    x: &GpuBuffer,
    y: &GpuBuffer,
    dims: [usize; 4],
) -> std::result::Result<(), GpuError> {
    let [a, b, c, d] = dims.map(|v| v as u32);
    let n = dims.iter().product::<usize>() as u64;
    batch.dispatch(
        Kernel::new("permute", "swap12"),
        &Params { a, b, c, d },
        &[x, y],
        Groups::Linear(n.div_ceil(64)),
    )
}

/// `x` (A, B, C, D) with axes 1 and 2 swapped: (A, C, B, D). The gradient swaps them back.
pub fn swap_axes12(tape: &Tape, x: &Tensor) -> Result<Tensor> {
    x.expect_f32("swap_axes12")?;
    let Ok(dims) = <[usize; 4]>::try_from(x.shape().dims()) else {
        return Err(TensorError::Shape {
            op: "swap_axes12",
            a: x.shape().to_string(),
            b: "(A, B, C, D)".into(),
            why: "the input must be 4-D",
        });
    };
    let [a, b, c, d] = dims;
    let n = x.numel();
    let out = super::forward(tape.gpu(), n, "swap_axes12 out", |bt, y| {
        launch(bt, x.buffer(), y, dims)
    })?;
    let rule = super::one_grad(n, "swap_axes12 grad", move |bt, _, dy, dx| {
        launch(bt, dy, dx, [a, c, b, d])
    });
    Ok(tape.record("swap_axes12", out, Shape(vec![a, c, b, d]), &[x], rule))
}
