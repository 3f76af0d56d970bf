//! The GPU text encoder: BERT exactly as Hugging Face's `BertModel` computes it (word +
//! absolute position + token-type embeddings, post-LN layers, erf GELU, a key padding mask),
//! built from tape ops so that it trains, plus masked mean pooling (sentence-transformers).
//! Its layers are built once from a [`Builder`] under `text.`; the names and layouts are
//! documented in [`crate::model::params`].

use anyhow::{Result, bail};

use super::checkpoint::TensorMap;
use super::config::BertConfig;
use super::hf_bert::HfBert;
use super::params::ParamShape;
use crate::gpu::Gpu;
use crate::nn::{
    Activation, Block, BlockConfig, Builder, Embedding, LayerNorm, Source, Style, Upload, by_name,
    random_weights, shapes_of,
};
use crate::tensor::ops::attention::KeyMask;
use crate::tensor::ops::elementwise::add;
use crate::tensor::ops::matmul::matmul_op;
use crate::tensor::{Tape, Tensor};

/// A batch of tokenized texts, row-major `[batch, len]`.
#[derive(Debug, Clone, Copy)]
pub struct TextBatch<'a> {
    /// Word-piece ids.
    pub ids: &'a [u32],
    /// Segment ids (0 for single sentences).
    pub token_types: &'a [u32],
    /// 1 for real tokens, 0 for padding.
    pub mask: &'a [u32],
    /// Number of texts.
    pub batch: usize,
    /// Padded length.
    pub len: usize,
}

/// What the encoder returns.
pub struct TextOutput {
    /// Last hidden states `[batch, len, hidden]`.
    pub hidden: Tensor,
    /// Mean of the hidden states over real tokens `[batch, hidden]` (not normalized).
    pub pooled: Tensor,
}

/// BERT's encoder, its parameters named `text.*`: on the GPU (`P` = [`Tensor`]), or as
/// names and shapes only (`P` = [`ParamShape`], [`TextEncoder::shapes`]).
pub struct TextEncoder<P = Tensor> {
    cfg: BertConfig,
    pub(super) word: Embedding<P>,
    pub(super) position: Embedding<P>,
    pub(super) token_type: Embedding<P>,
    pub(super) ln: LayerNorm<P>,
    pub(super) layers: Vec<Block<P>>,
    params: Vec<(String, P)>,
}

impl<P: Clone> TextEncoder<P> {
    /// The encoder of `cfg` under `root` (`text.*`), its parameters built in BERT's order.
    pub fn build<S: Source<Param = P>>(root: &Builder<S>, cfg: &BertConfig) -> Result<Self> {
        let (h, eps) = (cfg.hidden_size, cfg.layer_norm_eps);
        let vb = root.pp("text");
        let emb = vb.pp("embeddings");
        let word = Embedding::new(&emb, "word", cfg.vocab_size, h)?;
        let position = Embedding::new(&emb, "position", cfg.max_position_embeddings, h)?;
        let token_type = Embedding::new(&emb, "token_type", cfg.type_vocab_size, h)?;
        let ln = LayerNorm::new(emb.pp("ln"), h, eps)?;
        let block = text_block(cfg, None);
        let layers = (0..cfg.num_hidden_layers)
            .map(|n| Block::new(vb.pp("layers").pp(n), &block))
            .collect::<Result<_>>()?;
        Ok(Self {
            cfg: cfg.clone(),
            word,
            position,
            token_type,
            ln,
            layers,
            params: root.parameters(),
        })
    }

    /// Its configuration.
    pub fn config(&self) -> &BertConfig {
        &self.cfg
    }
}

/// A BERT layer of `cfg` (post-LN), with cross-attention to states of width `cross_width`
/// when given (the cross encoder's layers).
pub fn text_block(cfg: &BertConfig, cross_width: Option<usize>) -> BlockConfig {
    BlockConfig {
        style: Style::Bert,
        width: cfg.hidden_size,
        mlp: cfg.intermediate_size,
        heads: cfg.num_attention_heads,
        eps: cfg.layer_norm_eps,
        cross_width,
        act: Activation::Gelu,
    }
}

impl TextEncoder<ParamShape> {
    /// The parameter names and shapes of `cfg`'s encoder, in the order they are built.
    pub fn shapes(cfg: &BertConfig) -> Vec<ParamShape> {
        shapes_of(|root| TextEncoder::build(root, cfg))
    }
}

impl TextEncoder {
    /// An encoder with `cfg`'s shapes and weights from `weights` (engine names and layouts,
    /// e.g. [`crate::model::hf_bert::HfBert::weights`] for `--init-text`).
    pub fn from_weights(gpu: &Gpu, cfg: &BertConfig, weights: &TensorMap) -> Result<Self> {
        Self::build(
            &Builder::new(Upload::new(gpu, "text encoder", weights)),
            cfg,
        )
    }

    /// The encoder of a Hugging Face BERT folder loaded with [`HfBert::load`] (`--init-text`).
    pub fn from_hf(gpu: &Gpu, hf: &HfBert) -> Result<Self> {
        Self::from_weights(gpu, &hf.config, &hf.weights)
    }

    /// A freshly initialized encoder (BERT's recipe: normal-ish weights of scale 0.02 drawn
    /// from `seed`, LayerNorm gain 1 and bias 0, linear biases 0).
    pub fn random(gpu: &Gpu, cfg: &BertConfig, seed: u64) -> Result<Self> {
        Self::from_weights(gpu, cfg, &random_weights(&TextEncoder::shapes(cfg), seed))
    }

    /// Every parameter with its name, in name order (for the optimizer and checkpoints).
    pub fn parameters(&self) -> Vec<(String, Tensor)> {
        by_name(self.params.clone())
    }

    /// The word table `[vocab, H]` (`text.embeddings.word`; the MLM decoder is tied to it).
    pub fn word_table(&self) -> &Tensor {
        &self.word.table
    }

    /// Hidden states and mean-pooled embeddings of `text` (padding neither attended to nor
    /// pooled).
    pub fn forward(&self, tape: &Tape, text: TextBatch) -> Result<TextOutput> {
        let c = &self.cfg;
        let (b, l, h) = (text.batch, text.len, c.hidden_size);
        let n = b * l;
        if text.ids.len() != n || text.token_types.len() != n || text.mask.len() != n {
            bail!("ids, token types and mask must all be [{b}, {l}]");
        }
        if l > c.max_position_embeddings {
            bail!(
                "text length {l} exceeds max_position_embeddings {}",
                c.max_position_embeddings
            );
        }
        // Attention treats any nonzero as present but pooling counts only 1: accept 0 and 1.
        if let Some(&m) = text.mask.iter().find(|&&m| m > 1) {
            bail!("attention mask value {m} is not 0 (padding) or 1 (token)");
        }
        if let Some(&t) = text
            .token_types
            .iter()
            .find(|&&t| t as usize >= c.type_vocab_size)
        {
            bail!(
                "token type {t} is not below type_vocab_size {}",
                c.type_vocab_size
            );
        }
        let positions: Vec<u32> = (0..n).map(|i| (i % l) as u32).collect();
        let words = self.word.forward(tape, text.ids)?;
        let pos = self.position.forward(tape, &positions)?;
        let types = self.token_type.forward(tape, text.token_types)?;
        let x = add(tape, &add(tape, &words, &pos)?, &types)?;
        let mut x = self.ln.forward(tape, &x)?;
        let mask = Some(KeyMask::Host(text.mask));
        for layer in &self.layers {
            x = layer.forward(tape, &x, (b, l), mask, None)?;
        }
        let pooled = mean_pool(tape, &x, text.mask, b, l)?;
        let hidden = tape.reshape(&x, [b, l, h])?;
        Ok(TextOutput { hidden, pooled })
    }
}

/// Mean of `x` `[B·L, H]` over the positions where `mask` `[B, L]` is 1: `[B, H]`. A batched
/// matmul with a constant pooling row per text, so the gradient reaches every real token.
pub fn mean_pool(tape: &Tape, x: &Tensor, mask: &[u32], b: usize, l: usize) -> Result<Tensor> {
    let h = x.shape().last();
    if mask.len() != b * l || x.numel() != b * l * h {
        bail!("mean pooling: mask must be [{b}, {l}] for hidden states [{b}·{l}, {h}]");
    }
    let mut weights = vec![0.0f32; b * l];
    for (row, w) in mask.chunks(l).zip(weights.chunks_mut(l)) {
        let count = row.iter().filter(|&&m| m == 1).count();
        if count == 0 {
            bail!("mean pooling: a text has no real token (its mask is all 0)");
        }
        for (m, wi) in row.iter().zip(w.iter_mut()) {
            *wi = if *m == 1 { 1.0 / count as f32 } else { 0.0 };
        }
    }
    let pool = Tensor::from_host(tape.gpu(), &weights, [b, 1, l])?;
    let x3 = tape.reshape(x, [b, l, h])?;
    let y = matmul_op(tape, &pool, &x3, None, false)?;
    Ok(tape.reshape(&y, [b, h])?)
}
