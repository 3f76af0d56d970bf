//! Argument checks shared by the raw-buffer launchers: a wrong size is a one-line error
//! before anything is recorded, never a silent clamped read on the GPU.

use anyhow::{Result, bail};

use crate::gpu::GpuBuffer;

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
