//! The GPU video encoder: a pre-LN ViT over tubelets (ViViT / VideoMAE style). Tubelet
//! embedding (flatten + linear), learned space and time position embeddings added per token,
//! a [CLS] token in front, pre-LN transformer blocks with erf GELU, and a final LayerNorm.
//! Parameters follow the names and layouts of [`crate::model::params`].

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow, bail};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::checkpoint::{HostTensor, TensorMap};
use super::config::ModelConfig;
use super::params::model_parameter_shapes;
use crate::tensor::ops::elementwise::add;
use crate::tensor::ops::embedding::embedding;
use crate::tensor::ops::layernorm::layer_norm;
use crate::tensor::ops::matmul::matmul_op;
use crate::tensor::ops::permute::swap_axes12;
use crate::tensor::ops::prepend::prepend;
use crate::tensor::ops::tape_ops::attention;
use crate::tensor::ops::tubelets::tubelets;
use crate::tensor::ops::unary::gelu;
use crate::tensor::{Shape, Tape, Tensor};
use crate::{gpu::Gpu, model::config::VideoEncoderConfig};

/// What the encoder returns.
pub struct VideoOutput {
    /// Final hidden states `[B, 1 + N, Hv]`, the [CLS] token first.
    pub hidden: Tensor,
    /// The [CLS] token's state `[B, Hv]` (the clip embedding for VTC).
    pub cls: Tensor,
}

/// The video encoder on the GPU, its parameters named `video.*`.
pub struct VideoEncoder {
    cfg: VideoEncoderConfig,
    params: BTreeMap<String, Tensor>,
}

/// The `video.*` names and shapes of `cfg`'s model.
fn video_shapes(cfg: &ModelConfig) -> Vec<(String, Vec<usize>)> {
    model_parameter_shapes(cfg)
        .into_iter()
        .filter(|(n, _)| n.starts_with("video."))
        .collect()
}

impl VideoEncoder {
    /// An encoder with `cfg.video`'s shapes and weights from `weights` (engine names).
    pub fn from_weights(gpu: &Gpu, cfg: &ModelConfig, weights: &TensorMap) -> Result<Self> {
        let mut params = BTreeMap::new();
        for (name, shape) in video_shapes(cfg) {
            let t = weights
                .get(&name)
                .ok_or_else(|| anyhow!("video encoder weight {name} missing"))?;
            if t.shape != shape {
                bail!(
                    "video encoder weight {name} has shape {:?}, the config needs {shape:?}",
                    t.shape
                );
            }
            let p = Tensor::param(gpu, &t.data, Shape(shape)).with_context(|| name.clone())?;
            params.insert(name, p);
        }
        Ok(Self {
            cfg: cfg.video.clone(),
            params,
        })
    }

    /// A freshly initialized encoder (ViT's recipe: weights of scale 0.02 from `seed`,
    /// LayerNorm gain 1 and bias 0, linear biases 0).
    pub fn random(gpu: &Gpu, cfg: &ModelConfig, seed: u64) -> Result<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut weights = TensorMap::new();
        for (name, shape) in video_shapes(cfg) {
            let n: usize = shape.iter().product();
            let data: Vec<f32> = if name.ends_with(".gamma") {
                vec![1.0; n]
            } else if name.ends_with(".beta") || name.ends_with(".bias") {
                vec![0.0; n]
            } else {
                (0..n)
                    .map(|_| (0..3).map(|_| rng.random_range(-0.02f32..0.02)).sum())
                    .collect()
            };
            weights.insert(name, HostTensor::new(shape, data));
        }
        Self::from_weights(gpu, cfg, &weights)
    }

    /// Every parameter with its name, in name order.
    pub fn parameters(&self) -> Vec<(String, Tensor)> {
        self.params
            .iter()
            .map(|(n, t)| (n.clone(), t.clone()))
            .collect()
    }

    fn p(&self, name: &str) -> Result<&Tensor> {
        self.params
            .get(name)
            .ok_or_else(|| anyhow!("video encoder parameter {name} missing"))
    }

    fn linear(&self, tape: &Tape, x: &Tensor, name: &str) -> Result<Tensor> {
        let w = self.p(&format!("{name}.weight"))?;
        let b = self.p(&format!("{name}.bias"))?;
        Ok(matmul_op(tape, x, w, Some(b), false)?)
    }

    fn norm(&self, tape: &Tape, x: &Tensor, name: &str) -> Result<Tensor> {
        let (g, b) = (
            self.p(&format!("{name}.gamma"))?,
            self.p(&format!("{name}.beta"))?,
        );
        Ok(layer_norm(tape, x, g, b, self.cfg.layer_norm_eps as f32)?)
    }

    /// Encode `video` `[B, T, C, H, W]` (the compositor's layout).
    pub fn forward(&self, tape: &Tape, video: &Tensor) -> Result<VideoOutput> {
        let c = &self.cfg;
        let want = [c.frames, c.channels, c.height, c.width];
        let d = video.shape().dims();
        if d.len() != 5 || d[1..] != want {
            bail!(
                "video encoder: input {} does not match the config's (B, {}, {}, {}, {})",
                video.shape(),
                c.frames,
                c.channels,
                c.height,
                c.width
            );
        }
        let (b, hv) = (d[0], c.hidden_size);
        let [gt, gh, gw] = c.grid();
        let (space, n) = (gh * gw, gt * gh * gw);
        let patches = tubelets(tape, video, c.tubelet)?;
        let patches = tape.reshape(&patches, [b * n, c.tubelet_dim()])?;
        let x = self.linear(tape, &patches, "video.patch")?;
        // Factorized positions: token (t, y, x) gets space[y·gw + x] + time[t].
        let sid: Vec<u32> = (0..b * n).map(|i| ((i % n) % space) as u32).collect();
        let tid: Vec<u32> = (0..b * n).map(|i| ((i % n) / space) as u32).collect();
        let pos = add(
            tape,
            &embedding(tape, self.p("video.pos.space")?, &sid)?,
            &embedding(tape, self.p("video.pos.time")?, &tid)?,
        )?;
        let x = tape.reshape(&add(tape, &x, &pos)?, [b, n, hv])?;
        let x = prepend(tape, self.p("video.cls")?, &x)?;
        let l = n + 1;
        let mut x = tape.reshape(&x, [b * l, hv])?;
        for layer in 0..c.num_layers {
            x = self.block(tape, &x, &format!("video.layers.{layer}"), b, l)?;
        }
        let x = self.norm(tape, &x, "video.ln_final")?;
        let hidden = tape.reshape(&x, [b, l, hv])?;
        // The [CLS] row through a one-hot batched matmul, so its gradient reaches the states.
        let pick: Vec<f32> = (0..b * l)
            .map(|i| f32::from(u8::from(i % l == 0)))
            .collect();
        let pick = Tensor::from_host(tape.gpu(), &pick, [b, 1, l])?;
        let cls = matmul_op(tape, &pick, &hidden, None, false)?;
        let cls = tape.reshape(&cls, [b, hv])?;
        Ok(VideoOutput { hidden, cls })
    }

    /// One pre-LN block over x `[B·L, Hv]`: x + attn(ln1(x)), then + mlp(ln2(x)).
    fn block(&self, tape: &Tape, x: &Tensor, p: &str, b: usize, l: usize) -> Result<Tensor> {
        let c = &self.cfg;
        let (hv, nh) = (c.hidden_size, c.num_heads);
        let y = self.norm(tape, x, &format!("{p}.ln1"))?;
        let heads = |name: &str| -> Result<Tensor> {
            let z = self.linear(tape, &y, &format!("{p}.attn.{name}"))?;
            Ok(swap_axes12(tape, &tape.reshape(&z, [b, l, nh, hv / nh])?)?)
        };
        let ctx = attention(tape, &heads("q")?, &heads("k")?, &heads("v")?, None)?;
        let ctx = tape.reshape(&swap_axes12(tape, &ctx)?, [b * l, hv])?;
        let x = add(tape, x, &self.linear(tape, &ctx, &format!("{p}.attn.out"))?)?;
        let y = self.norm(tape, &x, &format!("{p}.ln2"))?;
        let up = gelu(tape, &self.linear(tape, &y, &format!("{p}.mlp.up"))?)?;
        Ok(add(
            tape,
            &x,
            &self.linear(tape, &up, &format!("{p}.mlp.down"))?,
        )?)
    }
}
