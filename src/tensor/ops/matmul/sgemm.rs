//! Launcher for `shaders/matmul_sgemm.wgsl`, the GPU matmul (128x64 tiles, 256 threads, 8x4
//! outputs a thread, double-buffered k-tiles), and for `shaders/matmul_splitk.wgsl`, the
//! fixed-order sum of its split-K partial products.

use super::MatmulDims;
use crate::gpu::{CommandBatch, Gpu, GpuBuffer, GpuError, Groups, Kernel, kernel_params};

kernel_params! {
    /// The uniform of both shaders (members named as in their WGSL `Params`).
    pub(crate) struct Params for ["matmul_sgemm", "matmul_splitk"] {
        m: u32,
        n: u32,
        k: u32,
        batch: u32,
        stride_a: u32,
        stride_b: u32,
        stride_c: u32,
        flags: u32,
        k_chunk: u32,
        splits: u32,
    }
}

/// Output rows and columns of one workgroup's tile, and the k-tile depth.
const BM: u32 = 128;
const BN: u32 = 64;
const BK: u32 = 8;
/// Workgroups a product should launch to fill a large GPU (an H100 has 132 SMs, two
/// 256-thread groups of this kernel fit on each): fewer tiles than this are split along K.
const TARGET_GROUPS: u32 = 256;
/// The shortest K range worth a split of its own (shorter ones spend more on the partial
/// sums than they save).
const MIN_SPLIT_K: u32 = 128;
/// The most splits one product takes.
const MAX_SPLITS: u32 = 16;

/// How many K-splits [`launch`] uses for `d` on `gpu`: 1 when the M x N tiles alone fill the
/// GPU, more (up to 16, each at least 128 deep) for small grids such as the weight gradients
/// (M x N = the weight, K = every row of the batch); bounded by one storage binding for the
/// partial products and by the dispatch limit.
pub fn sgemm_splits(gpu: &Gpu, d: &MatmulDims) -> u32 {
    let nb = d.batch.max(1);
    let tiles = d.m.div_ceil(BM) * d.n.div_ceil(BN) * nb;
    if tiles == 0 || tiles >= TARGET_GROUPS / 2 {
        return 1;
    }
    let out_bytes = 4 * nb as u64 * d.m as u64 * d.n as u64;
    let by_memory = gpu.limits.max_storage_buffer_binding_size / out_bytes.max(1);
    let by_grid = gpu.limits.max_compute_workgroups_per_dimension / nb;
    let want = TARGET_GROUPS
        .div_ceil(tiles)
        .min(d.k / MIN_SPLIT_K)
        .min(MAX_SPLITS)
        .min(by_memory.min(u32::MAX as u64) as u32)
        .min(by_grid)
        .max(1);
    chunks(d.k, want).1
}

/// (K range of one split, splits) for `splits` requested over `k`: every split a whole
/// number of k-tiles and none empty, so there may be fewer than requested.
fn chunks(k: u32, splits: u32) -> (u32, u32) {
    let k_chunk = k.div_ceil(splits).next_multiple_of(BK).max(BK);
    (k_chunk, k.div_ceil(k_chunk).max(1))
}

/// A binding of `buf` rounded up to whole vec4s (the shader reads A and B as `vec4<f32>`;
/// a tail element is read out of the last, partly used vec4, inside the pooled allocation).
fn vec4_binding(buf: &GpuBuffer) -> wgpu::BindingResource<'_> {
    let size = buf.bytes().max(16).next_multiple_of(16).min(buf.capacity());
    wgpu::BindingResource::Buffer(wgpu::BufferBinding {
        buffer: buf.raw(),
        offset: 0,
        size: wgpu::BufferSize::new(size),
    })
}

/// Record `c = op(a) @ op(b) (+ bias) (+ c)` on the SGEMM kernel with `splits` K-splits
/// (1: no split; more: partial products in a scratch buffer, then their fixed-order sum).
/// `flags` carries bias (bit 2) and accumulation (bit 3); the caller has checked the buffer
/// sizes, and `bias` stands in with another buffer when unused.
#[allow(clippy::too_many_arguments)]
pub(super) fn launch(
    batch: &mut CommandBatch,
    d: MatmulDims,
    a: &GpuBuffer,
    b: &GpuBuffer,
    bias: &GpuBuffer,
    c: &GpuBuffer,
    flags: u32,
    splits: u32,
) -> Result<(), GpuError> {
    let nb = d.batch.max(1);
    if splits == 0 || (splits > 1 && d.k == 0) {
        return Err(GpuError::Launch {
            kernel: "matmul_sgemm".into(),
            reason: format!("{splits} K-splits for {d:?}"),
        });
    }
    let (k_chunk, splits) = chunks(d.k, splits);
    let params = Params {
        m: d.m,
        n: d.n,
        k: d.k,
        batch: nb,
        stride_a: if d.shared_a { 0 } else { d.m * d.k },
        stride_b: if d.shared_b { 0 } else { d.k * d.n },
        stride_c: d.m * d.n,
        flags,
        k_chunk,
        splits,
    };
    // Whole-vec4 loads need every stored row (and so every batch stride) a multiple of 4.
    let vec_a = if d.trans_a { d.m } else { d.k }.is_multiple_of(4);
    let vec_b = if d.trans_b { d.k } else { d.n }.is_multiple_of(4);
    let kernel = Kernel::new("matmul_sgemm", "matmul_sgemm")
        .with("trans_a", d.trans_a as u32)
        .with("trans_b", d.trans_b as u32)
        .with("vec_a", vec_a as u32)
        .with("vec_b", vec_b as u32)
        .unchecked();
    let part = if splits > 1 {
        let bytes = 4 * splits as u64 * nb as u64 * d.m as u64 * d.n as u64;
        Some(batch.gpu().pool.storage(bytes, "matmul split-K partials")?)
    } else {
        None
    };
    let out = part.as_ref().unwrap_or(c);
    for buf in [a, b, bias, out] {
        batch.hold(buf);
    }
    batch.dispatch_resources(
        // Loads are bounded by M, N and the split's K range, with whole-vec4 loads only where
        // the rows are multiples of 4 (a vec4 is then all inside or all outside); stores are
        // bounded by M and N inside the output the launcher checked or allocated.
        kernel,
        &params,
        &[
            vec4_binding(a),
            vec4_binding(b),
            bias.binding(),
            out.binding(),
        ],
        Groups::Grid([d.n.div_ceil(BN), d.m.div_ceil(BM), nb * splits]),
    )?;
    if let Some(part) = part {
        let total = nb as u64 * d.m as u64 * d.n as u64;
        batch.dispatch(
            // Reads of part are below splits * total (its size), writes below total.
            Kernel::new("matmul_splitk", "matmul_splitk").unchecked(),
            &params,
            &[&part, bias, c],
            Groups::Linear(total.div_ceil(64)),
        )?;
        batch.retain(part);
    }
    Ok(())
}
