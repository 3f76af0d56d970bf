//! What the trainer hands the model and what it keeps of it: a data batch as the model's
//! [`PairBatch`], one training step ([`train_step`]), the VTC training means a checkpoint
//! stores, and host snapshots of every parameter and AdamW moment.

use anyhow::Result;

use super::data::{Batch, HostBatch, mix_seed};
use super::optim::AdamW;
use crate::gpu::{Gpu, GpuBuffer};
use crate::model::checkpoint::{HostTensor, TensorMap, adam_m_name, adam_v_name};
use crate::model::heads::mean_row;
use crate::model::locomotion::{
    LocoModel, Losses, PairBatch, TEXT_MEAN, VIDEO_MEAN, VtcMeans, duplicate_caption_mask,
};
use crate::tensor::Tape;

/// Host copies of every parameter (and, with `optim`, its AdamW moments).
pub fn snapshot(gpu: &Gpu, model: &LocoModel, optim: Option<&AdamW>) -> Result<TensorMap> {
    let mut map = TensorMap::new();
    if let Some(m) = model.vtc_means() {
        let d = m.video.len();
        map.insert(VIDEO_MEAN.into(), HostTensor::new(vec![d], m.video.clone()));
        map.insert(TEXT_MEAN.into(), HostTensor::new(vec![d], m.text.clone()));
    }
    for (name, t) in model.parameters() {
        let shape = t.shape().dims().to_vec();
        map.insert(name.clone(), HostTensor::new(shape.clone(), t.to_vec()?));
        if let Some((m, v)) = optim.and_then(|o| o.moments(&name)) {
            let n = t.numel();
            let mut mv = gpu.read::<f32>(m)?;
            mv.truncate(n);
            map.insert(adam_m_name(&name), HostTensor::new(shape.clone(), mv));
            let mut vv = gpu.read::<f32>(v)?;
            vv.truncate(n);
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
        negative_seed: mix_seed(seed, step, 0x76746d),
        duplicates,
    }
}

/// Batches of training data whose mean VTC projections the final checkpoint stores.
pub const MEAN_BATCHES: u64 = 4;

/// The mean raw VTC projections over [`MEAN_BATCHES`] batches of the training stream from
/// step `from` on (online: clips past the schedule's end, never trained on; at full
/// background strength once any fade is over).
pub fn training_means(
    gpu: &Gpu,
    model: &LocoModel,
    mut batch: impl FnMut(u64) -> Result<Batch>,
    from: u64,
) -> Result<VtcMeans> {
    let (mut ve, mut te) = (Vec::new(), Vec::new());
    for k in 0..MEAN_BATCHES {
        let b = batch(from + k)?;
        let pair = pair_batch(model, b.video, &b.host, None, 0, 0);
        let (v, t) = model.embed(&Tape::new(gpu), &pair)?;
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
    /// The step's losses.
    pub losses: Losses,
    /// Matmul FLOPs of the forward pass.
    pub forward_flops: u64,
}

/// One optimizer step on `batch` (the `step`-th of a run seeded `seed`): the duplicate-caption
/// mask, forward, backward and AdamW at `lr`. The trainer and `bench train` both run it.
pub fn train_step(
    gpu: &Gpu,
    model: &LocoModel,
    optim: &mut AdamW,
    batch: Batch,
    (seed, step): (u64, u64),
    lr: f32,
) -> Result<StepOutput> {
    let dup = duplicate_caption_mask(&batch.host.captions);
    let pair = pair_batch(model, batch.video, &batch.host, dup.as_deref(), seed, step);
    let tape = Tape::new(gpu);
    let before = gpu.counters();
    let losses = model.forward_losses(&tape, &pair)?;
    let forward_flops = gpu.counters().since(&before).matmul_flops;
    optim.zero_grad();
    tape.backward(&losses.total)?;
    optim.step(lr)?;
    Ok(StepOutput {
        losses,
        forward_flops,
    })
}
