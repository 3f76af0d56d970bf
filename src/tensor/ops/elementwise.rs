//! Launchers for `shaders/elementwise.wgsl` over flat f32 buffers.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, GpuBuffer, GpuError, Groups, Kernel};

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

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n: u32,
    alpha: f32,
    beta: f32,
    _pad: u32,
}

/// Record `out = op(x, y)` over the first `n` elements; x, y, out are (n,).
pub fn binary(
    batch: &mut Batch,
    op: Binary,
    x: &GpuBuffer,
    y: &GpuBuffer,
    out: &GpuBuffer,
    n: u32,
) -> Result<(), GpuError> {
    let (entry, alpha, beta) = match op {
        Binary::Add => ("add", 1.0, 1.0),
        Binary::Mul => ("mul", 0.0, 0.0),
        Binary::Axpby(a, b) => ("axpby", a, b),
    };
    let params = Params {
        n,
        alpha,
        beta,
        _pad: 0,
    };
    batch.dispatch(
        Kernel::new("elementwise", entry),
        &params,
        &[x, y, out],
        Groups::Linear((n as u64).div_ceil(64)),
    )
}
