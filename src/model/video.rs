//! The video encoder: tubelet embedding, learned space and time position embeddings, a
//! learned [CLS] token and a pre-LN transformer (ViViT / VideoMAE style), built from tape ops
//! so that it trains. Its layers are built once from a [`Builder`] under `video.` (names in
//! [`crate::model::params`]).

use anyhow::{Result, bail};

use super::checkpoint::TensorMap;
use super::config::VideoEncoderConfig;
use super::params::ParamShape;
use crate::gpu::Gpu;
use crate::nn::{
    Block, BlockConfig, Builder, Embedding, LayerNorm, Linear, Source, Style, Upload, by_name,
    first_rows, random_weights, shapes_of,
};
use crate::tensor::ops::elementwise::add;
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

/// The pre-LN ViT over tubelets, its parameters named `video.*`: on the GPU (`P` =
/// [`Tensor`]) or as names and shapes only ([`VideoEncoder::shapes`]).
pub struct VideoEncoder<P = Tensor> {
    cfg: VideoEncoderConfig,
    pub(super) patch: Linear<P>,
    pub(super) cls: P,
    pub(super) pos_space: Embedding<P>,
    pub(super) pos_time: Embedding<P>,
    /// The norm after the embeddings (CLIP's `pre_layrnorm`), with `pre_norm`.
    pub(super) ln_pre: Option<LayerNorm<P>>,
    pub(super) layers: Vec<Block<P>>,
    ln_final: LayerNorm<P>,
    params: Vec<(String, P)>,
}

impl<P: Clone> VideoEncoder<P> {
    /// The encoder of `cfg` under `root` (`video.*`), its parameters built in ViT's order.
    pub fn build<S: Source<Param = P>>(
        root: &Builder<S>,
        cfg: &VideoEncoderConfig,
    ) -> Result<Self> {
        let hv = cfg.hidden_size;
        let [gt, gh, gw] = cfg.grid();
        let vb = root.pp("video");
        let patch = Linear::new(vb.pp("patch"), cfg.tubelet_dim(), hv)?;
        let cls = vb.param("cls", &[hv])?;
        let pos_space = Embedding::new(&vb.pp("pos"), "space", gh * gw, hv)?;
        let pos_time = Embedding::new(&vb.pp("pos"), "time", gt, hv)?;
        let block = BlockConfig {
            style: Style::Vit,
            width: hv,
            mlp: hv * cfg.mlp_ratio,
            heads: cfg.num_heads,
            eps: cfg.layer_norm_eps,
            cross_width: None,
            act: cfg.hidden_act,
        };
        let ln_pre = cfg
            .pre_norm
            .then(|| LayerNorm::new(vb.pp("ln_pre"), hv, cfg.layer_norm_eps))
            .transpose()?;
        let layers = (0..cfg.num_layers)
            .map(|n| Block::new(vb.pp("layers").pp(n), &block))
            .collect::<Result<_>>()?;
        let ln_final = LayerNorm::new(vb.pp("ln_final"), hv, cfg.layer_norm_eps)?;
        Ok(Self {
            cfg: cfg.clone(),
            patch,
            cls,
            pos_space,
            pos_time,
            ln_pre,
            layers,
            ln_final,
            params: root.parameters(),
        })
    }

    /// Its configuration.
    pub fn config(&self) -> &VideoEncoderConfig {
        &self.cfg
    }
}

impl VideoEncoder<ParamShape> {
    /// The parameter names and shapes of `cfg`'s encoder, in the order they are built.
    pub fn shapes(cfg: &VideoEncoderConfig) -> Vec<ParamShape> {
        shapes_of(|root| VideoEncoder::build(root, cfg))
    }
}

impl VideoEncoder {
    /// An encoder with `cfg`'s shapes and the `video.*` entries of `weights`.
    pub fn from_weights(gpu: &Gpu, cfg: &VideoEncoderConfig, weights: &TensorMap) -> Result<Self> {
        Self::build(
            &Builder::new(Upload::new(gpu, "video encoder", weights)),
            cfg,
        )
    }

    /// A freshly initialised encoder drawn from `seed` (see [`random_weights`]).
    pub fn random(gpu: &Gpu, cfg: &VideoEncoderConfig, seed: u64) -> Result<Self> {
        Self::from_weights(gpu, cfg, &random_weights(&VideoEncoder::shapes(cfg), seed))
    }

    /// Every parameter with its name, in name order.
    pub fn parameters(&self) -> Vec<(String, Tensor)> {
        by_name(self.params.clone())
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
        let diffs;
        let video = if c.frame_differences {
            diffs = frame_differences(tape, video)?;
            &diffs
        } else {
            video
        };
        let x = tubelet_embedding(tape, video, c.tubelet, &self.patch.w, &self.patch.b)?;
        let n = x.shape().dims()[1];
        // Space and time positions are factorised (TimeSformer / VindLU): a token at
        // (t, row, col) adds space[row·gw + col] + time[t], as two row gathers.
        let [_, gh, gw] = c.grid();
        let space_ids: Vec<u32> = (0..b * n).map(|i| (i % (gh * gw)) as u32).collect();
        let time_ids: Vec<u32> = (0..b * n).map(|i| ((i % n) / (gh * gw)) as u32).collect();
        let x = tape.reshape(&x, [b * n, hv])?;
        let x = add(tape, &x, &self.pos_space.forward(tape, &space_ids)?)?;
        let x = add(tape, &x, &self.pos_time.forward(tape, &time_ids)?)?;
        // The [CLS] token carries no position: it is learned, and attends to every token.
        let x = prepend_cls(tape, &tape.reshape(&x, [b, n, hv])?, &self.cls)?;
        let l = n + 1;
        let mut x = tape.reshape(&x, [b * l, hv])?;
        if let Some(ln_pre) = &self.ln_pre {
            x = ln_pre.forward(tape, &x)?;
        }
        for layer in &self.layers {
            x = layer.forward(tape, &x, (b, l), None, None)?;
        }
        let x = self.ln_final.forward(tape, &x)?;
        let cls = first_rows(tape, &x, b, l)?;
        Ok(VideoOutput {
            hidden: tape.reshape(&x, [b, l, hv])?,
            cls,
        })
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
