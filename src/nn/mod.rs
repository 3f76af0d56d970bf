//! Building blocks shared by the text, video and cross-modal encoders and the heads: a named
//! parameter set with its linear and layer-norm layers, multi-head attention (self or cross)
//! over the fused attention tape op, the transformer block ([`block`]) and the row gather
//! that picks [CLS] states.
//! Names and layouts follow [`crate::model::params`].

use std::collections::BTreeMap;

pub mod activation;
pub mod block;
pub use activation::Activation;
pub use block::{BERT_NAMES, Block, BlockNames, CrossInput, Norm, VIT_NAMES};

use anyhow::{Context, Result, anyhow, bail};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::gpu::Gpu;
use crate::model::checkpoint::{HostTensor, TensorMap};
use crate::model::params::ParamShape;
use crate::tensor::ops::embedding::embedding;
use crate::tensor::ops::layernorm::layer_norm;
use crate::tensor::ops::matmul::matmul_op;
use crate::tensor::ops::permute::swap_axes12;
pub use crate::tensor::ops::tape_ops::KeyMask;
use crate::tensor::ops::tape_ops::{TokenAttention, attention_tokens};
use crate::tensor::{Shape, Tape, Tensor};

/// Trainable parameters of one module, by name.
pub struct ParamSet {
    what: &'static str,
    params: BTreeMap<String, Tensor>,
}

impl ParamSet {
    /// Upload `shapes`' parameters from `weights`; a missing or misshapen weight is an error
    /// naming it and `what` (the module).
    pub fn from_weights(
        gpu: &Gpu,
        what: &'static str,
        shapes: &[ParamShape],
        weights: &TensorMap,
    ) -> Result<Self> {
        let mut params = BTreeMap::new();
        for (name, shape) in shapes {
            let t = weights
                .get(name)
                .ok_or_else(|| anyhow!("{what} weight {name} missing"))?;
            if &t.shape != shape {
                bail!(
                    "{what} weight {name} has shape {:?}, the config needs {shape:?}",
                    t.shape
                );
            }
            let p =
                Tensor::param(gpu, &t.data, Shape(shape.clone())).with_context(|| name.clone())?;
            params.insert(name.clone(), p);
        }
        Ok(Self { what, params })
    }

    /// The parameter `name`.
    pub fn get(&self, name: &str) -> Result<&Tensor> {
        self.params
            .get(name)
            .ok_or_else(|| anyhow!("{} parameter {name} missing", self.what))
    }

    /// Every parameter with its name, in name order (for the optimizer and checkpoints).
    pub fn parameters(&self) -> Vec<(String, Tensor)> {
        self.params
            .iter()
            .map(|(n, t)| (n.clone(), t.clone()))
            .collect()
    }

    /// `x · name.weight + name.bias` over the last dimension.
    pub fn linear(&self, tape: &Tape, x: &Tensor, name: &str) -> Result<Tensor> {
        let w = self.get(&format!("{name}.weight"))?;
        let b = self.get(&format!("{name}.bias"))?;
        Ok(matmul_op(tape, x, w, Some(b), false)?)
    }

    /// Layer norm over the last dimension with `name.gamma` and `name.beta`.
    pub fn layer_norm(&self, tape: &Tape, x: &Tensor, name: &str, eps: f64) -> Result<Tensor> {
        let g = self.get(&format!("{name}.gamma"))?;
        let b = self.get(&format!("{name}.beta"))?;
        Ok(layer_norm(tape, x, g, b, eps as f32)?)
    }

    /// Multi-head attention with projections `{prefix}.{q,k,v,out}`: queries from `xq`
    /// `[B·Lq, Hq]`, keys and values from `xkv` `[B·Lk, Hkv]`, `key_mask` `[B, Lk]` (1 = real
    /// key) → `[B·Lq, H]` after the output projection. Self-attention passes the same tensor
    /// twice; cross-attention passes the other modality as `xkv`.
    pub fn attention(&self, tape: &Tape, prefix: &str, a: AttentionInput) -> Result<Tensor> {
        let q = self.linear(tape, a.xq, &format!("{prefix}.q"))?;
        let k = self.linear(tape, a.xkv, &format!("{prefix}.k"))?;
        let v = self.linear(tape, a.xkv, &format!("{prefix}.v"))?;
        let h = q.shape().last();
        if h % a.heads != 0 || k.shape().last() != h {
            bail!("{prefix}: {} heads do not split width {h}", a.heads);
        }
        // The kernel reads the heads where the projections wrote them (no permutes).
        let dims = TokenAttention {
            batch: a.batch,
            lq: a.lq,
            lk: a.lk,
            heads: a.heads,
        };
        let ctx = attention_tokens(tape, &q, &k, &v, dims, a.key_mask)?;
        self.linear(tape, &ctx, &format!("{prefix}.out"))
    }
}

/// The operands of [`ParamSet::attention`].
#[derive(Clone, Copy)]
pub struct AttentionInput<'a> {
    /// Query states `[B·Lq, Hq]`.
    pub xq: &'a Tensor,
    /// Key/value states `[B·Lk, Hkv]`.
    pub xkv: &'a Tensor,
    /// Batch B.
    pub batch: usize,
    /// Query length Lq.
    pub lq: usize,
    /// Key length Lk.
    pub lk: usize,
    /// Heads.
    pub heads: usize,
    /// `[B, Lk]`, 1 for a real key, 0 for padding; None attends to every key.
    pub key_mask: Option<KeyMask<'a>>,
}

/// `[B·L, H]` → `[B, heads, L, H/heads]`: the layout the attention kernel reads.
pub fn split_heads(tape: &Tape, x: &Tensor, b: usize, l: usize, heads: usize) -> Result<Tensor> {
    let h = x.shape().last();
    Ok(swap_axes12(
        tape,
        &tape.reshape(x, [b, l, heads, h / heads])?,
    )?)
}

/// Rows `0, L, 2L, …` of `x` `[B·L, H]` (each sequence's first, [CLS], state) → `[B, H]`.
/// A gather through the embedding op, so the gradient scatters back to those rows only.
pub fn first_rows(tape: &Tape, x: &Tensor, b: usize, l: usize) -> Result<Tensor> {
    let rows = tape.reshape(x, [x.numel() / x.shape().last(), x.shape().last()])?;
    if rows.shape().dims()[0] != b * l {
        bail!(
            "first_rows: {} rows are not [{b}·{l}]",
            rows.shape().dims()[0]
        );
    }
    let ids: Vec<u32> = (0..b).map(|i| (i * l) as u32).collect();
    Ok(embedding(tape, &rows, &ids)?)
}

/// Fresh weights for `shapes`, drawn from `seed`: layer-norm gains 1, biases and betas 0,
/// everything else BERT's scale (a sum of three uniforms of ±0.02, near its truncated normal).
pub fn random_weights(shapes: &[ParamShape], seed: u64) -> TensorMap {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut weights = TensorMap::new();
    for (name, shape) in shapes {
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
        weights.insert(name.clone(), HostTensor::new(shape.clone(), data));
    }
    weights
}
