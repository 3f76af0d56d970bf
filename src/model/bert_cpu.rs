//! A CPU reference forward of the BERT text encoder, in plain loops with f64 accumulation:
//! the ground truth for the GPU text encoder's tests and for the Hugging Face import.
//! Post-LN layers, erf GELU, learned absolute positions, token types and an attention mask,
//! exactly as Hugging Face's `BertModel` computes them.

use anyhow::{Result, bail};

use super::checkpoint::TensorMap;
use super::config::BertConfig;
use super::text::TextEncoder;
use crate::nn::{Block, Builder, Host, LayerNorm, Linear};

/// The text encoder's weights (engine names, see [`crate::model::params`]) and config.
pub struct BertCpu<'a> {
    cfg: &'a BertConfig,
    w: &'a TensorMap,
}

/// The text encoder's layers over host slices of the weights.
type HostText<'a> = TextEncoder<&'a [f32]>;

impl<'a> BertCpu<'a> {
    /// Borrow a config and its `text.*` weights.
    pub fn new(cfg: &'a BertConfig, weights: &'a TensorMap) -> Self {
        Self { cfg, w: weights }
    }

    /// Last hidden states `[B, L, H]` of row-major `[B, L]` ids, token types and mask.
    pub fn forward(
        &self,
        ids: &[u32],
        token_types: &[u32],
        mask: &[u32],
        batch: usize,
        len: usize,
    ) -> Result<Vec<f32>> {
        let c = self.cfg;
        let h = c.hidden_size;
        if ids.len() != batch * len || token_types.len() != ids.len() || mask.len() != ids.len() {
            bail!("ids, token types and mask must all be [{batch}, {len}]");
        }
        if len > c.max_position_embeddings {
            bail!(
                "text length {len} exceeds max_position_embeddings {}",
                c.max_position_embeddings
            );
        }
        let enc: HostText =
            TextEncoder::build(&Builder::new(Host::new("text encoder", self.w)), c)?;
        let (word, pos, typ) = (enc.word.table, enc.position.table, enc.token_type.table);
        let mut out = Vec::with_capacity(batch * len * h);
        for b in 0..batch {
            let row = b * len..(b + 1) * len;
            let mut x = vec![0.0f32; len * h];
            for (t, i) in row.clone().enumerate() {
                let (id, tt) = (ids[i] as usize, token_types[i] as usize);
                if id >= c.vocab_size || tt >= c.type_vocab_size {
                    bail!("token {id} (type {tt}) is outside the vocabulary");
                }
                for j in 0..h {
                    x[t * h + j] = word[id * h + j] + pos[t * h + j] + typ[tt * h + j];
                }
            }
            norm(&mut x, &enc.ln);
            for layer in &enc.layers {
                x = self.layer(layer, &x, &mask[row.clone()]);
            }
            out.extend_from_slice(&x);
        }
        Ok(out)
    }

    /// One post-LN layer over one sequence `x` `[L, H]`.
    fn layer(&self, p: &Block<&[f32]>, x: &[f32], mask: &[u32]) -> Vec<f32> {
        let c = self.cfg;
        let (h, nh) = (c.hidden_size, c.num_attention_heads);
        let lin = |l: &Linear<&[f32]>, inp: &[f32], din: usize, dout: usize| {
            linear(inp, din, dout, l.w, l.b)
        };
        let (q, k, v) = (
            lin(&p.attn.q, x, h, h),
            lin(&p.attn.k, x, h, h),
            lin(&p.attn.v, x, h, h),
        );
        let ctx = attention(&q, &k, &v, mask, nh);
        let mut a = lin(&p.attn.out, &ctx, h, h);
        for (ai, xi) in a.iter_mut().zip(x) {
            *ai += xi;
        }
        norm(&mut a, &p.attn_ln);
        let mut up = lin(&p.up, &a, h, c.intermediate_size);
        for u in up.iter_mut() {
            *u = gelu(*u as f64) as f32;
        }
        let mut y = lin(&p.down, &up, c.intermediate_size, h);
        for (yi, ai) in y.iter_mut().zip(&a) {
            *yi += ai;
        }
        norm(&mut y, &p.mlp_ln);
        y
    }
}

/// [`layer_norm`] of `x` with `ln`'s parameters and epsilon.
fn norm(x: &mut [f32], ln: &LayerNorm<&[f32]>) {
    layer_norm(x, ln.gamma.len(), ln.gamma, ln.beta, ln.eps);
}

/// Multi-head scaled dot-product attention: `q` `[Lq, H]`, `k` and `v` `[Lk, H]`, keys with
/// `key_mask` 0 ignored → `[Lq, H]`. Serves self-attention (Lq = Lk) and cross-attention.
pub fn attention(q: &[f32], k: &[f32], v: &[f32], key_mask: &[u32], num_heads: usize) -> Vec<f32> {
    let lk = key_mask.len();
    let h = k.len() / lk;
    let lq = q.len() / h;
    let d = h / num_heads;
    let scale = 1.0 / (d as f64).sqrt();
    let mut ctx = vec![0.0f32; lq * h];
    let mut p_row = vec![0.0f64; lk];
    for head in 0..num_heads {
        let off = head * d;
        for i in 0..lq {
            for (j, pj) in p_row.iter_mut().enumerate() {
                let dot: f64 = (0..d)
                    .map(|e| q[i * h + off + e] as f64 * k[j * h + off + e] as f64)
                    .sum();
                // Masked keys get -inf: exp() makes them exactly 0, as HF's min-float does.
                *pj = if key_mask[j] == 1 {
                    dot * scale
                } else {
                    f64::NEG_INFINITY
                };
            }
            let m = p_row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut z = 0.0;
            for pj in p_row.iter_mut() {
                *pj = (*pj - m).exp();
                z += *pj;
            }
            for e in 0..d {
                let acc: f64 = (0..lk).map(|j| p_row[j] * v[j * h + off + e] as f64).sum();
                ctx[i * h + off + e] = (acc / z) as f32;
            }
        }
    }
    ctx
}

/// `x · w + b` for `x` `[rows, din]`, `w` `[din, dout]` (engine layout), f64 accumulation.
pub fn linear(x: &[f32], din: usize, dout: usize, w: &[f32], b: &[f32]) -> Vec<f32> {
    let rows = x.len() / din;
    let mut out = Vec::with_capacity(rows * dout);
    let mut acc = vec![0.0f64; dout];
    for r in 0..rows {
        for (a, bi) in acc.iter_mut().zip(b) {
            *a = *bi as f64;
        }
        for k in 0..din {
            let xk = x[r * din + k] as f64;
            for (a, wk) in acc.iter_mut().zip(&w[k * dout..(k + 1) * dout]) {
                *a += xk * *wk as f64;
            }
        }
        out.extend(acc.iter().map(|&a| a as f32));
    }
    out
}

/// Layer norm over the last dimension (`width`) of `x`, in place, biased variance.
pub fn layer_norm(x: &mut [f32], width: usize, gamma: &[f32], beta: &[f32], eps: f64) {
    for row in x.chunks_exact_mut(width) {
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / width as f64;
        let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / width as f64;
        let inv = 1.0 / (var + eps).sqrt();
        for (j, v) in row.iter_mut().enumerate() {
            *v = ((*v as f64 - mean) * inv * gamma[j] as f64 + beta[j] as f64) as f32;
        }
    }
}

/// BERT's GELU, the exact erf form: x · Φ(x).
pub fn gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2))
}

/// The error function to ~1e-13 (Taylor series near 0, Laplace continued fraction beyond),
/// since `std` has none on stable Rust.
pub fn erf(x: f64) -> f64 {
    let a = x.abs();
    let r = if a < 2.5 {
        // Σ (−1)ⁿ x^(2n+1) / (n! (2n+1)); terms shrink fast enough below 2.5.
        let (mut term, mut sum, x2) = (a, a, a * a);
        for n in 1..200 {
            term *= -x2 / n as f64;
            let t = term / (2 * n + 1) as f64;
            sum += t;
            if t.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        // erfc(a) = e^(−a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + …)))).
        let mut k = a;
        for n in (1..=80).rev() {
            k = a + (n as f64 / 2.0) / k;
        }
        1.0 - (-a * a).exp() / (std::f64::consts::PI.sqrt() * k)
    };
    r.copysign(x)
}

/// Mask-aware mean over the sequence of hidden states `[B, L, H]` → `[B, H]` (the pooling of
/// sentence-transformers), optionally L2-normalised per row.
pub fn mean_pool(
    hidden: &[f32],
    mask: &[u32],
    batch: usize,
    len: usize,
    normalize: bool,
) -> Vec<f32> {
    let h = hidden.len() / (batch * len);
    let mut out = Vec::with_capacity(batch * h);
    for b in 0..batch {
        let mut acc = vec![0.0f64; h];
        let mut count = 0.0f64;
        for t in 0..len {
            if mask[b * len + t] == 1 {
                count += 1.0;
                let row = &hidden[(b * len + t) * h..(b * len + t + 1) * h];
                for (a, v) in acc.iter_mut().zip(row) {
                    *a += *v as f64;
                }
            }
        }
        // sentence-transformers clamps the count at 1e-9 so an all-padding row gives zeros.
        let count = count.max(1e-9);
        let mut row: Vec<f64> = acc.iter().map(|a| a / count).collect();
        if normalize {
            let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
            row.iter_mut().for_each(|v| *v /= norm);
        }
        out.extend(row.iter().map(|&v| v as f32));
    }
    out
}
