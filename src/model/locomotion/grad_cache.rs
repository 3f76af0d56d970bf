//! GradCache (Gao et al. 2021, "Scaling Deep Contrastive Learning Batch Size under Memory
//! Limited Setup"): the model's half of a step whose batch runs in micro-batches while VTC
//! (and VTM's hard negatives) still see the whole batch. Three passes:
//! 1. [`LocoModel::encoder_states`]: each micro-batch's final encoder states, no gradient;
//! 2. [`LocoModel::cached_losses`]: VTC over the whole batch's cached states and VTM over
//!    pairs drawn from its similarity (one micro-batch of pairs at a time), their backward
//!    filling the heads' and cross encoder's gradients and the gradient of every cached state;
//! 3. [`LocoModel::micro_backward`]: each micro-batch again with a gradient, back-propagating
//!    the cached states' gradients (as `Σ state · grad`) plus its own MLM share.

use std::ops::Range;

use anyhow::Result;

use super::pairs::own_rows;
use super::{LocoModel, PairBatch};
use crate::tensor::ops::elementwise::add;
use crate::tensor::ops::negatives::hard_negative_rows;
use crate::tensor::ops::reduce::sum_all;
use crate::tensor::ops::unary::{mul, scale};
use crate::tensor::{Tape, Tensor};

/// Final encoder states of some samples (or their gradients), row-major on the host: the
/// video [CLS] `[b, Hv]`, the pooled text `[b, H]` and, when VTM is on, the final hidden
/// states (video `[b, Lv, Hv]`, text `[b, L, H]`; empty otherwise).
#[derive(Debug, Clone, Default)]
pub struct EncoderStates {
    /// Video [CLS] states.
    pub video_cls: Vec<f32>,
    /// Pooled text states.
    pub text_pooled: Vec<f32>,
    /// Final video hidden states (VTM only).
    pub video_hidden: Vec<f32>,
    /// Final text hidden states (VTM only).
    pub text_hidden: Vec<f32>,
}

impl EncoderStates {
    /// Append `other`'s samples after these.
    pub fn extend(&mut self, other: &EncoderStates) {
        self.video_cls.extend(&other.video_cls);
        self.text_pooled.extend(&other.text_pooled);
        self.video_hidden.extend(&other.video_hidden);
        self.text_hidden.extend(&other.text_hidden);
    }

    /// Samples `range` of a batch of `total`.
    pub fn rows(&self, range: &Range<usize>, total: usize) -> EncoderStates {
        let cut = |v: &[f32]| {
            let w = v.len() / total.max(1);
            v[range.start * w..range.end * w].to_vec()
        };
        EncoderStates {
            video_cls: cut(&self.video_cls),
            text_pooled: cut(&self.text_pooled),
            video_hidden: cut(&self.video_hidden),
            text_hidden: cut(&self.text_hidden),
        }
    }
}

/// What the whole-batch pass reads of the batch besides the cached states.
#[derive(Clone, Copy)]
pub struct WholeBatch<'a> {
    /// Number of pairs B.
    pub batch: usize,
    /// Padded text length L.
    pub len: usize,
    /// 1 for real tokens, 0 for padding `[B, L]`.
    pub mask: &'a [u32],
    /// The `[B, B]` duplicate-caption mask (see [`super::PairBatch::duplicates`]).
    pub duplicates: Option<&'a [f32]>,
    /// Seeds the VTM hard-negative draw.
    pub negative_seed: u64,
}

/// What the whole-batch pass returns: the VTC and VTM losses (GPU scalars) and the gradient
/// of their weighted sum with respect to every cached state.
pub struct CachedLosses {
    /// VTC over the whole batch.
    pub vtc: Tensor,
    /// VTM over the whole batch's 3·B pairs.
    pub vtm: Tensor,
    /// d(w_vtc·vtc + w_vtm·vtm) / d(states), laid out as the states.
    pub grads: EncoderStates,
    /// Matmul FLOPs of the heads' and the cross encoder's forward passes.
    pub forward_flops: u64,
}

impl LocoModel {
    /// Pass 1: the final encoder states of `batch` (a micro-batch), no gradient recorded.
    pub fn encoder_states(&self, tape: &Tape, batch: &PairBatch) -> Result<EncoderStates> {
        let _g = tape.no_grad();
        let video = self.video.forward(tape, &batch.video)?;
        let (text_hidden, text_pooled) = self.text_states(tape, batch)?;
        let vtm = self.cfg.loss_weights.vtm > 0.0;
        Ok(EncoderStates {
            video_cls: video.cls.to_vec()?,
            text_pooled: text_pooled.to_vec()?,
            video_hidden: if vtm { video.hidden.to_vec()? } else { vec![] },
            text_hidden: match text_hidden {
                Some(t) if vtm => t.to_vec()?,
                _ => vec![],
            },
        })
    }

    /// Pass 2: VTC of the whole batch `whole` from its cached `states`, and VTM over the pairs drawn
    /// from that similarity, each micro-batch's pairs (`micro`) in turn. The backward adds
    /// the heads' and cross encoder's gradients to theirs.
    pub fn cached_losses(
        &self,
        whole: &WholeBatch,
        states: &EncoderStates,
        micro: &[Range<usize>],
    ) -> Result<CachedLosses> {
        let gpu = &self.gpu;
        let (bt, l) = (whole.batch, whole.len);
        let (h, hv) = (self.cfg.text.hidden_size, self.cfg.video.hidden_size);
        let w = self.cfg.loss_weights;
        let before = gpu.counters();
        let tape = Tape::new(gpu);
        // Leaves that keep their gradient: the cached states as parameters of this pass.
        let video_cls = Tensor::param(gpu, &states.video_cls, [bt, hv])?;
        let text_pooled = Tensor::param(gpu, &states.text_pooled, [bt, h])?;
        let dup = match whole.duplicates {
            Some(m) => Some(Tensor::from_host(gpu, m, [bt, bt])?),
            None => None,
        };
        let vtc = self
            .heads
            .vtc(&tape, &video_cls, &text_pooled, dup.as_ref())?;
        let rows = match w.vtm > 0.0 {
            true => Some(hard_negative_rows(
                &vtc.sim,
                self.cfg.heads.temperature,
                whole.negative_seed,
            )?),
            false => None,
        };
        let mut flops = gpu.counters().since(&before).matmul_flops;
        tape.backward(&scale(&tape, &vtc.loss, w.vtc as f32)?)?;
        let mut grads = EncoderStates {
            video_cls: grad_or_zero(&video_cls)?,
            text_pooled: grad_or_zero(&text_pooled)?,
            ..EncoderStates::default()
        };
        let vtm = match rows {
            None => Tensor::from_host(gpu, &[0.0], [1])?,
            Some((text_rows, video_rows)) => {
                let text_all = Tensor::param(gpu, &states.text_hidden, [bt, l * h])?;
                let lv = states.video_hidden.len() / (bt * hv);
                let video_all = Tensor::param(gpu, &states.video_hidden, [bt, lv * hv])?;
                let (tr, vr) = (gpu.read::<u32>(&text_rows)?, gpu.read::<u32>(&video_rows)?);
                let mut sum: Option<Tensor> = None;
                for r in micro {
                    let tape = Tape::new(gpu);
                    let own_t = gpu.upload(&own_rows(&tr, r, bt), "micro-batch VTM text rows")?;
                    let own_v = gpu.upload(&own_rows(&vr, r, bt), "micro-batch VTM video rows")?;
                    let before = gpu.counters();
                    let vtm = self.vtm_rows(
                        &tape,
                        (&text_all, &video_all),
                        (&own_t, &own_v),
                        whole.mask,
                        r.len(),
                    )?;
                    // This micro-batch's 3·b rows as their part of the mean over 3·B.
                    let vtm = scale(&tape, &vtm, r.len() as f32 / bt as f32)?;
                    flops += gpu.counters().since(&before).matmul_flops;
                    tape.backward(&scale(&tape, &vtm, w.vtm as f32)?)?;
                    let _g = tape.no_grad();
                    sum = Some(match sum {
                        Some(s) => add(&tape, &s, &vtm)?,
                        None => vtm,
                    });
                }
                grads.text_hidden = grad_or_zero(&text_all)?;
                grads.video_hidden = grad_or_zero(&video_all)?;
                sum.expect("at least one micro-batch")
            }
        };
        Ok(CachedLosses {
            vtc: vtc.loss,
            vtm,
            grads,
            forward_flops: flops,
        })
    }

    /// Pass 3: `micro`'s encoders again, with a gradient: back-propagate `grads` (this
    /// micro-batch's rows of [`CachedLosses::grads`]) and, with MLM on, its MLM mean scaled
    /// by `mlm_share` (its masked tokens over the whole batch's). Returns that scaled MLM
    /// loss (0 when off or when the micro-batch masks nothing) and the MLM forward's FLOPs.
    pub fn micro_backward(
        &self,
        tape: &Tape,
        micro: &PairBatch,
        grads: &EncoderStates,
        mlm_share: f32,
    ) -> Result<(Tensor, u64)> {
        let gpu = &self.gpu;
        let video = self.video.forward(tape, &micro.video)?;
        // A frozen text encoder takes no gradient: it is not run again.
        let text = match self.frozen_text {
            true => None,
            false => Some(self.text.forward(tape, micro.text(micro.ids))?),
        };
        // Σ state · grad has the cached gradient as its gradient.
        let dot = |x: &Tensor, g: &[f32]| -> Result<Tensor> {
            let g = Tensor::from_host(gpu, g, x.shape().clone())?;
            Ok(tape.reshape(&sum_all(tape, &mul(tape, x, &g)?)?, [1])?)
        };
        let vtm = !grads.video_hidden.is_empty();
        let mut total = dot(&video.cls, &grads.video_cls)?;
        if vtm {
            total = add(tape, &total, &dot(&video.hidden, &grads.video_hidden)?)?;
        }
        if let Some(text) = &text {
            total = add(tape, &total, &dot(&text.pooled, &grads.text_pooled)?)?;
            if vtm {
                total = add(tape, &total, &dot(&text.hidden, &grads.text_hidden)?)?;
            }
        }
        let w = self.cfg.loss_weights;
        let (mlm, flops) = if w.mlm > 0.0 && mlm_share > 0.0 {
            let before = gpu.counters();
            let mlm = scale(tape, &self.mlm_loss(tape, micro, &video.hidden)?, mlm_share)?;
            let flops = gpu.counters().since(&before).matmul_flops;
            total = add(tape, &total, &scale(tape, &mlm, w.mlm as f32)?)?;
            (mlm, flops)
        } else {
            (Tensor::from_host(gpu, &[0.0], [1])?, 0)
        };
        tape.backward(&total)?;
        Ok((mlm, flops))
    }
}

/// The gradient a backward left in leaf `t`, or zeros when nothing reached it.
fn grad_or_zero(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.grad_to_vec()?.unwrap_or_else(|| vec![0.0; t.numel()]))
}
