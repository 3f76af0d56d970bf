//! The pre-training heads (ALBEF / VindLU, as LocoMotion trains): VTC projects the video
//! [CLS] states and the text encoder's mean-pooled states to a shared space, L2-normalises
//! them and scores every pair with InfoNCE under a learnable temperature; VTM classifies the
//! cross encoder's [CLS] state as matched or not; MLM predicts masked words from the cross encoder's states through BERT's transform
//! (linear → GELU → LN) and a decoder **tied** to the text word embeddings (its own bias
//! only). Its layers are built once from a [`Builder`] under `heads.` (names in
//! [`crate::model::params`]).

use anyhow::{Result, bail};

use super::checkpoint::{HostTensor, TensorMap};
use super::config::ModelConfig;
use super::params::ParamShape;
use crate::gpu::Gpu;
use crate::nn::{Builder, LayerNorm, Linear, Source, Upload, by_name, random_weights, shapes_of};
use crate::tensor::ops::elementwise::add;
use crate::tensor::ops::loss::{cross_entropy, info_nce};
use crate::tensor::ops::matmul::matmul_op;
use crate::tensor::ops::normalize::l2_normalize;
use crate::tensor::ops::unary::gelu;
use crate::tensor::{Tape, Tensor};

/// Targets that MLM skips (the positions that were not masked).
use crate::tensor::ops::loss::IGNORE_INDEX;

/// What the VTC head computes.
pub struct VtcOutput {
    /// Symmetric InfoNCE loss (1,).
    pub loss: Tensor,
    /// Cosine similarities `[B, B]`, row = video, column = text (VTM samples hard negatives
    /// from them; retrieval ranks by them).
    pub sim: Tensor,
}

/// The VTC, VTM and MLM heads, their parameters named `heads.*`: on the GPU (`P` =
/// [`Tensor`]) or as names and shapes only ([`Heads::shapes`]).
pub struct Heads<P = Tensor> {
    cfg: ModelConfig,
    pub(super) video_proj: Linear<P>,
    text_proj: Linear<P>,
    /// The InfoNCE log-scale `ln(1/τ)` `[1]`.
    temperature: P,
    vtm: Linear<P>,
    mlm_transform: Linear<P>,
    mlm_ln: LayerNorm<P>,
    decoder_bias: P,
    params: Vec<(String, P)>,
}

impl<P: Clone> Heads<P> {
    /// The heads of `cfg` under `root` (`heads.*`).
    pub fn build<S: Source<Param = P>>(root: &Builder<S>, cfg: &ModelConfig) -> Result<Self> {
        let (h, hv) = (cfg.text.hidden_size, cfg.video.hidden_size);
        let e = cfg.heads.embed_dim;
        let vb = root.pp("heads");
        let vtc = vb.pp("vtc");
        let mlm = vb.pp("mlm");
        Ok(Self {
            cfg: cfg.clone(),
            video_proj: Linear::new(vtc.pp("video_proj"), hv, e)?,
            text_proj: Linear::new(vtc.pp("text_proj"), h, e)?,
            temperature: vtc.param("temperature", &[1])?,
            vtm: Linear::new(vb.pp("vtm"), h, 2)?,
            mlm_transform: Linear::new(mlm.pp("transform"), h, h)?,
            mlm_ln: LayerNorm::new(mlm.pp("ln"), h, cfg.text.layer_norm_eps)?,
            decoder_bias: mlm.param("decoder_bias", &[cfg.text.vocab_size])?,
            params: root.parameters(),
        })
    }
}

impl Heads<ParamShape> {
    /// The heads of `cfg` as names and shapes only.
    fn spec(cfg: &ModelConfig) -> Result<Self> {
        Heads::build(&Builder::new(crate::nn::Shapes), cfg)
    }

    /// The parameter names and shapes of `cfg`'s heads, in the order they are built.
    pub fn shapes(cfg: &ModelConfig) -> Vec<ParamShape> {
        shapes_of(|root| Heads::build(root, cfg))
    }
}

impl Heads {
    /// Heads with `cfg`'s shapes and the `heads.*` entries of `weights`.
    pub fn from_weights(gpu: &Gpu, cfg: &ModelConfig, weights: &TensorMap) -> Result<Self> {
        Self::build(&Builder::new(Upload::new(gpu, "heads", weights)), cfg)
    }

    /// Fresh heads drawn from `seed`, the temperature at `heads.temperature` of the config.
    pub fn random(gpu: &Gpu, cfg: &ModelConfig, seed: u64) -> Result<Self> {
        let t = cfg.heads.temperature;
        if !(t > 0.0 && t.is_finite()) {
            bail!("heads.temperature must be positive, not {t}");
        }
        let spec = Heads::spec(cfg)?;
        let shapes: Vec<ParamShape> = spec.params.into_iter().map(|(_, p)| p).collect();
        let mut weights = random_weights(&shapes, seed);
        let log_scale = (1.0 / t).ln() as f32;
        weights.insert(
            spec.temperature.0,
            HostTensor::new(vec![1], vec![log_scale]),
        );
        Self::from_weights(gpu, cfg, &weights)
    }

    /// Every parameter with its name, in name order.
    pub fn parameters(&self) -> Vec<(String, Tensor)> {
        by_name(self.params.clone())
    }

    /// The raw VTC projections of video [CLS] states `[B, Hv]` and text states `[B, H]`,
    /// each `[B, embed_dim]`, before centring and normalising (see [`unit_embeddings`]).
    pub fn vtc_projections(
        &self,
        tape: &Tape,
        video_cls: &Tensor,
        text_pooled: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let v = self.video_proj.forward(tape, video_cls)?;
        let t = self.text_proj.forward(tape, text_pooled)?;
        Ok((v, t))
    }

    /// The raw VTC projection of video [CLS] states `[B, Hv]` alone, `[B, embed_dim]`.
    pub fn vtc_video_projection(&self, tape: &Tape, video_cls: &Tensor) -> Result<Tensor> {
        self.video_proj.forward(tape, video_cls)
    }

    /// The raw VTC projection of pooled text states `[B, H]` alone, `[B, embed_dim]`.
    pub fn vtc_text_projection(&self, tape: &Tape, text_pooled: &Tensor) -> Result<Tensor> {
        self.text_proj.forward(tape, text_pooled)
    }

    /// Unit-norm VTC embeddings of a training batch, each `[B, embed_dim]`: the projections,
    /// centred on the batch mean when `heads.center` is set, then L2-normalised.
    pub fn vtc_embeddings(
        &self,
        tape: &Tape,
        video_cls: &Tensor,
        text_pooled: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let (v, t) = self.vtc_projections(tape, video_cls, text_pooled)?;
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
        text_pooled: &Tensor,
        duplicates: Option<&Tensor>,
    ) -> Result<VtcOutput> {
        if video_cls.shape().rows() != text_pooled.shape().rows() {
            bail!(
                "VTC: {} video [CLS] and {} pooled text states; pairs need as many of each",
                video_cls.shape().rows(),
                text_pooled.shape().rows()
            );
        }
        let (v, t) = self.vtc_embeddings(tape, video_cls, text_pooled)?;
        let sim = matmul_op(tape, &v, &t, None, true)?;
        let sim = match duplicates {
            Some(m) => add(tape, &sim, m)?,
            None => sim,
        };
        let loss = info_nce(tape, &sim, &self.temperature)?;
        Ok(VtcOutput { loss, sim })
    }

    /// VTM logits `[B', 2]` (column 1 = matched) of cross [CLS] states `[B', H]`.
    pub fn vtm_logits(&self, tape: &Tape, cross_cls: &Tensor) -> Result<Tensor> {
        self.vtm.forward(tape, cross_cls)
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
        let h = self.cfg.text.hidden_size;
        let x = tape.reshape(hidden, [hidden.numel() / h, h])?;
        let x = gelu(tape, &self.mlm_transform.forward(tape, &x)?)?;
        let x = self.mlm_ln.forward(tape, &x)?;
        Ok(matmul_op(tape, &x, word, Some(&self.decoder_bias), true)?)
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
