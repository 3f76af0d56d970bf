//! `--accumulate N`: one optimizer step over a batch run in N micro-batches, with VTC and
//! VTM's hard negatives still over the whole batch (GradCache, Gao et al. 2021: cache the
//! encoders' final states, take the whole-batch losses' gradient with respect to them, then
//! back-propagate each micro-batch; see [`crate::model::locomotion::EncoderStates`]).
//! Activation memory is one micro-batch's; the encoders run their forward pass twice.

use std::ops::Range;

use anyhow::{Result, bail};

use super::data::{Batch, HostBatch};
use super::optim::AdamW;
use super::state::{StepOutput, negative_seed, pair_batch, train_step};
use crate::gpu::{self, Gpu, GpuBuffer};
use crate::model::locomotion::{
    EncoderStates, LocoModel, Losses, WholeBatch, duplicate_caption_mask,
};
use crate::tensor::ops::elementwise::add;
use crate::tensor::ops::loss::IGNORE_INDEX;
use crate::tensor::ops::unary::scale;
use crate::tensor::{Tape, Tensor};

/// Check `--accumulate` against `--batch`: from 1 (the whole batch at once) to the batch
/// size (one pair a micro-batch).
pub fn check_accumulate(accumulate: usize, batch: usize) -> Result<()> {
    if accumulate == 0 || accumulate > batch {
        bail!("--accumulate must be from 1 to --batch ({batch}) micro-batches, got {accumulate}");
    }
    Ok(())
}

/// The samples of each of `n` micro-batches of a batch of `b`: consecutive, sizes differing
/// by at most one, the larger first (7 in 3: 3, 2, 2).
pub fn micro_batches(b: usize, n: usize) -> Vec<Range<usize>> {
    let n = n.clamp(1, b.max(1));
    let mut start = 0;
    (0..n)
        .map(|k| {
            let len = b / n + usize::from(k < b % n);
            start += len;
            start - len..start
        })
        .collect()
}

/// One optimizer step on `batch` in `n` micro-batches ([`micro_batches`]); `n` = 1 is
/// [`train_step`] itself. The losses are the whole batch's: VTC over all its pairs, VTM over
/// pairs drawn from that similarity, MLM the mean over all its masked tokens; so the
/// gradient is the one-batch gradient up to float rounding (sums in another order).
pub fn train_step_accumulated(
    gpu: &Gpu,
    model: &LocoModel,
    optim: &mut AdamW,
    batch: Batch,
    (seed, step): (u64, u64),
    lr: f32,
    n: usize,
) -> Result<StepOutput> {
    if n <= 1 {
        return train_step(gpu, model, optim, batch, (seed, step), lr, None);
    }
    let host = &batch.host;
    let b = host.len();
    check_accumulate(n, b)?;
    let micro = micro_batches(b, n);
    let dup = duplicate_caption_mask(&host.captions);
    let per_clip = (batch.frames * batch.height * batch.width) as usize * 3;
    let parts: Vec<HostBatch> = micro.iter().map(|r| micro_host(host, r)).collect();
    let video = |r: &Range<usize>| clip_rows(gpu, &batch.video, per_clip, r);

    // Pass 1: every micro-batch's final states, no gradient.
    let before = gpu.counters();
    let mut states = EncoderStates::default();
    for (r, part) in micro.iter().zip(&parts) {
        let pair = pair_batch(model, video(r)?, part, None, seed, step);
        states.extend(&model.encoder_states(&Tape::new(gpu), &pair)?);
    }
    let mut forward_flops = gpu.counters().since(&before).matmul_flops;

    // Pass 2: the whole batch's VTC and VTM from the cached states.
    optim.zero_grad();
    let whole = WholeBatch {
        batch: b,
        len: host.text.max_len,
        mask: &host.text.attention_mask,
        duplicates: dup.as_deref(),
        negative_seed: negative_seed(seed, step),
    };
    let cached = model.cached_losses(&whole, &states, &micro)?;
    forward_flops += cached.forward_flops;

    // Pass 3: each micro-batch's backward, with its MLM share.
    let counted = |h: &HostBatch| h.mlm_labels.iter().filter(|&&l| l != IGNORE_INDEX).count();
    let all = counted(host);
    let mut mlm: Option<Tensor> = None;
    for (r, part) in micro.iter().zip(&parts) {
        let pair = pair_batch(model, video(r)?, part, None, seed, step);
        let share = match all {
            0 => 0.0,
            _ => counted(part) as f32 / all as f32,
        };
        let tape = Tape::new(gpu);
        let (m, flops) = model.micro_backward(&tape, &pair, &cached.grads.rows(r, b), share)?;
        forward_flops += flops;
        let _g = tape.no_grad();
        mlm = Some(match mlm {
            Some(s) => add(&tape, &s, &m)?,
            None => m,
        });
    }
    optim.step(lr)?;
    let losses = weighted(gpu, model, cached.vtc, cached.vtm, mlm.expect("n > 1"))?;
    drop(batch);
    Ok(StepOutput {
        losses,
        forward_flops,
        extra: Vec::new(),
        allreduce_seconds: 0.0,
    })
}

/// The three losses and their weighted sum (values only: the gradients are already taken).
fn weighted(gpu: &Gpu, model: &LocoModel, vtc: Tensor, vtm: Tensor, mlm: Tensor) -> Result<Losses> {
    let tape = Tape::new(gpu);
    let _g = tape.no_grad();
    let w = model.cfg.loss_weights;
    let total = add(
        &tape,
        &add(
            &tape,
            &scale(&tape, &vtc, w.vtc as f32)?,
            &scale(&tape, &vtm, w.vtm as f32)?,
        )?,
        &scale(&tape, &mlm, w.mlm as f32)?,
    )?;
    Ok(Losses {
        vtc,
        vtm,
        mlm,
        total,
    })
}

/// Samples `r` of `host` (text arrays, captions, labels; no pixels: the clips are on the GPU).
fn micro_host(host: &HostBatch, r: &Range<usize>) -> HostBatch {
    let mut h = host.clone();
    h.pixels = None;
    h.split_shard(r.clone()).0
}

/// A copy of clips `r` of `video` (`per_clip` floats each), on the GPU.
fn clip_rows(gpu: &Gpu, video: &GpuBuffer, per_clip: usize, r: &Range<usize>) -> Result<GpuBuffer> {
    let bytes = 4 * (r.len() * per_clip) as u64;
    let out = gpu.pool.storage(bytes, "micro-batch clips")?;
    let mut batch = gpu::CommandBatch::new(gpu);
    batch.hold(video);
    batch.hold(&out);
    batch.note_copy();
    batch.encoder().copy_buffer_to_buffer(
        video.raw(),
        4 * (r.start * per_clip) as u64,
        out.raw(),
        0,
        bytes,
    );
    batch.submit();
    Ok(out)
}
