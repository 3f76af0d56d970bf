//! Launchers for the training losses: cross-entropy with an ignore index (`shaders/loss.wgsl`,
//! for MLM and VTM) and symmetric InfoNCE with a learnable temperature (`shaders/info_nce.wgsl`
//! and `shaders/info_nce_backward.wgsl`, for VTC). Forward and backward are fused kernels over
//! flat f32 buffers; every reduction runs in a fixed order, so results are deterministic.

use crate::gpu::kernel_params;
use anyhow::{Result, bail};

use super::check::need;
use crate::gpu::{Batch, GpuBuffer, Groups, Kernel};

/// The usual ignore index of MLM labels (positions that are not masked).
pub const IGNORE_INDEX: u32 = u32::MAX;

kernel_params! {
    pub(crate) struct CeParams for ["loss"] {
        n: u32,
        c: u32,
        ignore: u32,
        stage: u32,
    }
}

fn check_ce(n: u32, c: u32) -> Result<()> {
    if n == 0 || c == 0 {
        bail!("cross-entropy needs at least one row and one class, got N={n}, C={c}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------- cross-entropy

/// Record the cross-entropy forward. logits is (N, C); targets is (N,) u32 where `ignore`
/// (or any value >= C) marks a row that does not count; writes `stats` (2N,): per-row loss
/// then per-row logsumexp, and `loss` (2,): [mean over counted rows, number of counted rows].
/// A batch with no counted row has loss 0.
#[allow(clippy::too_many_arguments)]
pub fn cross_entropy_forward(
    batch: &mut Batch,
    logits: &GpuBuffer,
    targets: &GpuBuffer,
    stats: &GpuBuffer,
    loss: &GpuBuffer,
    n: u32,
    c: u32,
    ignore: u32,
) -> Result<()> {
    check_ce(n, c)?;
    let (n64, nc) = (n as u64, n as u64 * c as u64);
    need(
        "cross-entropy",
        &[
            ("logits", logits, nc),
            ("targets", targets, n64),
            ("stats", stats, 2 * n64),
            ("loss", loss, 2),
        ],
    )?;
    let kernel = Kernel::new("loss", "ce_forward");
    for (stage, groups) in [(0, n as u64), (1, 1)] {
        let params = CeParams {
            n,
            c,
            ignore,
            stage,
        };
        batch.dispatch(
            kernel,
            &params,
            &[logits, targets, stats, loss],
            Groups::Linear(groups),
        )?;
    }
    Ok(())
}

/// Record the cross-entropy backward: `dlogits` (N, C) = dloss * (softmax - onehot) / count
/// on counted rows, 0 on ignored ones, from the forward's `stats` and `loss` and the upstream
/// gradient `dloss` (1,).
#[allow(clippy::too_many_arguments)]
pub fn cross_entropy_backward(
    batch: &mut Batch,
    logits: &GpuBuffer,
    targets: &GpuBuffer,
    stats: &GpuBuffer,
    loss: &GpuBuffer,
    dloss: &GpuBuffer,
    dlogits: &GpuBuffer,
    n: u32,
    c: u32,
    ignore: u32,
) -> Result<()> {
    check_ce(n, c)?;
    let (n64, nc) = (n as u64, n as u64 * c as u64);
    need(
        "cross-entropy backward",
        &[
            ("logits", logits, nc),
            ("targets", targets, n64),
            ("stats", stats, 2 * n64),
            ("loss", loss, 2),
            ("dloss", dloss, 1),
            ("dlogits", dlogits, nc),
        ],
    )?;
    let params = CeParams {
        n,
        c,
        ignore,
        stage: 0,
    };
    batch.dispatch(
        Kernel::new("loss", "ce_backward"),
        &params,
        &[logits, targets, stats, loss, dloss, dlogits],
        Groups::Linear((n as u64 * c as u64).div_ceil(64)),
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------- InfoNCE

kernel_params! {
    pub(crate) struct NceParams for ["info_nce", "info_nce_backward"] {
        b: u32,
        stage: u32,
        _pad: [u32; 2],
    }
}

fn nce_params(b: u32, stage: u32) -> Result<NceParams> {
    if b == 0 {
        bail!("InfoNCE needs a batch of at least one pair");
    }
    Ok(NceParams {
        b,
        stage,
        _pad: [0; 2],
    })
}

/// Record the symmetric InfoNCE forward over `sim` (B, B) (row = video, column = text, the
/// matching pair on the diagonal) with logits `exp(log_scale[0]) * sim`: `loss` (1,) is the
/// mean of the video->text and text->video cross-entropies; `stats` (2B,) keeps the row and
/// column logsumexps for the backward.
pub fn info_nce_forward(
    batch: &mut Batch,
    sim: &GpuBuffer,
    log_scale: &GpuBuffer,
    stats: &GpuBuffer,
    loss: &GpuBuffer,
    b: u32,
) -> Result<()> {
    let bb = b as u64 * b as u64;
    need(
        "InfoNCE",
        &[
            ("sim", sim, bb),
            ("log_scale", log_scale, 1),
            ("stats", stats, 2 * b as u64),
            ("loss", loss, 1),
        ],
    )?;
    let kernel = Kernel::new("info_nce", "nce_forward");
    for (stage, groups) in [(0, 2 * b as u64), (1, 1)] {
        batch.dispatch(
            kernel,
            &nce_params(b, stage)?,
            &[sim, log_scale, stats, loss],
            Groups::Linear(groups),
        )?;
    }
    Ok(())
}

/// Record the InfoNCE backward: `dsim` (B, B) and `dlog_scale` (1,), the gradient for the
/// learnable temperature, from the forward's `stats` and the upstream gradient `dloss` (1,).
#[allow(clippy::too_many_arguments)]
pub fn info_nce_backward(
    batch: &mut Batch,
    sim: &GpuBuffer,
    log_scale: &GpuBuffer,
    stats: &GpuBuffer,
    dloss: &GpuBuffer,
    dsim: &GpuBuffer,
    dlog_scale: &GpuBuffer,
    b: u32,
) -> Result<()> {
    let bb = b as u64 * b as u64;
    need(
        "InfoNCE backward",
        &[
            ("sim", sim, bb),
            ("log_scale", log_scale, 1),
            ("stats", stats, 2 * b as u64),
            ("dloss", dloss, 1),
            ("dsim", dsim, bb),
            ("dlog_scale", dlog_scale, 1),
        ],
    )?;
    let kernel = Kernel::new("info_nce_backward", "nce_backward");
    let elements = (b as u64 * b as u64).div_ceil(64);
    for (stage, groups) in [(0, elements), (1, 1)] {
        batch.dispatch(
            kernel,
            &nce_params(b, stage)?,
            &[sim, log_scale, stats, dloss, dsim, dlog_scale],
            Groups::Linear(groups),
        )?;
    }
    Ok(())
}
