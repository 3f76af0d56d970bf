//! Symmetric InfoNCE with a learnable temperature (`shaders/info_nce.wgsl` and
//! `shaders/info_nce_backward.wgsl`, for VTC): the launchers of its fused forward and backward
//! kernels over flat f32 buffers, and the tape op [`info_nce`] whose rule runs the backward.
//! Reductions run in a fixed order, so results are deterministic.

use crate::gpu::kernel_params;
use anyhow::{Result, bail};

use super::super::check::need;
use super::super::{launch_err, shape_err, storage};
use crate::gpu::{CommandBatch, GpuBuffer, Groups, Kernel};
use crate::tensor::{Shape, Tape, Tensor};

kernel_params! {
    pub(crate) struct NceParams for ["info_nce", "info_nce_backward"] {
        b: u32,
        stage: u32,
        _pad: [u32; 2],
    }
}

/// Fail unless the buffers both kernels read (sim (B, B), log_scale (1,), stats (2B,)) then
/// each of `rest` hold what the op needs.
fn need_nce(
    what: &str,
    [sim, log_scale, stats]: [&GpuBuffer; 3],
    b: u32,
    rest: &[(&str, &GpuBuffer, u64)],
) -> Result<()> {
    let bb = b as u64 * b as u64;
    need(
        what,
        &[
            ("sim", sim, bb),
            ("log_scale", log_scale, 1),
            ("stats", stats, 2 * b as u64),
        ],
    )?;
    need(what, rest)
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
    batch: &mut CommandBatch,
    sim: &GpuBuffer,
    log_scale: &GpuBuffer,
    stats: &GpuBuffer,
    loss: &GpuBuffer,
    b: u32,
) -> Result<()> {
    need_nce("InfoNCE", [sim, log_scale, stats], b, &[("loss", loss, 1)])?;
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
    batch: &mut CommandBatch,
    sim: &GpuBuffer,
    log_scale: &GpuBuffer,
    stats: &GpuBuffer,
    dloss: &GpuBuffer,
    dsim: &GpuBuffer,
    dlog_scale: &GpuBuffer,
    b: u32,
) -> Result<()> {
    let bb = b as u64 * b as u64;
    need_nce(
        "InfoNCE backward",
        [sim, log_scale, stats],
        b,
        &[
            ("dloss", dloss, 1),
            ("dsim", dsim, bb),
            ("dlog_scale", dlog_scale, 1),
        ],
    )?;
    let kernel = Kernel::new("info_nce_backward", "nce_backward");
    let elements = bb.div_ceil(64);
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

// ------------------------------------------------------------------------------- tape op

/// Symmetric InfoNCE (video-text contrastive loss) over `sim` (B, B), row = video, column =
/// text, matching pairs on the diagonal, with logits `exp(log_scale) * sim`; a scalar (1,).
/// Both `sim` and the learnable temperature `log_scale` (1,) receive gradients.
pub fn info_nce(tape: &Tape, sim: &Tensor, log_scale: &Tensor) -> crate::tensor::Result<Tensor> {
    sim.expect_f32("InfoNCE")?;
    log_scale.expect_f32("InfoNCE")?;
    let d = sim.shape().dims();
    if d.len() != 2 || d[0] != d[1] || log_scale.numel() != 1 {
        return Err(shape_err(
            "InfoNCE",
            sim,
            log_scale,
            "sim must be square (B, B) and log_scale one value",
        ));
    }
    let b = d[0];
    let gpu = tape.gpu().clone();
    let stats = storage(&gpu, 2 * b, "InfoNCE stats")?;
    let loss = storage(&gpu, 1, "InfoNCE loss")?;
    let mut batch = CommandBatch::new(&gpu);
    info_nce_forward(
        &mut batch,
        sim.buffer(),
        log_scale.buffer(),
        &stats,
        &loss,
        b as u32,
    )
    .map_err(launch_err)?;
    batch.submit();
    Ok(tape.record(
        "info_nce",
        loss,
        Shape(vec![1]),
        &[sim, log_scale],
        move |bt, ins, dy| {
            let g = bt.gpu().clone();
            let dsim = storage(&g, b * b, "InfoNCE dsim")?;
            let dscale = storage(&g, 1, "InfoNCE dlog_scale")?;
            info_nce_backward(
                bt,
                ins[0].buffer(),
                ins[1].buffer(),
                &stats,
                dy,
                &dsim,
                &dscale,
                b as u32,
            )
            .map_err(launch_err)?;
            Ok(vec![Some(dsim), Some(dscale)])
        },
    ))
}
