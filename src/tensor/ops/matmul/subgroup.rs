//! Launcher for `shaders/matmul_subgroup.wgsl`, the CPU-driver matmul: operands are packed
//! where needed (transposes applied, K and N zero-padded to 64) by `shaders/matmul_pack.wgsl`,
//! copied into texture arrays, then multiplied with B shared across each subgroup; and for
//! `shaders/matmul_subgroup_buf.wgsl`, the same multiply reading the operands from buffers.

use crate::gpu::kernel_params;

use super::{MatmulDims, Params};
use crate::gpu::{CommandBatch, GpuBuffer, GpuError, Groups, Kernel};

kernel_params! {
    pub(crate) struct PackParams for ["matmul_pack"] {
        rows: u32,
        cols: u32,
        prows: u32,
        pcols: u32,
        stride: u32,
        trans: u32,
        _pad: [u32; 2],
    }
}

/// Record `out[b] = op(x[b])` padded to (prows, pcols) for every batch element.
#[allow(clippy::too_many_arguments)]
fn pack(
    batch: &mut CommandBatch,
    x: &GpuBuffer,
    rows: u32,
    cols: u32,
    prows: u32,
    pcols: u32,
    stride: u32,
    trans: bool,
    layers: u32,
) -> Result<GpuBuffer, GpuError> {
    let bytes = 4 * layers as u64 * prows as u64 * pcols as u64;
    let out = batch.gpu().pool.storage(bytes, "matmul packed operand")?;
    let params = PackParams {
        rows,
        cols,
        prows,
        pcols,
        stride,
        trans: trans as u32,
        _pad: [0; 2],
    };
    batch.dispatch(
        // Reads are guarded by rows and cols, whose buffer sizes the matmul launcher checked;
        // writes stay inside the (batch, prows, pcols) output allocated here.
        Kernel::new("matmul_pack", "matmul_pack").unchecked(),
        &params,
        &[x, &out],
        Groups::Grid([pcols.div_ceil(32), prows.div_ceil(8), layers]),
    )?;
    Ok(out)
}

/// An rgba32uint texture array of `width` x `height` texels and `layers` layers holding
/// `buf` (4 floats a texel, rows 256-byte aligned by the packing).
fn texture_array_of(
    batch: &mut CommandBatch,
    buf: &GpuBuffer,
    width: u32,
    height: u32,
    layers: u32,
) -> wgpu::TextureView {
    super::texture::operand_texture(
        batch,
        buf,
        [width, height, layers],
        wgpu::TextureViewDimension::D2Array,
    )
}

/// Record the subgroup variant: pack A and B, copy them into textures, run `matmul_subgroup`.
/// The caller has checked the buffer sizes; `params` carries M, N, K and the flags.
pub(super) fn launch(
    batch: &mut CommandBatch,
    d: MatmulDims,
    a: &GpuBuffer,
    b: &GpuBuffer,
    bias: &GpuBuffer,
    c: &GpuBuffer,
    params: Params,
) -> Result<(), GpuError> {
    if !super::MatmulKernel::subgroup_fits(batch.gpu(), &d) {
        return Err(GpuError::Launch {
            kernel: "matmul_subgroup".into(),
            reason: format!(
                "needs subgroups of at least 8 and operands within the texture limits, got {d:?}"
            ),
        });
    }
    let (kp, np, nb) = (
        d.k.next_multiple_of(64),
        d.n.next_multiple_of(64),
        d.batch.max(1),
    );
    let stride = |shared: bool, size: u32| if shared { 0 } else { size };
    // An operand already laid out as its texture wants (not transposed, rows a multiple of
    // 64 floats, one matrix per layer) is copied as it is.
    let direct_a = !d.trans_a && d.k == kp && (nb == 1 || !d.shared_a);
    let direct_b = !d.trans_b && d.n == np && d.k == kp && (nb == 1 || !d.shared_b);
    let pa = if direct_a {
        None
    } else {
        Some(pack(
            batch,
            a,
            d.m,
            d.k,
            d.m,
            kp,
            stride(d.shared_a, d.m * d.k),
            d.trans_a,
            nb,
        )?)
    };
    let pb = if direct_b {
        None
    } else {
        Some(pack(
            batch,
            b,
            d.k,
            d.n,
            kp,
            np,
            stride(d.shared_b, d.k * d.n),
            d.trans_b,
            nb,
        )?)
    };
    let av = texture_array_of(batch, pa.as_ref().unwrap_or(a), kp / 4, d.m, nb);
    let bv = texture_array_of(batch, pb.as_ref().unwrap_or(b), np / 4, kp, nb);
    // The packed buffers go back to the pool only after the batch has run.
    for buf in pa.into_iter().chain(pb) {
        batch.retain(buf);
    }
    batch.hold(bias);
    batch.hold(c);
    // N a multiple of 4: the vec4 epilogue (same sums, a quarter of the accesses). Its bias
    // binding is read as vec4s, so a stand-in (no bias) must hold at least one.
    let entry = if d.n.is_multiple_of(4) && bias.bytes() >= 16 {
        "matmul_subgroup_v4"
    } else {
        "matmul_subgroup"
    };
    super::trace_shape(batch, &d);
    batch.dispatch_resources(
        // Texel fetches stay inside the padded textures (rows clamped to M - 1, columns and
        // k within the padding); stores are guarded by M and N.
        Kernel::new("matmul_subgroup", entry).unchecked(),
        &params,
        &[
            wgpu::BindingResource::TextureView(&av),
            wgpu::BindingResource::TextureView(&bv),
            bias.binding(),
            c.binding(),
        ],
        Groups::Grid([d.n.div_ceil(32), d.m.div_ceil(32), nb]),
    )
}

/// Record the buffer-reading subgroup variant (`matmul_subgroup_buf`): no packing, no
/// textures. The caller has checked the buffer sizes; `params` carries M, N, K and the flags.
pub(super) fn launch_buffers(
    batch: &mut CommandBatch,
    d: MatmulDims,
    a: &GpuBuffer,
    b: &GpuBuffer,
    bias: &GpuBuffer,
    c: &GpuBuffer,
    params: Params,
) -> Result<(), GpuError> {
    // The bias binding is read as vec4s: a stand-in (no bias) must hold at least one.
    if !super::MatmulKernel::buffers_fit(batch.gpu(), &d) || bias.bytes() < 16 {
        return Err(GpuError::Launch {
            kernel: "matmul_subgroup_buf".into(),
            reason: format!(
                "needs subgroups of at least 8, N % 4 = 0, M % 4 = 0 when A is transposed and \
                 K % 4 = 0 unless only A is, got {d:?}"
            ),
        });
    }
    batch.dispatch(
        // Every load is clamped inside (M, K) and (K, N) (the sizes the launcher checked),
        // stores are guarded by M and N.
        Kernel::new("matmul_subgroup_buf", "matmul_subgroup_buf")
            .with("trans_a", d.trans_a as u32)
            .with("trans_b", d.trans_b as u32)
            .unchecked(),
        &params,
        &[a, b, bias, c],
        Groups::Grid([d.n.div_ceil(32), d.m.div_ceil(32), d.batch.max(1)]),
    )
}
