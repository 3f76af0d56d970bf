//! Argument checks shared by the raw-buffer launchers: a wrong size is a one-line error
//! before anything is recorded, never a silent clamped read on the GPU.

use anyhow::{Result, bail};

use crate::gpu::{Gpu, GpuBuffer};

/// Fail when any `(name, buffer, f32 or u32 elements)` is smaller than the op needs.
pub fn need(op: &str, buffers: &[(&str, &GpuBuffer, u64)]) -> Result<()> {
    for &(name, buf, elems) in buffers {
        if buf.bytes() < 4 * elems {
            bail!(
                "{op}: {name} holds {} values but the shape needs {elems}",
                buf.bytes() / 4
            );
        }
    }
    Ok(())
}

/// Fail when a kernel binds more storage buffers than this adapter allows per shader stage
/// (WebGPU's default is 8; desktop Vulkan, Metal and DX12 drivers allow far more).
pub fn storage_buffers(gpu: &Gpu, op: &str, count: u32) -> Result<()> {
    let have = gpu.limits.max_storage_buffers_per_shader_stage;
    if have < count {
        bail!("{op} needs {count} storage buffers per shader stage; this adapter allows {have}");
    }
    Ok(())
}
