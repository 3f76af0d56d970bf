//! The matmul kernels kept for comparison (never picked by [`MatmulKernel::pick`]): the 64x64
//! tiled kernel the SGEMM one replaced and the naive baseline, both in
//! `shaders/dev/matmul.wgsl`, with the parameters of every matmul kernel.

use crate::gpu::{CommandBatch, GpuBuffer, GpuError, Groups, Kernel};
use crate::tensor::ops::matmul::{MatmulDims, MatmulKernel, Params};

/// Record [`MatmulKernel::Tiled`] or [`MatmulKernel::Naive`] over `[a, b, bias, c]` (the
/// matmul launcher has checked the buffers and built `params`).
pub(crate) fn launch(
    batch: &mut CommandBatch,
    kernel: MatmulKernel,
    d: MatmulDims,
    buffers: [&GpuBuffer; 4],
    params: Params,
) -> Result<(), GpuError> {
    let (entry, tile) = match kernel {
        MatmulKernel::Tiled => ("matmul", 64),
        MatmulKernel::Naive => ("matmul_naive", 8),
        other => {
            return Err(GpuError::Launch {
                kernel: "matmul".into(),
                reason: format!("{other:?} is not a comparison kernel"),
            });
        }
    };
    batch.dispatch(
        // Every access in matmul.wgsl is guarded against M, N, K (tail tiles load zeros) and
        // the buffer sizes were checked by the launcher.
        Kernel::new("matmul", entry).unchecked(),
        &params,
        &buffers,
        Groups::Grid([d.n.div_ceil(tile), d.m.div_ceil(tile), d.batch.max(1)]),
    )
}
