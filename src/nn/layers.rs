//! The typed layers every module is made of, each built once from a [`Builder`] prefix and
//! holding its parameters in fields: [`Linear`], [`LayerNorm`], [`Embedding`] and
//! multi-head [`Attention`]. `P` is what a parameter is: a GPU [`Tensor`] for the model
//! that runs, a `(name, shape)` when a module is built from [`super::Shapes`] only to list
//! its parameters.
//!
//! Layouts: a linear layer `y = x·W + b` stores `weight` as **`[in, out]`** row-major (a
//! plain row-major matmul; Hugging Face's `[out, in]` is transposed on import) and `bias`
//! `[out]`; a layer norm `gamma` and `beta`, both `[width]`; an embedding table is
//! `[rows, width]`.

use anyhow::{Result, bail};

use super::builder::{Builder, Source};
use crate::tensor::ops::attention::KeyMask;
use crate::tensor::ops::attention::{TokenAttention, attention_tokens};
use crate::tensor::ops::embedding::embedding;
use crate::tensor::ops::layernorm::layer_norm;
use crate::tensor::ops::matmul::matmul_op;
use crate::tensor::{Tape, Tensor};

/// `y = x·weight + bias` over the last dimension.
#[derive(Clone)]
pub struct Linear<P = Tensor> {
    /// `weight` `[in, out]`.
    pub w: P,
    /// `bias` `[out]`.
    pub b: P,
}

impl<P> Linear<P> {
    /// A `din` → `dout` layer under `vb`'s prefix.
    pub fn new<S: Source<Param = P>>(vb: Builder<S>, din: usize, dout: usize) -> Result<Self> {
        Ok(Self {
            w: vb.param("weight", &[din, dout])?,
            b: vb.param("bias", &[dout])?,
        })
    }
}

impl Linear {
    /// `x · weight + bias` over the last dimension of `x`.
    pub fn forward(&self, tape: &Tape, x: &Tensor) -> Result<Tensor> {
        Ok(matmul_op(tape, x, &self.w, Some(&self.b), false)?)
    }
}

/// Layer norm over the last dimension, with gain `gamma` and shift `beta`.
#[derive(Clone)]
pub struct LayerNorm<P = Tensor> {
    /// `gamma` `[width]`.
    pub gamma: P,
    /// `beta` `[width]`.
    pub beta: P,
    /// Epsilon.
    pub eps: f64,
}

impl<P> LayerNorm<P> {
    /// A norm over `width` values under `vb`'s prefix.
    pub fn new<S: Source<Param = P>>(vb: Builder<S>, width: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            gamma: vb.param("gamma", &[width])?,
            beta: vb.param("beta", &[width])?,
            eps,
        })
    }
}

impl LayerNorm {
    /// The normalised `x`.
    pub fn forward(&self, tape: &Tape, x: &Tensor) -> Result<Tensor> {
        Ok(layer_norm(
            tape,
            x,
            &self.gamma,
            &self.beta,
            self.eps as f32,
        )?)
    }
}

/// A table of `rows` vectors, gathered by id. Its parameter is the prefix itself (BERT's
/// `embeddings.word`, not `embeddings.word.weight`).
#[derive(Clone)]
pub struct Embedding<P = Tensor> {
    /// The table `[rows, width]`.
    pub table: P,
}

impl<P> Embedding<P> {
    /// A `[rows, width]` table named `name` under `vb`'s prefix.
    pub fn new<S: Source<Param = P>>(
        vb: &Builder<S>,
        name: &str,
        rows: usize,
        width: usize,
    ) -> Result<Self> {
        Ok(Self {
            table: vb.param(name, &[rows, width])?,
        })
    }
}

impl Embedding {
    /// Rows `ids` of the table, `[ids.len(), width]`.
    pub fn forward(&self, tape: &Tape, ids: &[u32]) -> Result<Tensor> {
        Ok(embedding(tape, &self.table, ids)?)
    }
}

/// Multi-head attention with projections `q`, `k`, `v` and `out`: queries of width H, keys
/// and values of width Hkv projected to H.
#[derive(Clone)]
pub struct Attention<P = Tensor> {
    /// Query projection `[H, H]`.
    pub q: Linear<P>,
    /// Key projection `[Hkv, H]`.
    pub k: Linear<P>,
    /// Value projection `[Hkv, H]`.
    pub v: Linear<P>,
    /// Output projection `[H, H]`.
    pub out: Linear<P>,
    /// Heads.
    pub heads: usize,
}

impl<P> Attention<P> {
    /// Attention of width `width` over keys of width `kv_width` under `vb`'s prefix.
    pub fn new<S: Source<Param = P>>(
        vb: Builder<S>,
        width: usize,
        kv_width: usize,
        heads: usize,
    ) -> Result<Self> {
        Ok(Self {
            q: Linear::new(vb.pp("q"), width, width)?,
            k: Linear::new(vb.pp("k"), kv_width, width)?,
            v: Linear::new(vb.pp("v"), kv_width, width)?,
            out: Linear::new(vb.pp("out"), width, width)?,
            heads,
        })
    }
}

impl Attention {
    /// Queries from `a.xq` `[B·Lq, Hq]`, keys and values from `a.xkv` `[B·Lk, Hkv]`,
    /// `a.key_mask` `[B, Lk]` (1 = real key) → `[B·Lq, H]` after the output projection.
    /// Self-attention passes the same tensor twice; cross-attention the other modality.
    pub fn forward(&self, tape: &Tape, a: AttentionInput) -> Result<Tensor> {
        let q = self.q.forward(tape, a.xq)?;
        let k = self.k.forward(tape, a.xkv)?;
        let v = self.v.forward(tape, a.xkv)?;
        let h = q.shape().last();
        if h % self.heads != 0 || k.shape().last() != h {
            bail!("attention: {} heads do not split width {h}", self.heads);
        }
        // The kernel reads the heads where the projections wrote them (no permutes).
        let dims = TokenAttention {
            batch: a.batch,
            lq: a.lq,
            lk: a.lk,
            heads: self.heads,
        };
        let ctx = attention_tokens(tape, &q, &k, &v, dims, a.key_mask)?;
        self.out.forward(tape, &ctx)
    }
}

/// The operands of [`Attention::forward`].
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
    /// `[B, Lk]`, 1 for a real key, 0 for padding; None attends to every key.
    pub key_mask: Option<KeyMask<'a>>,
}
