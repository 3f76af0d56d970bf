//! The LocoMotion model: video encoder + text encoder + cross-modal encoder + VTC/VTM/MLM
//! heads, every parameter in one named list (for AdamW and checkpoints), and the three
//! pre-training losses of one batch.

use anyhow::{Context, Result, bail};

mod embed;
mod grad_cache;
mod pairs;
mod text_cache;
mod video_init;

pub use grad_cache::{CachedLosses, EncoderStates, WholeBatch};
use pairs::own_pairs;
use text_cache::TextCache;
pub use text_cache::TextCacheStats;

use super::checkpoint::TensorMap;
use super::config::ModelConfig;
use super::cross::CrossEncoder;
use super::heads::Heads;
use super::text::{TextBatch, TextEncoder, TextOutput};
use super::video::{VideoEncoder, VideoOutput};
use crate::dist::Shard;
use crate::dist::ops::gather_with_grad;
use crate::gpu::{Gpu, GpuBuffer};
use crate::tensor::ops::elementwise::add;
use crate::tensor::ops::embedding::embedding;
use crate::tensor::ops::negatives::hard_negative_rows;
use crate::tensor::ops::unary::scale;
use crate::tensor::{Shape, Tape, Tensor};

/// One batch of pairs as the model reads it: the clips on the GPU, the text on the host
/// (the text encoder gathers embeddings from host ids).
pub struct PairBatch<'a> {
    /// Clips `[B, T, 3, H, W]`, normalised (see [`LocoModel::video_input`]).
    pub video: Tensor,
    /// Number of pairs B.
    pub batch: usize,
    /// Padded text length L.
    pub len: usize,
    /// Caption ids `[B, L]`.
    pub ids: &'a [u32],
    /// Segment ids `[B, L]`.
    pub token_types: &'a [u32],
    /// 1 for real tokens, 0 for padding `[B, L]`.
    pub mask: &'a [u32],
    /// Caption ids with MLM masking applied `[B, L]`.
    pub mlm_ids: &'a [u32],
    /// MLM targets `[B, L]` (IGNORE_INDEX where no loss is taken).
    pub mlm_labels: &'a [u32],
    /// Seeds the VTM hard-negative draw (the trainer passes a value derived from seed and step).
    pub negative_seed: u64,
    /// `[B, B]` additive VTC mask from [`duplicate_caption_mask`]: pairs whose captions are
    /// identical are no one's negatives. `None` when every caption differs. In a
    /// data-parallel step, the whole batch's mask.
    pub duplicates: Option<&'a [f32]>,
    /// A data-parallel replica's view of the whole batch; `None` on one device.
    pub shard: Option<ShardView<'a>>,
}

/// What a data-parallel replica's [`PairBatch`] needs of the whole batch (see
/// [`crate::dist`]): its losses are its contributions to the whole batch's, so that the
/// replicas' sums are the losses of one device with the same batch.
#[derive(Clone, Copy)]
pub struct ShardView<'a> {
    /// The replicas and this one's samples.
    pub shard: &'a Shard,
    /// The whole batch's attention mask `[B, L]` (VTM pairs this replica's clips with any
    /// caption of the batch).
    pub mask: &'a [u32],
    /// This replica's share of the batch's MLM targets (its own over all): its MLM mean is
    /// scaled by it.
    pub mlm_share: f32,
}

/// What [`duplicate_caption_mask`] adds to the similarity of two different samples with the
/// same caption: far enough below −1 that exp(scale · sim) is exactly 0 in f32 for any
/// temperature VTC reaches, so such a pair adds nothing to InfoNCE (nor to its gradient)
/// and VTM never draws it as a hard negative.
pub const DUPLICATE_PENALTY: f32 = -1.0e3;

/// The `[B, B]` de-duplication mask of a batch's captions: [`DUPLICATE_PENALTY`] at (i, j)
/// when i ≠ j and caption i equals caption j, 0 elsewhere; `None` when all differ. Without
/// it, identical captions (a motion group under spatial captions, or two clips that happen
/// to be described alike) are each other's negatives, and InfoNCE asks for a difference no
/// caption states.
pub fn duplicate_caption_mask(captions: &[String]) -> Option<Vec<f32>> {
    let b = captions.len();
    let mut mask = vec![0.0f32; b * b];
    let mut any = false;
    for i in 0..b {
        for j in 0..b {
            if i != j && captions[i] == captions[j] {
                mask[i * b + j] = DUPLICATE_PENALTY;
                any = true;
            }
        }
    }
    any.then_some(mask)
}

impl<'a> PairBatch<'a> {
    /// The text encoder's view of these captions with `ids` (the captions or their
    /// MLM-masked copy).
    fn text(&self, ids: &'a [u32]) -> TextBatch<'a> {
        TextBatch {
            ids,
            token_types: self.token_types,
            mask: self.mask,
            batch: self.batch,
            len: self.len,
        }
    }
}

/// The three objectives and their weighted sum, scalar tensors `(1,)` on the GPU.
pub struct Losses {
    /// Video-text contrastive (symmetric InfoNCE).
    pub vtc: Tensor,
    /// Video-text matching (cross-entropy over positives and hard negatives).
    pub vtm: Tensor,
    /// Masked language modelling.
    pub mlm: Tensor,
    /// `w_vtc·vtc + w_vtm·vtm + w_mlm·mlm` (weights from the config).
    pub total: Tensor,
}

/// The whole video-language model.
pub struct LocoModel {
    /// Its configuration.
    pub cfg: ModelConfig,
    gpu: Gpu,
    video: VideoEncoder,
    text: TextEncoder,
    cross: CrossEncoder,
    heads: Heads,
    vtc_means: Option<VtcMeans>,
    frozen_text: bool,
    text_cache: TextCache,
}

/// The training mean of each modality's raw VTC projection (`[embed_dim]` each), stored in
/// the checkpoint as [`VIDEO_MEAN`] and [`TEXT_MEAN`]: retrieval centres on it, as training
/// centres on the batch mean, so no statistic of the evaluated set enters its scores.
#[derive(Debug, Clone, PartialEq)]
pub struct VtcMeans {
    /// Mean video projection.
    pub video: Vec<f32>,
    /// Mean text projection.
    pub text: Vec<f32>,
}

/// Checkpoint name of the mean video projection (not a parameter: no optimizer touches it).
pub const VIDEO_MEAN: &str = "stats.vtc.video_mean"; // under checkpoint::STATS_PREFIX
/// Checkpoint name of the mean text projection.
pub const TEXT_MEAN: &str = "stats.vtc.text_mean";

impl LocoModel {
    /// A freshly initialised model drawn from `seed`; `text` replaces the random text encoder
    /// (e.g. one loaded with `--init-text`).
    pub fn random(
        gpu: &Gpu,
        cfg: &ModelConfig,
        seed: u64,
        text: Option<TextEncoder>,
    ) -> Result<Self> {
        cfg.validate()?;
        let text = match text {
            Some(t) => t,
            None => TextEncoder::random(gpu, &cfg.text, seed ^ 0x7465_7874)?,
        };
        Ok(Self {
            cfg: cfg.clone(),
            gpu: gpu.clone(),
            video: VideoEncoder::random(gpu, &cfg.video, seed ^ 0x7669_6465)?,
            text,
            cross: CrossEncoder::random(gpu, cfg, seed ^ 0x6372_6f73)?,
            heads: Heads::random(gpu, cfg, seed ^ 0x6865_6164)?,
            vtc_means: None,
            frozen_text: false,
            text_cache: TextCache::default(),
        })
    }

    /// A model with every parameter taken from `weights` (a checkpoint's tensors).
    pub fn from_weights(gpu: &Gpu, cfg: &ModelConfig, weights: &TensorMap) -> Result<Self> {
        cfg.validate()?;
        Ok(Self {
            cfg: cfg.clone(),
            gpu: gpu.clone(),
            video: VideoEncoder::from_weights(gpu, &cfg.video, weights)?,
            text: TextEncoder::from_weights(gpu, &cfg.text, weights)?,
            cross: CrossEncoder::from_weights(gpu, cfg, weights)?,
            heads: Heads::from_weights(gpu, cfg, weights)?,
            vtc_means: vtc_means_of(cfg, weights)?,
            frozen_text: false,
            text_cache: TextCache::default(),
        })
    }

    /// The stored training means of the VTC projections, when the checkpoint has them.
    pub fn vtc_means(&self) -> Option<&VtcMeans> {
        self.vtc_means.as_ref()
    }

    /// Set the training means (the trainer does, before it saves).
    pub fn set_vtc_means(&mut self, means: VtcMeans) -> Result<()> {
        let d = self.cfg.heads.embed_dim;
        if means.video.len() != d || means.text.len() != d {
            bail!(
                "VTC means have {} and {} values; heads.embed_dim is {d}",
                means.video.len(),
                means.text.len()
            );
        }
        self.vtc_means = Some(means);
        Ok(())
    }

    /// What retrieval subtracts from raw projections before normalising: the training
    /// means when the heads centre and the checkpoint stores them; `None` otherwise.
    pub fn retrieval_means(&self) -> Option<&VtcMeans> {
        self.vtc_means.as_ref().filter(|_| self.cfg.heads.center)
    }

    /// Every parameter with its unique name (video.*, text.*, cross.*, heads.*).
    pub fn parameters(&self) -> Vec<(String, Tensor)> {
        let mut all = self.video.parameters();
        all.extend(self.text.parameters());
        all.extend(self.cross.parameters());
        all.extend(self.heads.parameters());
        all
    }

    /// Freeze the text encoder (`--freeze-text`): its forward runs off the tape, so its
    /// parameters get no gradient, and [`LocoModel::trainable_parameters`] leaves them out.
    /// Refused with an MLM weight above 0 (MLM trains the text encoder's tied word table).
    pub fn freeze_text(&mut self) -> Result<()> {
        if self.cfg.loss_weights.mlm > 0.0 {
            bail!(
                "--freeze-text needs an MLM weight of 0, got {} (MLM trains the text encoder): give e.g. --weights 1,1,0",
                self.cfg.loss_weights.mlm
            );
        }
        self.frozen_text = true;
        Ok(())
    }

    /// Whether [`LocoModel::freeze_text`] froze the text encoder.
    pub fn text_frozen(&self) -> bool {
        self.frozen_text
    }

    /// The parameters an optimizer updates: every one but a frozen text encoder's.
    pub fn trainable_parameters(&self) -> Vec<(String, Tensor)> {
        let mut all = self.parameters();
        if self.frozen_text {
            let text: std::collections::HashSet<_> =
                self.text.parameters().into_iter().map(|(n, _)| n).collect();
            all.retain(|(n, _)| !text.contains(n));
        }
        all
    }

    /// Wrap a batch of `b` clips (the data pipeline's buffer) as the model's input tensor.
    pub fn video_input(&self, buf: GpuBuffer, b: usize) -> Tensor {
        let v = &self.cfg.video;
        let shape = Shape::new(&[b, v.frames, v.channels, v.height, v.width]);
        Tensor::from_buffer(&self.gpu, buf, shape, false)
    }

    /// The VTC, VTM and MLM losses of `batch`. VTM's negatives are hard: for each video a
    /// text and for each text a video drawn in proportion to exp(similarity / τ) among the
    /// other pairs, on the GPU ([`hard_negative_rows`]), so a step reads nothing back.
    pub fn forward_losses(&self, tape: &Tape, batch: &PairBatch) -> Result<Losses> {
        let (b, l) = (batch.batch, batch.len);
        // A data-parallel replica may hold one pair: its negatives come from the whole batch.
        let whole_batch = batch.shard.map_or(b, |s| s.shard.total);
        if b == 0 || whole_batch < 2 && self.cfg.loss_weights.vtm > 0.0 {
            bail!(
                "pre-training needs at least 2 pairs per batch (VTM draws negatives from the others)"
            );
        }
        let video = self.video.forward(tape, &batch.video)?;
        let (text_hidden, text_pooled) = self.text_states(tape, batch)?;
        // Data-parallel: the whole batch's rows, from every replica (identity on one device).
        let shard = batch.shard;
        let whole = |t: &Tensor| -> Result<Tensor> {
            Ok(match &shard {
                Some(s) => gather_with_grad(tape, t, s.shard)?,
                None => t.clone(),
            })
        };
        let bt = whole_batch;
        let dup = match batch.duplicates {
            Some(m) => Some(Tensor::from_host(&self.gpu, m, [bt, bt])?),
            None => None,
        };
        let vtc = self.heads.vtc(
            tape,
            &whole(&video.cls)?,
            &whole(&text_pooled)?,
            dup.as_ref(),
        )?;
        // Every replica computes the whole batch's VTC: each counts for 1/N of it.
        let vtc_loss = match &shard {
            Some(s) => scale(tape, &vtc.loss, 1.0 / s.shard.comm.size() as f32)?,
            None => vtc.loss.clone(),
        };

        // An objective weighted 0 is not computed at all (VTC-only runs skip the cross
        // encoder).
        let w = self.cfg.loss_weights;
        let zero = || Tensor::from_host(&self.gpu, &[0.0], [1]);
        let vtm = if w.vtm > 0.0 {
            // VTM: B positives, B (video, hard text) and B (hard video, text) negatives. The
            // negatives are drawn on the GPU and the pair rows gathered there: nothing is read
            // back (the host mask is uploaded once).
            let (text_rows, video_rows) =
                hard_negative_rows(&vtc.sim, self.cfg.heads.temperature, batch.negative_seed)?;
            // A replica takes the pairs of its own clips, from the whole batch's draw.
            let (text_rows, video_rows) = match &shard {
                Some(s) => (
                    own_pairs(&self.gpu, &text_rows, &s.shard.range, s.shard.total)?,
                    own_pairs(&self.gpu, &video_rows, &s.shard.range, s.shard.total)?,
                ),
                None => (text_rows, video_rows),
            };
            let (h, hv) = (self.cfg.text.hidden_size, self.cfg.video.hidden_size);
            let lv = video.hidden.shape().dims()[1];
            let text_hidden = text_hidden.context("VTM reads the text encoder's hidden states")?;
            let text_all = whole(&tape.reshape(&text_hidden, [b, l * h])?)?;
            let video_all = whole(&tape.reshape(&video.hidden, [b, lv * hv])?)?;
            let mask = shard.map_or(batch.mask, |s| s.mask);
            let vtm = self.vtm_rows(
                tape,
                (&text_all, &video_all),
                (&text_rows, &video_rows),
                mask,
                b,
            )?;
            // The mean over this replica's 3·b rows, as its part of the mean over 3·B.
            match &shard {
                Some(_) => scale(tape, &vtm, b as f32 / bt as f32)?,
                None => vtm,
            }
        } else {
            zero()?
        };

        let mlm = if w.mlm > 0.0 {
            let mlm = self.mlm_loss(tape, batch, &video.hidden)?;
            match &shard {
                Some(s) => scale(tape, &mlm, s.mlm_share)?,
                None => mlm,
            }
        } else {
            zero()?
        };

        let total = add(
            tape,
            &add(
                tape,
                &scale(tape, &vtc_loss, w.vtc as f32)?,
                &scale(tape, &vtm, w.vtm as f32)?,
            )?,
            &scale(tape, &mlm, w.mlm as f32)?,
        )?;
        Ok(Losses {
            vtc: vtc_loss,
            vtm,
            mlm,
            total,
        })
    }

    /// Raw VTC projections of a batch's clips and captions, each `[B, embed_dim]` row-major
    /// on the host (no gradient recorded); retrieval ranks by them after
    /// [`super::heads::unit_embeddings`] with the stored training means ([`LocoModel::retrieval_means`]).
    pub fn embed(&self, tape: &Tape, batch: &PairBatch) -> Result<(Vec<f32>, Vec<f32>)> {
        let _g = tape.no_grad();
        let (_, _, ve, te) = self.encode(tape, batch)?;
        Ok((ve.to_vec()?, te.to_vec()?))
    }

    /// [`LocoModel::embed`] plus the encoders' final states on the host, for re-ranking
    /// with [`LocoModel::vtm_scores`] (no gradient recorded).
    pub fn embed_with_states(&self, tape: &Tape, batch: &PairBatch) -> Result<Embedded> {
        let _g = tape.no_grad();
        let (v, t, ve, te) = self.encode(tape, batch)?;
        Ok(Embedded {
            video: ve.to_vec()?,
            text: te.to_vec()?,
            video_states: v.hidden.to_vec()?,
            text_states: t.hidden.to_vec()?,
            video_len: v.hidden.shape().dims()[1],
        })
    }

    /// Both encoders over `batch` and the raw VTC projections of their outputs.
    fn encode(
        &self,
        tape: &Tape,
        batch: &PairBatch,
    ) -> Result<(VideoOutput, TextOutput, Tensor, Tensor)> {
        let v = self.video.forward(tape, &batch.video)?;
        let t = self.text.forward(tape, batch.text(batch.ids))?;
        let (ve, te) = self.heads.vtc_projections(tape, &v.cls, &t.pooled)?;
        Ok((v, t, ve, te))
    }

    /// VTM's matched probability (softmax column 1 of the VTM head over the cross
    /// encoder's [CLS]) of P (video, text) pairs: text states `[P, L, H]` with their mask
    /// `[P, L]` and video states `[P, Lv, Hv]`, pair p being row p of each. No gradient.
    pub fn vtm_scores(
        &self,
        tape: &Tape,
        text_states: &Tensor,
        text_mask: &[u32],
        video_states: &Tensor,
    ) -> Result<Vec<f32>> {
        let _g = tape.no_grad();
        let d = text_states.shape().dims();
        if d.len() != 3 {
            bail!(
                "vtm_scores: text states must be [P, L, H], got {}",
                text_states.shape()
            );
        }
        let (p, l, h) = (d[0], d[1], d[2]);
        let fused = self
            .cross
            .forward(tape, text_states, text_mask, video_states)?;
        let cls_rows: Vec<u32> = (0..p).map(|i| (i * l) as u32).collect();
        let cls = embedding(tape, &tape.reshape(&fused, [p * l, h])?, &cls_rows)?;
        let logits = self.heads.vtm_logits(tape, &cls)?.to_vec()?;
        // softmax([a, b])[1] = 1 / (1 + e^(a − b)), stable for any logits.
        Ok(logits
            .chunks_exact(2)
            .map(|z| (1.0 / (1.0 + ((z[0] - z[1]) as f64).exp())) as f32)
            .collect())
    }
}

/// The stored means of `weights`, checked against `cfg` (both or neither must be there).
fn vtc_means_of(cfg: &ModelConfig, weights: &TensorMap) -> Result<Option<VtcMeans>> {
    let d = cfg.heads.embed_dim;
    match (weights.get(VIDEO_MEAN), weights.get(TEXT_MEAN)) {
        (None, None) => Ok(None),
        (Some(v), Some(t)) => {
            for (name, x) in [(VIDEO_MEAN, v), (TEXT_MEAN, t)] {
                if x.shape != [d] || x.data.iter().any(|v| !v.is_finite()) {
                    bail!(
                        "checkpoint tensor {name} has shape {:?} or a non-finite value; heads.embed_dim is {d}",
                        x.shape
                    );
                }
            }
            Ok(Some(VtcMeans {
                video: v.data.clone(),
                text: t.data.clone(),
            }))
        }
        _ => bail!("the checkpoint has only one of {VIDEO_MEAN} and {TEXT_MEAN}"),
    }
}

/// A batch's VTC embeddings and final encoder states on the host (see
/// [`LocoModel::embed_with_states`]).
pub struct Embedded {
    /// Unit video embeddings `[B, embed_dim]`.
    pub video: Vec<f32>,
    /// Unit text embeddings `[B, embed_dim]`.
    pub text: Vec<f32>,
    /// Video encoder states `[B, Lv, Hv]` ([CLS] first).
    pub video_states: Vec<f32>,
    /// Text encoder states `[B, L, H]`.
    pub text_states: Vec<f32>,
    /// Video tokens per clip Lv.
    pub video_len: usize,
}
