//! Launchers for `shaders/prepend.wgsl` and `shaders/prepend_backward.wgsl` and the tape op:
//! a learned row (the video [CLS] token) put in front of every sequence.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, GpuBuffer, GpuError, Groups, Kernel};
use crate::tensor::{Result, Shape, Tape, Tensor, TensorError};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    b: u32,
    n: u32,
    h: u32,
    _pad: u32,
}

/// Record out (B, N + 1, H) = [row; x[b]] for each b; row is (H,), x is (B, N, H).
pub fn launch(
    batch: &mut Batch,
    row: &GpuBuffer,
    x: &GpuBuffer,
    out: &GpuBuffer,
    [b, n, h]: [usize; 3],
) -> std::result::Result<(), GpuError> {
    let p = Params {
        b: b as u32,
        n: n as u32,
        h: h as u32,
        _pad: 0,
    };
    let count = (b * (n + 1) * h) as u64;
    batch.dispatch(
        Kernel::new("prepend", "forward"),
        &p,
        &[row, x, out],
        Groups::Linear(count.div_ceil(64)),
    )
}

/// Record dx (B, N, H) and drow (H,) from dout (B, N + 1, H).
pub fn launch_backward(
    batch: &mut Batch,
    dout: &GpuBuffer,
    dx: &GpuBuffer,
    drow: &GpuBuffer,
    [b, n, h]: [usize; 3],
) -> std::result::Result<(), GpuError> {
    let p = Params {
        b: b as u32,
        n: n as u32,
        h: h as u32,
        _pad: 0,
    };
    let count = (b * n * h).max(h) as u64;
    batch.dispatch(
        Kernel::new("prepend_backward", "backward"),
        &p,
        &[dout, dx, drow],
        Groups::Linear(count.div_ceil(64)),
    )
}

/// `row` (H,) in front of every sequence of `x` (B, N, H): (B, N + 1, H).
pub fn prepend(tape: &Tape, row: &Tensor, x: &Tensor) -> Result<Tensor> {
    row.expect_f32("prepend")?;
    x.expect_f32("prepend")?;
    let xd = x.shape().dims();
    if xd.len() != 3 || row.shape().dims() != [xd[2]] || xd[1] == 0 {
        return Err(TensorError::Shape {
            op: "prepend",
            a: row.shape().to_string(),
            b: x.shape().to_string(),
            why: "the row must be (H,) for x (B, N, H) with N >= 1",
        });
    }
    let dims = [xd[0], xd[1], xd[2]];
    let [b, n, h] = dims;
    let out = super::forward(tape.gpu(), b * (n + 1) * h, "prepend", |bt, o| {
        launch(bt, row.buffer(), x.buffer(), o, dims)
    })?;
    Ok(tape.record(
        "prepend",
        out,
        Shape(vec![b, n + 1, h]),
        &[row, x],
        move |bt, _, dy| {
            let pool = bt.gpu().pool.clone();
            let dx = pool.storage(4 * (b * n * h).max(1) as u64, "prepend dx")?;
            let drow = pool.storage(4 * h as u64, "prepend drow")?;
            launch_backward(bt, dy, &dx, &drow, dims)?;
            Ok(vec![Some(drow), Some(dx)])
        },
    ))
}
