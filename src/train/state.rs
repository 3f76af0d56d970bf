//! What the trainer hands the model and what it keeps of it: a data batch as the model's
//! [`PairBatch`], one training step ([`train_step`]), the VTC training means a checkpoint
//! stores, and host snapshots of every parameter and AdamW moment.

use anyhow::Result;

use super::data::{Batch, HostBatch, mix_seed};
use super::optim::AdamW;
use crate::dist::Shard;
use crate::dist::ops::all_reduce_grads;
use crate::gpu::{Gpu, GpuBuffer};
use crate::model::checkpoint::{HostTensor, TensorMap, adam_m_name, adam_v_name};
use crate::model::heads::mean_row;
use crate::model::locomotion::{
    LocoModel, Losses, PairBatch, ShardView, TEXT_MEAN, VIDEO_MEAN, VtcMeans,
    duplicate_caption_mask,
};
use crate::tensor::Tape;
use crate::tensor::ops::loss::IGNORE_INDEX;

/// Host copies of every parameter (and, with `optim`, its AdamW moments).
pub fn snapshot(_gpu: &Gpu, model: &LocoModel, optim: Option<&AdamW>) -> Result<TensorMap> {
    let mut map = TensorMap::new();
    if let Some(m) = model.vtc_means() {
        let d = m.video.len();
        map.insert(VIDEO_MEAN.into(), HostTensor::new(vec![d], m.video.clone()));
        map.insert(TEXT_MEAN.into(), HostTensor::new(vec![d], m.text.clone()));
    }
    for (name, t) in model.parameters() {
        let shape = t.shape().dims().to_vec();
        map.insert(name.clone(), HostTensor::new(shape.clone(), t.to_vec()?));
        if let Some((mv, vv)) = optim
            .map(|o| o.moments_to_host(&name))
            .transpose()?
            .flatten()
        {
            map.insert(adam_m_name(&name), HostTensor::new(shape.clone(), mv));
            map.insert(adam_v_name(&name), HostTensor::new(shape, vv));
        }
    }
    Ok(map)
}

/// The model's view of a data batch at `step` (the VTM negatives' seed follows the step).
pub fn pair_batch<'a>(
    model: &LocoModel,
    video: GpuBuffer,
    host: &'a HostBatch,
    duplicates: Option<&'a [f32]>,
    seed: u64,
    step: u64,
) -> PairBatch<'a> {
    PairBatch {
        video: model.video_input(video, host.len()),
        batch: host.len(),
        len: host.text.max_len,
        ids: &host.text.ids,
        token_types: &host.text.token_types,
        mask: &host.text.attention_mask,
        mlm_ids: &host.mlm_ids,
        mlm_labels: &host.mlm_labels,
        negative_seed: negative_seed(seed, step),
        duplicates,
        shard: None,
    }
}

/// The seed of the VTM negatives' draw at `step` of a run seeded `seed`.
pub fn negative_seed(seed: u64, step: u64) -> u64 {
    mix_seed(seed, step, 0x76746d)
}

/// Batches of training data whose mean VTC projections the final checkpoint stores.
pub const MEAN_BATCHES: u64 = 4;

/// The mean raw VTC projections over [`MEAN_BATCHES`] batches of the training stream from
/// step `from` on (online: clips past the schedule's end, never trained on; at full
/// background strength once any fade is over). A data-parallel replica embeds its share and
/// gathers the others'.
pub fn training_means(
    gpu: &Gpu,
    model: &LocoModel,
    mut batch: impl FnMut(u64) -> Result<Batch>,
    from: u64,
    shard: Option<&Shard>,
) -> Result<VtcMeans> {
    let (mut ve, mut te) = (Vec::new(), Vec::new());
    for k in 0..MEAN_BATCHES {
        let b = batch(from + k)?;
        let pair = pair_batch(model, b.video, &b.host, None, 0, 0);
        let (mut v, mut t) = model.embed(&Tape::new(gpu), &pair)?;
        if let Some(s) = shard {
            v = s.comm.all_gather(&v)?;
            t = s.comm.all_gather(&t)?;
        }
        ve.extend(v);
        te.extend(t);
    }
    let d = model.cfg.heads.embed_dim;
    Ok(VtcMeans {
        video: mean_row(&ve, d),
        text: mean_row(&te, d),
    })
}

/// What one training step returns: its losses (still on the GPU) and the matmul FLOPs its
/// forward pass recorded (`bench train` triples them for the whole step).
pub struct StepOutput {
    /// The step's losses (a data-parallel replica's contributions: see [`Losses`]).
    pub losses: Losses,
    /// Matmul FLOPs of the forward pass.
    pub forward_flops: u64,
    /// The `extra` values summed over the replicas (empty on one device).
    pub extra: Vec<f32>,
    /// Host seconds of the gradient all-reduce (0 on one device).
    pub allreduce_seconds: f64,
}

/// A data-parallel replica's part of one step: its [`Shard`] and host values to sum over
/// the replicas with the gradients (e.g. a stop flag).
pub struct Replica<'a> {
    /// The replicas and this one's samples.
    pub shard: &'a Shard,
    /// Summed with the gradients and returned in [`StepOutput::extra`].
    pub extra: &'a [f32],
}

/// One optimizer step on `batch` (the `step`-th of a run seeded `seed`): the duplicate-caption
/// mask, forward, backward and AdamW at `lr`. The trainer and `bench train` both run it. A
/// data-parallel replica (`replica`) takes the whole batch's losses through its share and sums
/// the gradients with the others before AdamW, so every replica applies the same update.
pub fn train_step(
    gpu: &Gpu,
    model: &LocoModel,
    optim: &mut AdamW,
    batch: Batch,
    (seed, step): (u64, u64),
    lr: f32,
    replica: Option<Replica>,
) -> Result<StepOutput> {
    let whole = batch.global.as_ref().unwrap_or(&batch.host);
    let dup = duplicate_caption_mask(&whole.captions);
    let mut pair = pair_batch(model, batch.video, &batch.host, dup.as_deref(), seed, step);
    if let Some(r) = &replica {
        let counted = |h: &HostBatch| h.mlm_labels.iter().filter(|&&l| l != IGNORE_INDEX).count();
        let all = counted(whole);
        pair.shard = Some(ShardView {
            shard: r.shard,
            mask: &whole.text.attention_mask,
            mlm_share: if all == 0 {
                0.0
            } else {
                counted(&batch.host) as f32 / all as f32
            },
        });
    }
    let tape = Tape::new(gpu);
    let before = gpu.counters();
    let losses = model.forward_losses(&tape, &pair)?;
    let forward_flops = gpu.counters().since(&before).matmul_flops;
    optim.zero_grad();
    tape.backward(&losses.total)?;
    let (extra, allreduce_seconds) = match &replica {
        Some(r) => all_reduce_grads(gpu, &model.trainable_parameters(), r.shard, r.extra)?,
        None => (Vec::new(), 0.0),
    };
    optim.step(lr)?;
    Ok(StepOutput {
        losses,
        forward_flops,
        extra,
        allreduce_seconds,
    })
}
