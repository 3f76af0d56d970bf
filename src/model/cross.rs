//! The cross-modal encoder (ALBEF / BLIP / VindLU): BERT post-LN layers over the text states
//! whose queries also attend to the video tokens. Each layer: self-attention over the text
//! (padding keys masked) → residual + LN; cross-attention from the text (Lq) to the video
//! tokens (Lk ≠ Lq, widths H and Hv) → residual + LN (every `cross_attention_freq`-th
//! layer); the feed-forward → residual + LN. Parameters are the `cross.*` entries of
//! [`crate::model::params`].

use anyhow::{Result, bail};

use super::checkpoint::TensorMap;
use super::config::ModelConfig;
use super::params::{ParamShape, cross_parameter_shapes};
use crate::gpu::Gpu;
use crate::nn::{BERT_NAMES, Block, CrossInput, KeyMask, Norm, ParamSet, random_weights};
use crate::tensor::{Tape, Tensor};

/// The cross-modal encoder, its parameters named `cross.*`.
pub struct CrossEncoder {
    cfg: ModelConfig,
    params: ParamSet,
}

impl CrossEncoder {
    /// An encoder with `cfg`'s shapes and the `cross.*` entries of `weights`.
    pub fn from_weights(gpu: &Gpu, cfg: &ModelConfig, weights: &TensorMap) -> Result<Self> {
        let params = ParamSet::from_weights(gpu, "cross encoder", &Self::shapes(cfg), weights)?;
        Ok(Self {
            cfg: cfg.clone(),
            params,
        })
    }

    /// A freshly initialised encoder drawn from `seed` (see [`random_weights`]).
    pub fn random(gpu: &Gpu, cfg: &ModelConfig, seed: u64) -> Result<Self> {
        Self::from_weights(gpu, cfg, &random_weights(&Self::shapes(cfg), seed))
    }

    /// The parameter names and shapes of `cfg`'s cross encoder.
    pub fn shapes(cfg: &ModelConfig) -> Vec<ParamShape> {
        cross_parameter_shapes(cfg)
    }

    /// Every parameter with its name, in name order.
    pub fn parameters(&self) -> Vec<(String, Tensor)> {
        self.params.parameters()
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
        let dims = Dims { b, l, lv };
        for layer in 0..self.cfg.cross.num_layers {
            x = self.layer(tape, &x, &v, layer, text_mask, dims)?;
        }
        Ok(tape.reshape(&x, [b, l, h])?)
    }

    /// One post-LN layer over x `[B·L, H]` with video `[B·Lv, Hv]` (cross-attention every
    /// `cross_attention_freq` layers).
    fn layer(
        &self,
        tape: &Tape,
        x: &Tensor,
        video: &Tensor,
        layer: usize,
        mask: KeyMask,
        d: Dims,
    ) -> Result<Tensor> {
        let block = Block {
            norm: Norm::Post,
            eps: self.cfg.text.layer_norm_eps,
            heads: self.cfg.text.num_attention_heads,
            names: BERT_NAMES,
            act: crate::nn::Activation::Gelu,
        };
        // Every video token is real (clips are never padded), so no key mask there.
        let cross = layer
            .is_multiple_of(self.cfg.cross.cross_attention_freq)
            .then_some(CrossInput {
                states: video,
                len: d.lv,
                mask: None,
            });
        let pre = format!("cross.layers.{layer}");
        self.params
            .block(tape, x, &pre, &block, (d.b, d.l), Some(mask), cross)
    }
}

#[derive(Clone, Copy)]
struct Dims {
    b: usize,
    l: usize,
    lv: usize,
}
