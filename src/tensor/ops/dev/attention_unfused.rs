//! Unfused attention, kept as reference and benchmark baseline (never run by a step): the
//! score matrix in global memory (`shaders/dev/attention_unfused.wgsl` and
//! `shaders/dev/attention_unfused_backward.wgsl`). Layout as the fused kernels'
//! ([`crate::tensor::ops::attention::launch`]).

use anyhow::Result;

use crate::gpu::{CommandBatch, GpuBuffer, Groups, Kernel};
use crate::tensor::ops::attention::AttentionShape;
use crate::tensor::ops::check::storage_buffers;

/// Record the unfused forward: the scores go to `scores` (B, H, Tq, Tk) in global memory,
/// are softmaxed in place (so `scores` ends as the attention probabilities), then `o = P v`.
#[allow(clippy::too_many_arguments)]
pub fn attention_unfused(
    batch: &mut CommandBatch,
    shape: AttentionShape,
    q: &GpuBuffer,
    k: &GpuBuffer,
    v: &GpuBuffer,
    mask: Option<&GpuBuffer>,
    scores: &GpuBuffer,
    o: &GpuBuffer,
    lse: &GpuBuffer,
) -> Result<()> {
    shape.check("unfused attention")?;
    shape.heads_major_only("unfused attention")?;
    let (nq, rows) = (shape.q_len(), shape.rows() as u64);
    shape.need(
        "unfused attention",
        [q, k, v],
        &[
            ("scores", scores, shape.scores_len()),
            ("o", o, nq),
            ("lse", lse, rows),
        ],
        None,
        mask.map(|m| (m, shape.tk)),
    )?;
    let m = mask.unwrap_or(q);
    let kernel = Kernel::new("attention_unfused", "unfused");
    for (stage, n) in [
        (0, rows * shape.tk as u64),
        (1, rows),
        (2, rows * shape.head_dim as u64),
    ] {
        batch.dispatch(
            kernel,
            &shape.params(mask, stage),
            &[q, k, v, m, scores, o, lse],
            Groups::Linear(n.div_ceil(64)),
        )?;
    }
    Ok(())
}

/// Record the unfused backward from the probabilities `probs` (B, H, Tq, Tk) that
/// [`attention_unfused`] left in its `scores` buffer: writes `dq`, `dk`, `dv`; `ds`
/// (B, H, Tq, Tk) and `delta` (B, H, Tq) are scratch.
#[allow(clippy::too_many_arguments)]
pub fn attention_unfused_backward(
    batch: &mut CommandBatch,
    shape: AttentionShape,
    q: &GpuBuffer,
    k: &GpuBuffer,
    v: &GpuBuffer,
    probs: &GpuBuffer,
    d_o: &GpuBuffer,
    ds: &GpuBuffer,
    delta: &GpuBuffer,
    grads: [&GpuBuffer; 3],
) -> Result<()> {
    shape.check("unfused attention backward")?;
    shape.heads_major_only("unfused attention backward")?;
    let (nq, ns) = (shape.q_len(), shape.scores_len());
    shape.need(
        "unfused attention backward",
        [q, k, v],
        &[
            ("probs", probs, ns),
            ("d_o", d_o, nq),
            ("ds", ds, ns),
            ("delta", delta, shape.rows() as u64),
        ],
        Some(grads),
        None,
    )?;
    let [dq, dk, dv] = grads;
    let rows = shape.rows() as u64;
    let (tk, d) = (shape.tk as u64, shape.head_dim as u64);
    let keys = (shape.batch * shape.heads) as u64 * tk;
    storage_buffers(batch.gpu(), "unfused attention backward", 10)?;
    let kernel = Kernel::new("attention_unfused_backward", "unfused_backward");
    for (stage, n) in [
        (0, rows * tk),
        (1, rows),
        (2, rows * tk),
        (3, rows * d),
        (4, keys * d),
    ] {
        batch.dispatch(
            kernel,
            &shape.params(None, stage),
            &[q, k, v, probs, d_o, ds, delta, dq, dk, dv],
            Groups::Linear(n.div_ceil(64)),
        )?;
    }
    Ok(())
}
