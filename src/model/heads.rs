//! The pre-training heads (ALBEF / VindLU, as LocoMotion trains): VTC projects the video and
//! text [CLS] states to a shared space, L2-normalises them and scores every pair with InfoNCE
//! under a learnable temperature; VTM classifies the cross encoder's [CLS] state as matched or
//! not; MLM predicts masked words from the cross encoder's states through BERT's transform
//! (linear → GELU → LN) and a decoder **tied** to the text word embeddings (its own bias
//! only). Parameters are the `heads.*` entries of [`crate::model::params`].

use anyhow::{Result, bail};

use super::checkpoint::{HostTensor, TensorMap};
use super::config::ModelConfig;
use super::params::{ParamShape, heads_parameter_shapes};
use crate::gpu::Gpu;
use crate::nn::{ParamSet, random_weights};
use crate::tensor::ops::elementwise::add;
use crate::tensor::ops::loss::{cross_entropy, info_nce};
use crate::tensor::ops::matmul::matmul_op;
use crate::tensor::ops::normalize::l2_normalize;
use crate::tensor::ops::unary::gelu;
use crate::tensor::{Tape, Tensor};

/// Targets that MLM skips (the positions that were not masked).
pub use crate::tensor::ops::loss::IGNORE_INDEX;

/// What the VTC head computes.
pub struct VtcOutput {
    /// Symmetric InfoNCE loss (1,).
    pub loss: Tensor,
    /// Cosine similarities `[B, B]`, row = video, column = text (VTM samples hard negatives
    /// from them; retrieval ranks by them).
    pub sim: Tensor,
}

/// The VTC, VTM and MLM heads, their parameters named `heads.*`.
pub struct Heads {
    cfg: ModelConfig,
    params: ParamSet,
}

impl Heads {
    /// Heads with `cfg`'s shapes and the `heads.*` entries of `weights`.
    pub fn from_weights(gpu: &Gpu, cfg: &ModelConfig, weights: &TensorMap) -> Result<Self> {
        let params = ParamSet::from_weights(gpu, "heads", &Self::shapes(cfg), weights)?;
        Ok(Self {
            cfg: cfg.clone(),
            params,
        })
    }

    /// Fresh heads drawn from `seed`, the temperature at `heads.temperature` of the config.
    pub fn random(gpu: &Gpu, cfg: &ModelConfig, seed: u64) -> Result<Self> {
        let t = cfg.heads.temperature;
        if !(t > 0.0 && t.is_finite()) {
            bail!("heads.temperature must be positive, not {t}");
        }
        let mut weights = random_weights(&Self::shapes(cfg), seed);
        let log_scale = (1.0 / t).ln() as f32;
        weights.insert(
            "heads.vtc.temperature".into(),
            HostTensor::new(vec![1], vec![log_scale]),
        );
        Self::from_weights(gpu, cfg, &weights)
    }

    /// The parameter names and shapes of `cfg`'s heads.
    pub fn shapes(cfg: &ModelConfig) -> Vec<ParamShape> {
        heads_parameter_shapes(cfg)
    }

    /// Every parameter with its name, in name order.
    pub fn parameters(&self) -> Vec<(String, Tensor)> {
        self.params.parameters()
    }

    /// The raw VTC projections of video [CLS] states `[B, Hv]` and text states `[B, H]`,
    /// each `[B, embed_dim]`, before centring and normalising (see [`unit_embeddings`]).
    pub fn vtc_projections(
        &self,
        tape: &Tape,
        video_cls: &Tensor,
        text_cls: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let p = &self.params;
        let v = p.linear(tape, video_cls, "heads.vtc.video_proj")?;
        let t = p.linear(tape, text_cls, "heads.vtc.text_proj")?;
        Ok((v, t))
    }

    /// The raw VTC projection of video [CLS] states `[B, Hv]` alone, `[B, embed_dim]`.
    pub fn vtc_video_projection(&self, tape: &Tape, video_cls: &Tensor) -> Result<Tensor> {
        self.params.linear(tape, video_cls, "heads.vtc.video_proj")
    }

    /// The raw VTC projection of pooled text states `[B, H]` alone, `[B, embed_dim]`.
    pub fn vtc_text_projection(&self, tape: &Tape, text_cls: &Tensor) -> Result<Tensor> {
        self.params.linear(tape, text_cls, "heads.vtc.text_proj")
    }

    /// Unit-norm VTC embeddings of a training batch, each `[B, embed_dim]`: the projections,
    /// centred on the batch mean when `heads.center` is set, then L2-normalised.
    pub fn vtc_embeddings(
        &self,
        tape: &Tape,
        video_cls: &Tensor,
        text_cls: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let (v, t) = self.vtc_projections(tape, video_cls, text_cls)?;
        let (v, t) = if self.cfg.heads.center {
            (center_rows(tape, &v)?, center_rows(tape, &t)?)
        } else {
            (v, t)
        };
        Ok((l2_normalize(tape, &v)?, l2_normalize(tape, &t)?))
    }

    /// VTC over a batch of matching pairs (pair i = video i, text i); `duplicates` (a
    /// constant `[B, B]` mask, see `model::locomotion::duplicate_caption_mask`) is added to
    /// the similarities before InfoNCE.
    pub fn vtc(
        &self,
        tape: &Tape,
        video_cls: &Tensor,
        text_cls: &Tensor,
        duplicates: Option<&Tensor>,
    ) -> Result<VtcOutput> {
        if video_cls.shape().rows() != text_cls.shape().rows() {
            bail!(
                "VTC: {} video and {} text [CLS] states; pairs need as many of each",
                video_cls.shape().rows(),
                text_cls.shape().rows()
            );
        }
        let (v, t) = self.vtc_embeddings(tape, video_cls, text_cls)?;
        let sim = matmul_op(tape, &v, &t, None, true)?;
        let sim = match duplicates {
            Some(m) => add(tape, &sim, m)?,
            None => sim,
        };
        let loss = info_nce(tape, &sim, self.params.get("heads.vtc.temperature")?)?;
        Ok(VtcOutput { loss, sim })
    }

    /// VTM logits `[B', 2]` (column 1 = matched) of cross [CLS] states `[B', H]`.
    pub fn vtm_logits(&self, tape: &Tape, cross_cls: &Tensor) -> Result<Tensor> {
        self.params.linear(tape, cross_cls, "heads.vtm")
    }

    /// VTM cross-entropy with `labels` (1 = the video and text match, 0 = not), one a row.
    pub fn vtm(&self, tape: &Tape, cross_cls: &Tensor, labels: &[u32]) -> Result<Tensor> {
        if labels.iter().any(|&l| l > 1) {
            bail!("VTM labels must be 0 (no match) or 1 (match)");
        }
        let logits = self.vtm_logits(tape, cross_cls)?;
        Ok(cross_entropy(tape, &logits, labels, IGNORE_INDEX)?)
    }

    /// MLM logits `[rows, vocab]` of cross states `[.., H]` (any leading shape), decoded with
    /// the tied word table `word` `[vocab, H]` (`text.embeddings.word`).
    pub fn mlm_logits(&self, tape: &Tape, hidden: &Tensor, word: &Tensor) -> Result<Tensor> {
        let (p, eps) = (&self.params, self.cfg.text.layer_norm_eps);
        let h = self.cfg.text.hidden_size;
        let x = tape.reshape(hidden, [hidden.numel() / h, h])?;
        let x = gelu(tape, &p.linear(tape, &x, "heads.mlm.transform")?)?;
        let x = p.layer_norm(tape, &x, "heads.mlm.ln", eps)?;
        let bias = p.get("heads.mlm.decoder_bias")?;
        Ok(matmul_op(tape, &x, word, Some(bias), true)?)
    }

    /// MLM cross-entropy: `labels` holds the original id at masked positions and
    /// [`IGNORE_INDEX`] elsewhere, one per row of `hidden`.
    pub fn mlm(
        &self,
        tape: &Tape,
        hidden: &Tensor,
        word: &Tensor,
        labels: &[u32],
    ) -> Result<Tensor> {
        let logits = self.mlm_logits(tape, hidden, word)?;
        Ok(cross_entropy(tape, &logits, labels, IGNORE_INDEX)?)
    }
}

/// The mean raw VTC projection of each modality over `n` rows of `d` (`rows` row-major),
/// accumulated in f64: what [`unit_embeddings`] subtracts.
pub fn mean_row(rows: &[f32], d: usize) -> Vec<f32> {
    let n = (rows.len() / d.max(1)).max(1);
    let mut mean = vec![0f64; d];
    for r in rows.chunks(d) {
        r.iter().zip(&mut mean).for_each(|(x, m)| *m += *x as f64);
    }
    mean.iter().map(|m| (m / n as f64) as f32).collect()
}

/// `x − mean over rows` for `x` `[B, D]`, as one matmul with the constant centring matrix
/// I − 11ᵀ/B, so the gradient flows through the mean.
pub fn center_rows(tape: &Tape, x: &Tensor) -> Result<Tensor> {
    let b = x.shape().rows();
    let c: Vec<f32> = (0..b * b)
        .map(|i| f32::from(i / b == i % b) - 1.0 / b as f32)
        .collect();
    let c = Tensor::from_host(tape.gpu(), &c, [b, b])?;
    Ok(matmul_op(tape, &c, x, None, false)?)
}

/// Retrieval's embeddings from raw projections `rows` (`n` rows of `d`, row-major, in
/// place): minus `mean` when given (the training mean a checkpoint stores, as training
/// centres on the batch mean; never a statistic of the evaluated set), then each row
/// L2-normalised.
pub fn unit_embeddings(rows: &mut [f32], d: usize, mean: Option<&[f32]>) {
    if let Some(mean) = mean {
        for r in rows.chunks_mut(d) {
            r.iter_mut().zip(mean).for_each(|(x, m)| *x -= m);
        }
    }
    for r in rows.chunks_mut(d) {
        let norm = r
            .iter()
            .map(|x| (*x as f64).powi(2))
            .sum::<f64>()
            .sqrt()
            .max(1e-12);
        r.iter_mut().for_each(|x| *x = (*x as f64 / norm) as f32);
    }
}
