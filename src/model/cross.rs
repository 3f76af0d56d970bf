//! The cross-modal encoder (ALBEF / BLIP / VindLU): BERT post-LN layers over the text states
//! whose queries also attend to the video tokens. Each layer: self-attention over the text
//! (padding keys masked) → residual + LN; cross-attention from the text (Lq) to the video
//! tokens (Lk ≠ Lq, widths H and Hv) → residual + LN (every `cross_attention_freq`-th
//! layer); the feed-forward → residual + LN. Its layers are built once from a [`Builder`]
//! under `cross.` (names in [`crate::model::params`]).

use anyhow::{Result, bail};

use super::checkpoint::TensorMap;
use super::config::ModelConfig;
use super::params::ParamShape;
use super::text::text_block;
use crate::gpu::Gpu;
use crate::nn::{Block, Builder, CrossInput, Source, Upload, by_name, random_weights, shapes_of};
use crate::tensor::ops::attention::KeyMask;
use crate::tensor::{Tape, Tensor};

/// The cross-modal encoder, its parameters named `cross.*`: on the GPU (`P` = [`Tensor`])
/// or as names and shapes only ([`CrossEncoder::shapes`]).
pub struct CrossEncoder<P = Tensor> {
    cfg: ModelConfig,
    layers: Vec<Block<P>>,
    params: Vec<(String, P)>,
}

impl<P: Clone> CrossEncoder<P> {
    /// The encoder of `cfg` under `root` (`cross.*`): BERT layers of the text encoder's
    /// sizes, cross-attention to the video states in every `cross_attention_freq`-th.
    pub fn build<S: Source<Param = P>>(root: &Builder<S>, cfg: &ModelConfig) -> Result<Self> {
        let vb = root.pp("cross").pp("layers");
        let layers = (0..cfg.cross.num_layers)
            .map(|n| {
                let cross = n.is_multiple_of(cfg.cross.cross_attention_freq);
                let hv = cross.then_some(cfg.video.hidden_size);
                Block::new(vb.pp(n), &text_block(&cfg.text, hv))
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            cfg: cfg.clone(),
            layers,
            params: root.parameters(),
        })
    }
}

impl CrossEncoder<ParamShape> {
    /// The parameter names and shapes of `cfg`'s cross encoder, in the order they are built.
    pub fn shapes(cfg: &ModelConfig) -> Vec<ParamShape> {
        shapes_of(|root| CrossEncoder::build(root, cfg))
    }
}

impl CrossEncoder {
    /// An encoder with `cfg`'s shapes and the `cross.*` entries of `weights`.
    pub fn from_weights(gpu: &Gpu, cfg: &ModelConfig, weights: &TensorMap) -> Result<Self> {
        Self::build(
            &Builder::new(Upload::new(gpu, "cross encoder", weights)),
            cfg,
        )
    }

    /// A freshly initialised encoder drawn from `seed` (see [`random_weights`]).
    pub fn random(gpu: &Gpu, cfg: &ModelConfig, seed: u64) -> Result<Self> {
        Self::from_weights(gpu, cfg, &random_weights(&CrossEncoder::shapes(cfg), seed))
    }

    /// Every parameter with its name, in name order.
    pub fn parameters(&self) -> Vec<(String, Tensor)> {
        by_name(self.params.clone())
    }

    /// Fuse `text` `[B, L, H]` (padding where `text_mask` `[B, L]` is 0) with `video`
    /// `[B, Lv, Hv]` → `[B, L, H]`; position 0 is the multimodal [CLS] state VTM reads.
    pub fn forward(
        &self,
        tape: &Tape,
        text: &Tensor,
        text_mask: &[u32],
        video: &Tensor,
    ) -> Result<Tensor> {
        self.forward_masked(tape, text, KeyMask::Host(text_mask), video)
    }

    /// [`CrossEncoder::forward`] with the text mask as a [`KeyMask`] (it may already be on
    /// the GPU, e.g. gathered for the VTM pairs).
    pub fn forward_masked(
        &self,
        tape: &Tape,
        text: &Tensor,
        text_mask: KeyMask,
        video: &Tensor,
    ) -> Result<Tensor> {
        let (h, hv) = (self.cfg.text.hidden_size, self.cfg.video.hidden_size);
        let (td, vd) = (text.shape().dims(), video.shape().dims());
        if td.len() != 3 || td[2] != h || vd.len() != 3 || vd[2] != hv || vd[0] != td[0] {
            bail!(
                "cross encoder: text {} and video {} must be [B, L, {h}] and [B, Lv, {hv}]",
                text.shape(),
                video.shape()
            );
        }
        let (b, l, lv) = (td[0], td[1], vd[1]);
        let mask_len = match text_mask {
            KeyMask::Host(m) => m.len(),
            KeyMask::Gpu(m) => (m.bytes() / 4) as usize,
        };
        if mask_len < b * l || matches!(text_mask, KeyMask::Host(_)) && mask_len != b * l {
            bail!("cross encoder: the text mask must be [{b}, {l}]");
        }
        let mut x = tape.reshape(text, [b * l, h])?;
        let v = tape.reshape(video, [b * lv, hv])?;
        // Every video token is real (clips are never padded), so no key mask there.
        let cross = CrossInput {
            states: &v,
            len: lv,
            mask: None,
        };
        for layer in &self.layers {
            x = layer.forward(tape, &x, (b, l), Some(text_mask), Some(cross))?;
        }
        Ok(tape.reshape(&x, [b, l, h])?)
    }
}
