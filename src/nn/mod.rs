//! Building blocks shared by the text, video and cross-modal encoders and the heads: the
//! name-prefix [`Builder`] every module is built from, the typed layers ([`layers`]), the
//! transformer block ([`block`]), random initial weights and the row gather that picks
//! [CLS] states.

pub mod activation;
pub mod block;
pub mod builder;
pub mod layers;
pub use activation::Activation;
pub use block::{Block, BlockConfig, CrossInput, Style};
pub use builder::{Builder, Host, Shapes, Source, Upload, by_name, shapes_of};
pub use layers::{Attention, AttentionInput, Embedding, LayerNorm, Linear};

use anyhow::{Result, bail};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::checkpoint::{HostTensor, TensorMap};
use crate::model::params::ParamShape;
use crate::tensor::ops::embedding::embedding;
use crate::tensor::ops::permute::swap_axes12;
use crate::tensor::{Tape, Tensor};

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
