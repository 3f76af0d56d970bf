//! The training losses, one file each: cross-entropy with an ignore index (MLM, VTM) and
//! symmetric InfoNCE (VTC). Each file holds the launchers, the tape op and its backward rule.

use crate::gpu::{CommandBatch, GpuBuffer, GpuError};

use super::storage;

pub mod cross_entropy;
pub mod infonce;

pub use cross_entropy::{cross_entropy, cross_entropy_backward, cross_entropy_forward};
pub use infonce::{info_nce, info_nce_backward, info_nce_forward};

/// The usual ignore index of MLM labels (positions that are not masked).
pub const IGNORE_INDEX: u32 = u32::MAX;

/// A buffer holding exactly the first `n` floats of `src`: the user-visible scalar of a loss
/// whose launcher writes extra statistics beside it.
fn head(
    batch: &mut CommandBatch,
    src: &GpuBuffer,
    n: usize,
) -> std::result::Result<GpuBuffer, GpuError> {
    let dst = storage(batch.gpu(), n, "loss value")?;
    batch.copy(src, &dst, 4 * n as u64);
    Ok(dst)
}
