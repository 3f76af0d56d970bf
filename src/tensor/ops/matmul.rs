//! Launchers for `shaders/matmul.wgsl`: batched matmul with transposed operands, fused bias
//! and accumulation, and the naive kernel the benchmark compares it with.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, GpuBuffer, GpuError, Groups, Kernel};

/// The shape and layout of one batched matmul `C[b] = op(A[b]) @ op(B[b])`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatmulDims {
    /// Rows of op(A) and C.
    pub m: u32,
    /// Columns of op(B) and C.
    pub n: u32,
    /// Contracted dimension.
    pub k: u32,
    /// Number of independent products.
    pub batch: u32,
    /// A is stored (K, M) instead of (M, K).
    pub trans_a: bool,
    /// B is stored (N, K) instead of (K, N).
    pub trans_b: bool,
    /// A is one matrix shared by every batch element (batch stride 0).
    pub shared_a: bool,
    /// B is one matrix shared by every batch element (batch stride 0).
    pub shared_b: bool,
}

impl MatmulDims {
    /// A plain (M, K) @ (K, N) product.
    pub fn new(m: usize, n: usize, k: usize) -> Self {
        Self {
            m: m as u32,
            n: n as u32,
            k: k as u32,
            batch: 1,
            trans_a: false,
            trans_b: false,
            shared_a: false,
            shared_b: false,
        }
    }

    /// Floating-point operations (a multiply-add counts two).
    pub fn flops(&self) -> f64 {
        2.0 * self.m as f64 * self.n as f64 * self.k as f64 * self.batch as f64
    }
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    batch: u32,
    stride_a: u32,
    stride_b: u32,
    stride_c: u32,
    flags: u32,
}

/// Which kernel runs the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatmulKernel {
    /// 64x64 workgroup tiles with 8x8 register blocks (the one to use).
    Tiled,
    /// One thread per output, no reuse: the benchmark's baseline.
    Naive,
}

/// Record `c = op(a) @ op(b) (+ bias) (+ c if accumulate)`; c is (batch, M, N).
/// Without a bias, pass any buffer as `bias` placeholder by giving `None`.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    batch: &mut Batch,
    kernel: MatmulKernel,
    d: MatmulDims,
    a: &GpuBuffer,
    b: &GpuBuffer,
    bias: Option<&GpuBuffer>,
    c: &GpuBuffer,
    accumulate: bool,
) -> Result<(), GpuError> {
    let flags = d.trans_a as u32
        | (d.trans_b as u32) << 1
        | (bias.is_some() as u32) << 2
        | (accumulate as u32) << 3;
    let params = Params {
        m: d.m,
        n: d.n,
        k: d.k,
        batch: d.batch,
        stride_a: if d.shared_a { 0 } else { d.m * d.k },
        stride_b: if d.shared_b { 0 } else { d.k * d.n },
        stride_c: d.m * d.n,
        flags,
    };
    // The bias binding must exist even when unused; `a` stands in (never read then).
    let bias = bias.unwrap_or(a);
    let (entry, tile) = match kernel {
        MatmulKernel::Tiled => ("matmul", 64),
        MatmulKernel::Naive => ("matmul_naive", 8),
    };
    batch.dispatch(
        // Every access in matmul.wgsl is guarded against M, N, K (tail tiles load zeros).
        Kernel::new("matmul", entry).unchecked(),
        &params,
        &[a, b, bias, c],
        Groups::Grid([d.n.div_ceil(tile), d.m.div_ceil(tile), d.batch.max(1)]),
    )
}
