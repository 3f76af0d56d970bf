//! The video encoder: tubelet embedding, learned space and time position embeddings, a
//! learned [CLS] token and a pre-LN transformer (ViViT / VideoMAE style), built from tape ops
//! so that it trains. Parameters are the `video.*` entries of [`crate::model::params`].

use anyhow::{Result, bail};

use super::checkpoint::TensorMap;
use super::config::VideoEncoderConfig;
use super::params::{ParamShape, video_parameter_shapes};
use crate::gpu::Gpu;
use crate::nn::{Block, Norm, ParamSet, VIT_NAMES, first_rows, random_weights};
use crate::tensor::ops::elementwise::add;
use crate::tensor::ops::embedding::embedding;
use crate::tensor::ops::prepend_cls::prepend_cls;
use crate::tensor::ops::tubelet::tubelet_embedding;
use crate::tensor::{Tape, Tensor};

/// What the video encoder returns.
pub struct VideoOutput {
    /// Final states `[B, 1 + N, hidden]`, the [CLS] state first, then the N tubelet tokens
    /// in (time, row, column) order.
    pub hidden: Tensor,
    /// The [CLS] states `[B, hidden]` (what VTC projects).
    pub cls: Tensor,
}

/// The pre-LN ViT over tubelets, its parameters named `video.*`.
pub struct VideoEncoder {
    cfg: VideoEncoderConfig,
    params: ParamSet,
}

impl VideoEncoder {
    /// An encoder with `cfg`'s shapes and the `video.*` entries of `weights`.
    pub fn from_weights(gpu: &Gpu, cfg: &VideoEncoderConfig, weights: &TensorMap) -> Result<Self> {
        let params = ParamSet::from_weights(gpu, "video encoder", &Self::shapes(cfg), weights)?;
        Ok(Self {
            cfg: cfg.clone(),
            params,
        })
    }

    /// A freshly initialised encoder drawn from `seed` (see [`random_weights`]).
    pub fn random(gpu: &Gpu, cfg: &VideoEncoderConfig, seed: u64) -> Result<Self> {
        Self::from_weights(gpu, cfg, &random_weights(&Self::shapes(cfg), seed))
    }

    /// The parameter names and shapes of `cfg`'s encoder.
    pub fn shapes(cfg: &VideoEncoderConfig) -> Vec<ParamShape> {
        video_parameter_shapes(cfg)
    }

    /// Its configuration.
    pub fn config(&self) -> &VideoEncoderConfig {
        &self.cfg
    }

    /// Every parameter with its name, in name order.
    pub fn parameters(&self) -> Vec<(String, Tensor)> {
        self.params.parameters()
    }

    /// Encode `video` `[B, T, C, H, W]`: the compositor's normalised output buffer wrapped with
    /// [`Tensor::from_buffer`], so clips never leave the GPU.
    pub fn forward(&self, tape: &Tape, video: &Tensor) -> Result<VideoOutput> {
        let c = &self.cfg;
        let want = [c.frames, c.channels, c.height, c.width];
        let dims = video.shape().dims();
        if dims.len() != 5 || dims[1..] != want {
            bail!(
                "video encoder: input {} is not [B, {}, {}, {}, {}] (video.frames, channels, height, width)",
                video.shape(),
                want[0],
                want[1],
                want[2],
                want[3]
            );
        }
        let (b, hv) = (dims[0], c.hidden_size);
        let p = &self.params;
        let diffs;
        let video = if c.frame_differences {
            diffs = frame_differences(tape, video)?;
            &diffs
        } else {
            video
        };
        let x = tubelet_embedding(
            tape,
            video,
            c.tubelet,
            p.get("video.patch.weight")?,
            p.get("video.patch.bias")?,
        )?;
        let n = x.shape().dims()[1];
        // Space and time positions are factorised (TimeSformer / VindLU): a token at
        // (t, row, col) adds space[row·gw + col] + time[t], as two row gathers.
        let [_, gh, gw] = c.grid();
        let space_ids: Vec<u32> = (0..b * n).map(|i| (i % (gh * gw)) as u32).collect();
        let time_ids: Vec<u32> = (0..b * n).map(|i| ((i % n) / (gh * gw)) as u32).collect();
        let x = tape.reshape(&x, [b * n, hv])?;
        let x = add(
            tape,
            &x,
            &embedding(tape, p.get("video.pos.space")?, &space_ids)?,
        )?;
        let x = add(
            tape,
            &x,
            &embedding(tape, p.get("video.pos.time")?, &time_ids)?,
        )?;
        // The [CLS] token carries no position: it is learned, and attends to every token.
        let x = prepend_cls(tape, &tape.reshape(&x, [b, n, hv])?, p.get("video.cls")?)?;
        let l = n + 1;
        let mut x = tape.reshape(&x, [b * l, hv])?;
        if c.pre_norm {
            x = p.layer_norm(tape, &x, "video.ln_pre", c.layer_norm_eps)?;
        }
        for layer in 0..c.num_layers {
            x = self.block(tape, &x, &format!("video.layers.{layer}"), b, l)?;
        }
        let x = p.layer_norm(tape, &x, "video.ln_final", c.layer_norm_eps)?;
        let cls = first_rows(tape, &x, b, l)?;
        Ok(VideoOutput {
            hidden: tape.reshape(&x, [b, l, hv])?,
            cls,
        })
    }

    /// One pre-LN block over x `[B·L, hidden]`: x + MHA(LN(x)), then x + MLP(LN(x)).
    fn block(&self, tape: &Tape, x: &Tensor, pre: &str, b: usize, l: usize) -> Result<Tensor> {
        let block = Block {
            norm: Norm::Pre,
            eps: self.cfg.layer_norm_eps,
            heads: self.cfg.num_heads,
            names: VIT_NAMES,
            act: self.cfg.hidden_act,
        };
        self.params.block(tape, x, pre, &block, (b, l), None, None)
    }
}

/// Frame 0 of `video` `[B, T, C, H, W]` as it is and frame t ≥ 1 as frame t − frame t−1
/// ([`VideoEncoderConfig::frame_differences`]; one pass of `shaders/frame_diff.wgsl` each
/// way).
pub fn frame_differences(tape: &Tape, video: &Tensor) -> Result<Tensor> {
    Ok(crate::tensor::ops::frame_diff::frame_differences(
        tape, video,
    )?)
}
