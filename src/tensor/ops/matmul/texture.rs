//! Launcher for `shaders/matmul_tex.wgsl`, the texture matmul for CPU drivers, and the
//! operand textures it and the subgroup kernel read.

use crate::gpu::{CommandBatch, GpuBuffer, GpuError, Groups, Kernel};

use super::{MatmulDims, MatmulKernel, Params};

/// An rgba32uint texture of `width` x `height` texels holding `buf`'s rows (4 floats a texel).
fn texture_of(
    batch: &mut CommandBatch,
    buf: &GpuBuffer,
    width: u32,
    height: u32,
) -> wgpu::TextureView {
    operand_texture(
        batch,
        buf,
        [width, height, 1],
        wgpu::TextureViewDimension::D2,
    )
}

/// An rgba32uint texture (or array, `size[2]` layers) filled from `buf` (4 floats a texel, rows
/// of `16 * size[0]` bytes), viewed as `view`; `buf` is held until the batch is submitted.
pub(super) fn operand_texture(
    batch: &mut CommandBatch,
    buf: &GpuBuffer,
    size: [u32; 3],
    view: wgpu::TextureViewDimension,
) -> wgpu::TextureView {
    let size = wgpu::Extent3d {
        width: size[0],
        height: size[1],
        depth_or_array_layers: size[2],
    };
    let tex = batch.gpu().device.create_texture(&wgpu::TextureDescriptor {
        label: Some("matmul operand"),
        size,
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba32Uint,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    batch.hold(buf);
    batch.note_copy();
    batch.encoder().copy_buffer_to_texture(
        wgpu::TexelCopyBufferInfo {
            buffer: buf.raw(),
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(16 * size.width),
                rows_per_image: Some(size.height),
            },
        },
        wgpu::TexelCopyTextureInfo {
            texture: &tex,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        size,
    );
    tex.create_view(&wgpu::TextureViewDescriptor {
        dimension: Some(view),
        ..Default::default()
    })
}

/// Record the texture variant: copy A and B into textures, then run `matmul_tex`.
pub(super) fn matmul_texture(
    batch: &mut CommandBatch,
    d: MatmulDims,
    a: &GpuBuffer,
    b: &GpuBuffer,
    bias: &GpuBuffer,
    c: &GpuBuffer,
    flags: u32,
) -> std::result::Result<(), GpuError> {
    if !MatmulKernel::texture_fits(batch.gpu(), &d) {
        return Err(GpuError::Launch {
            kernel: "matmul_tex".into(),
            reason: format!("needs K % 64 = 0, N % 64 = 0, one product, no transposes, got {d:?}"),
        });
    }
    let av = texture_of(batch, a, d.k / 4, d.m);
    let bv = texture_of(batch, b, d.n / 4, d.k);
    let params = Params {
        m: d.m,
        n: d.n,
        k: d.k,
        batch: 1,
        stride_a: 0,
        stride_b: 0,
        stride_c: 0,
        flags,
    };
    batch.hold(bias);
    batch.hold(c);
    super::trace_shape(batch, &d);
    batch.dispatch_resources(
        // Texture fetches are bounded by the clamped coordinates; stores are guarded.
        Kernel::new("matmul_tex", "matmul_tex").unchecked(),
        &params,
        &[
            wgpu::BindingResource::TextureView(&av),
            wgpu::BindingResource::TextureView(&bv),
            bias.binding(),
            c.binding(),
        ],
        Groups::Grid([d.n.div_ceil(256), d.m.div_ceil(8), 1]),
    )
}
