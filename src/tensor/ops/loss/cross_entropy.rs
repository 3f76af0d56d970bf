//! Mean cross-entropy with an ignore index (`shaders/loss.wgsl`, for MLM and VTM): the
//! launchers of its fused forward and backward kernels over flat f32 buffers, and the tape op
//! [`cross_entropy`] whose rule runs the backward. Reductions run in a fixed order, so results
//! are deterministic.

use crate::gpu::kernel_params;
use anyhow::{Result, bail};

use super::super::check::need;
use super::super::{launch_err, storage};
use super::head;
use crate::gpu::{CommandBatch, GpuBuffer, Groups, Kernel};
use crate::tensor::{Shape, Tape, Tensor, TensorError};

kernel_params! {
    pub(crate) struct CeParams for ["loss"] {
        n: u32,
        c: u32,
        ignore: u32,
        stage: u32,
    }
}

/// Fail unless N and C are at least 1 and the buffers both kernels read (logits (N, C),
/// targets (N,), stats (2N,), loss (2,)) then each of `rest` hold what the op needs.
fn check_ce(
    what: &str,
    [logits, targets, stats, loss]: [&GpuBuffer; 4],
    n: u32,
    c: u32,
    rest: &[(&str, &GpuBuffer, u64)],
) -> Result<()> {
    if n == 0 || c == 0 {
        bail!("cross-entropy needs at least one row and one class, got N={n}, C={c}");
    }
    let (n64, nc) = (n as u64, n as u64 * c as u64);
    need(
        what,
        &[
            ("logits", logits, nc),
            ("targets", targets, n64),
            ("stats", stats, 2 * n64),
            ("loss", loss, 2),
        ],
    )?;
    need(what, rest)
}

/// Record the cross-entropy forward. logits is (N, C); targets is (N,) u32 where `ignore`
/// (or any value >= C) marks a row that does not count; writes `stats` (2N,): per-row loss
/// then per-row logsumexp, and `loss` (2,): [mean over counted rows, number of counted rows].
/// A batch with no counted row has loss 0.
#[allow(clippy::too_many_arguments)]
pub fn cross_entropy_forward(
    batch: &mut CommandBatch,
    logits: &GpuBuffer,
    targets: &GpuBuffer,
    stats: &GpuBuffer,
    loss: &GpuBuffer,
    n: u32,
    c: u32,
    ignore: u32,
) -> Result<()> {
    check_ce("cross-entropy", [logits, targets, stats, loss], n, c, &[])?;
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
    batch: &mut CommandBatch,
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
    let nc = n as u64 * c as u64;
    check_ce(
        "cross-entropy backward",
        [logits, targets, stats, loss],
        n,
        c,
        &[("dloss", dloss, 1), ("dlogits", dlogits, nc)],
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
        Groups::Linear(nc.div_ceil(64)),
    )?;
    Ok(())
}

// ------------------------------------------------------------------------------- tape op

/// Mean cross-entropy of `logits` (N, C) against `targets` (N,), skipping rows whose target
/// is `ignore` (or any value >= C); a scalar (1,). With no counted row the loss is 0.
pub fn cross_entropy(
    tape: &Tape,
    logits: &Tensor,
    targets: &[u32],
    ignore: u32,
) -> crate::tensor::Result<Tensor> {
    logits.expect_f32("cross-entropy")?;
    let (n, c) = (logits.shape().rows(), logits.shape().last());
    if targets.len() != n {
        return Err(TensorError::Length {
            what: "cross-entropy targets".into(),
            len: targets.len(),
            shape: logits.shape().to_string(),
        });
    }
    let gpu = tape.gpu().clone();
    let targets = gpu.upload(targets, "cross-entropy targets")?;
    let stats = storage(&gpu, 2 * n, "cross-entropy stats")?;
    let loss = storage(&gpu, 2, "cross-entropy loss")?;
    let mut batch = CommandBatch::new(&gpu);
    let (n32, c32) = (n as u32, c as u32);
    cross_entropy_forward(
        &mut batch,
        logits.buffer(),
        &targets,
        &stats,
        &loss,
        n32,
        c32,
        ignore,
    )
    .map_err(launch_err)?;
    let value = head(&mut batch, &loss, 1)?;
    batch.submit();
    Ok(tape.record(
        "cross_entropy",
        value,
        Shape(vec![1]),
        &[logits],
        move |b, ins, dy| {
            let dlogits = storage(b.gpu(), n * c, "cross-entropy dlogits")?;
            cross_entropy_backward(
                b,
                ins[0].buffer(),
                &targets,
                &stats,
                &loss,
                dy,
                &dlogits,
                n32,
                c32,
                ignore,
            )
            .map_err(launch_err)?;
            Ok(vec![Some(dlogits)])
        },
    ))
}
