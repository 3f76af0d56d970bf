//! The parameter names and shapes of the whole model: the contract between the GPU model,
//! checkpoints and the Hugging Face import. Nothing here is written twice: each list is the
//! one its module's layers are built from ([`crate::nn::Builder`] over
//! [`crate::nn::Shapes`]), in build order (the order random init draws in).
//!
//! Conventions (the layers of [`crate::nn::layers`]):
//! - a linear layer `y = x·W + b` stores `<name>.weight` as **`[in, out]`** row-major (so the
//!   forward is a plain row-major matmul; Hugging Face's `[out, in]` is transposed on import)
//!   and `<name>.bias` as `[out]`;
//! - a layer norm stores `<name>.gamma` and `<name>.beta`, both `[hidden]`;
//! - an embedding table is `[rows, hidden]`.
//!
//! Text encoder (`text.`, BERT, post-LN; `H` hidden, `I` intermediate, `V` vocab, `P` positions,
//! `T` token types):
//! ```text
//! text.embeddings.word            [V, H]    text.embeddings.position  [P, H]
//! text.embeddings.token_type      [T, H]    text.embeddings.ln.{gamma,beta}  [H]
//! text.layers.N.attn.{q,k,v,out}.weight [H, H]   .bias [H]
//! text.layers.N.attn.ln.{gamma,beta}    [H]      (after the attention residual)
//! text.layers.N.ffn.up.weight   [H, I]  .bias [I]
//! text.layers.N.ffn.down.weight [I, H]  .bias [H]
//! text.layers.N.ffn.ln.{gamma,beta}     [H]      (after the feed-forward residual)
//! ```
//! Video encoder (`video.`, pre-LN ViT; `Hv` hidden, `D` tubelet values C·t·h·w):
//! `video.patch.{weight [D, Hv], bias}`, `video.cls [Hv]`, `video.pos.space [gh·gw, Hv]`,
//! `video.pos.time [gt, Hv]`, `video.ln_pre` (only with `pre_norm`), per layer
//! `video.layers.N.{ln1, attn.{q,k,v,out}, ln2, mlp.{up,down}}`, and `video.ln_final`.
//! Cross encoder (`cross.`): text-layer names, plus in cross layers
//! `cross.layers.N.xattn.{q [H, H], k [Hv, H], v [Hv, H], out [H, H]}` and `xattn.ln`.
//! Heads: `heads.vtc.{video_proj [Hv, E], text_proj [H, E]}`, `heads.vtc.temperature [1]`
//! (stored as the InfoNCE log-scale `ln(1/τ)`, so that it stays positive while it learns),
//! `heads.vtm [H, 2]`, `heads.mlm.{transform [H, H], ln, decoder_bias [V]}`; the MLM decoder's
//! weight is tied to `text.embeddings.word`, as in BERT.

use super::config::{BertConfig, ModelConfig};
use super::cross::CrossEncoder;
use super::heads::Heads;
use super::text::TextEncoder;
use super::video::VideoEncoder;

/// A parameter's name and shape.
pub type ParamShape = (String, Vec<usize>);

/// The BERT text encoder's parameters, in a fixed order.
pub fn text_parameter_shapes(cfg: &BertConfig) -> Vec<ParamShape> {
    TextEncoder::shapes(cfg)
}

/// Every learnable parameter of the model, in a fixed order.
pub fn model_parameter_shapes(cfg: &ModelConfig) -> Vec<ParamShape> {
    let mut out = VideoEncoder::shapes(&cfg.video);
    out.extend(TextEncoder::shapes(&cfg.text));
    out.extend(CrossEncoder::shapes(cfg));
    out.extend(Heads::shapes(cfg));
    out
}

impl ModelConfig {
    /// Number of learnable parameters (the shapes of [`model_parameter_shapes`]).
    pub fn parameter_count(&self) -> usize {
        model_parameter_shapes(self)
            .iter()
            .map(|(_, s)| s.iter().product::<usize>())
            .sum()
    }
}
