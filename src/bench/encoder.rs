//! The model other engines' training benchmarks use (Burn's, for one): a pre-LN transformer
//! encoder over a random input, GELU MLPs, no dropout, a final layer norm, the mean over the
//! sequence and an MSE loss against a random target. `bench train` times its steps with Adam.

use anyhow::Result;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::gpu::Gpu;
use crate::nn::{
    Activation, Block, BlockConfig, Builder, LayerNorm, Source, Style, Upload, by_name,
    random_weights, shapes_of,
};
use crate::tensor::ops::adamw;
use crate::tensor::ops::elementwise::add;
use crate::tensor::ops::matmul::matmul_op;
use crate::tensor::ops::reduce::mean_all;
use crate::tensor::ops::unary::mul;
use crate::tensor::{Tape, Tensor};
use crate::train::optim::AdamW;

/// The encoder's sizes (`bench train` flags); the defaults are the benchmark's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EncoderDims {
    /// Sequences per batch B.
    pub batch: usize,
    /// Sequence length S.
    pub seq: usize,
    /// Model width D.
    pub width: usize,
    /// Attention heads (must divide D).
    pub heads: usize,
    /// MLP hidden width F.
    pub mlp: usize,
    /// Transformer layers.
    pub layers: usize,
}

impl Default for EncoderDims {
    fn default() -> Self {
        Self {
            batch: 8,
            seq: 256,
            width: 128,
            heads: 4,
            mlp: 512,
            layers: 2,
        }
    }
}

impl EncoderDims {
    /// Matmul FLOPs of one forward pass: per layer the Q, K, V and output projections
    /// (4 · 2BSD²), the MLP (2 · 2BSDF) and attention's two products (2 · 2BS²D); 2.147
    /// GFLOP at the defaults. The mean over the sequence (2BSD) is left out.
    pub fn forward_flops(&self) -> f64 {
        let (b, s, d, f) = (
            self.batch as f64,
            self.seq as f64,
            self.width as f64,
            self.mlp as f64,
        );
        let per_layer = 8.0 * b * s * d * d + 4.0 * b * s * d * f + 4.0 * b * s * s * d;
        per_layer * self.layers as f64
    }

    /// A one-line description, e.g. "B=8 S=256 D=128 H=4 F=512 L=2".
    pub fn describe(&self) -> String {
        format!(
            "B={} S={} D={} H={} F={} L={}",
            self.batch, self.seq, self.width, self.heads, self.mlp, self.layers
        )
    }

    /// Its layers under `root`: ViT blocks (`layers.N.{ln1, attn, ln2, mlp}`) and the
    /// final norm (`ln_final`).
    fn build<S: Source>(&self, root: &Builder<S>) -> Result<Layers<S::Param>> {
        let block = BlockConfig {
            style: Style::Vit,
            width: self.width,
            mlp: self.mlp,
            heads: self.heads,
            eps: EPS,
            cross_width: None,
            act: Activation::Gelu,
        };
        let blocks = (0..self.layers)
            .map(|l| Block::new(root.pp("layers").pp(l), &block))
            .collect::<Result<_>>()?;
        let ln_final = LayerNorm::new(root.pp("ln_final"), self.width, EPS)?;
        Ok((blocks, ln_final))
    }
}

/// The encoder's blocks and final norm.
type Layers<P> = (Vec<Block<P>>, LayerNorm<P>);

/// The benchmark encoder with its fixed random input and target.
pub struct TransformerEncoder {
    dims: EncoderDims,
    blocks: Vec<Block>,
    ln_final: LayerNorm,
    params: Vec<(String, Tensor)>,
    input: Tensor,
    neg_target: Tensor,
    pool: Tensor,
}

/// Layer-norm epsilon (PyTorch's and Burn's default).
const EPS: f64 = 1e-5;

impl TransformerEncoder {
    /// Weights, input `[B·S, D]` and target `[B, D]` drawn from `seed`.
    pub fn new(gpu: &Gpu, dims: EncoderDims, seed: u64) -> Result<Self> {
        anyhow::ensure!(
            dims.heads > 0 && dims.width.is_multiple_of(dims.heads),
            "{} heads do not divide width {}",
            dims.heads,
            dims.width
        );
        anyhow::ensure!(
            dims.batch > 0 && dims.seq > 0 && dims.mlp > 0 && dims.layers > 0,
            "every encoder size must be at least 1: {}",
            dims.describe()
        );
        let weights = random_weights(&shapes_of(|root| dims.build(root)), seed);
        let root = Builder::new(Upload::new(gpu, "transformer encoder", &weights));
        let (blocks, ln_final) = dims.build(&root)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x69_6e70_7574);
        let (b, s, d) = (dims.batch, dims.seq, dims.width);
        let x: Vec<f32> = (0..b * s * d)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let t: Vec<f32> = (0..b * d)
            .map(|_| -rng.random_range(-1.0f32..1.0))
            .collect();
        let pool = vec![1.0 / s as f32; b * s];
        Ok(Self {
            dims,
            blocks,
            ln_final,
            params: by_name(root.parameters()),
            input: Tensor::from_host(gpu, &x, [b * s, d])?,
            neg_target: Tensor::from_host(gpu, &t, [b, d])?,
            pool: Tensor::from_host(gpu, &pool, [b, 1, s])?,
        })
    }

    /// Every parameter with its name (for Adam).
    pub fn parameters(&self) -> Vec<(String, Tensor)> {
        self.params.clone()
    }

    /// An encoder of `dims` (seed 2024) and Adam over its parameters at `lr`, no weight
    /// decay and no clipping: the `transformer-encoder` row's, and `selftest`'s.
    pub fn with_adam(gpu: &Gpu, dims: EncoderDims, lr: f32) -> Result<(Self, AdamW)> {
        let model = Self::new(gpu, dims, 2024)?;
        let hyper = adamw::AdamWHyper {
            lr,
            weight_decay: 0.0,
            ..adamw::AdamWHyper::default()
        };
        let optim = AdamW::new(gpu, model.parameters(), hyper, 0.0)?;
        Ok((model, optim))
    }

    /// The MSE loss of one forward pass, a scalar `(1,)`.
    pub fn forward_loss(&self, tape: &Tape) -> Result<Tensor> {
        let d = self.dims;
        let mut x = self.input.clone();
        for block in &self.blocks {
            x = block.forward(tape, &x, (d.batch, d.seq), None, None)?;
        }
        let x = self.ln_final.forward(tape, &x)?;
        let x3 = tape.reshape(&x, [d.batch, d.seq, d.width])?;
        let mean = matmul_op(tape, &self.pool, &x3, None, false)?;
        let mean = tape.reshape(&mean, [d.batch, d.width])?;
        let diff = add(tape, &mean, &self.neg_target)?;
        Ok(mean_all(tape, &mul(tape, &diff, &diff)?)?)
    }
}
