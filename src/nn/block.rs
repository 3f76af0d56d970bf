//! One transformer block for every encoder: self-attention, optional cross-attention and a
//! GELU (or quick-GELU) MLP, each a residual sublayer normalised before (pre-LN: ViT, the video encoder) or
//! after (post-LN: BERT, the text and cross encoders) its residual add. Parameter names are
//! the encoders' own ([`BlockNames`]), so checkpoints and imported BERT weights keep theirs.

use anyhow::Result;

use super::{Activation, AttentionInput, KeyMask, ParamSet};
use crate::tensor::ops::elementwise::add;
use crate::tensor::{Tape, Tensor};

/// Where a sublayer's layer norm sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norm {
    /// `x + f(LN(x))` (ViT, GPT-2).
    Pre,
    /// `LN(x + f(x))` (BERT).
    Post,
}

/// The parameter names of a block's parts, after the block's prefix.
#[derive(Debug, Clone, Copy)]
pub struct BlockNames {
    /// Self-attention projections `{attn}.{q,k,v,out}`.
    pub attn: &'static str,
    /// The self-attention sublayer's layer norm.
    pub attn_ln: &'static str,
    /// Cross-attention projections.
    pub xattn: &'static str,
    /// The cross-attention sublayer's layer norm.
    pub xattn_ln: &'static str,
    /// The MLP's first linear layer (before the GELU).
    pub up: &'static str,
    /// The MLP's second linear layer.
    pub down: &'static str,
    /// The MLP sublayer's layer norm.
    pub mlp_ln: &'static str,
}

/// BERT's names (the text and cross encoders).
pub const BERT_NAMES: BlockNames = BlockNames {
    attn: "attn",
    attn_ln: "attn.ln",
    xattn: "xattn",
    xattn_ln: "xattn.ln",
    up: "ffn.up",
    down: "ffn.down",
    mlp_ln: "ffn.ln",
};

/// ViT's names (the video encoder).
pub const VIT_NAMES: BlockNames = BlockNames {
    attn: "attn",
    attn_ln: "ln1",
    xattn: "xattn",
    xattn_ln: "xattn.ln",
    up: "mlp.up",
    down: "mlp.down",
    mlp_ln: "ln2",
};

/// A block's shape: where its norms sit, their epsilon, its heads and names.
#[derive(Debug, Clone, Copy)]
pub struct Block {
    /// Pre-LN or post-LN.
    pub norm: Norm,
    /// Layer-norm epsilon.
    pub eps: f64,
    /// Attention heads (self and cross).
    pub heads: usize,
    /// Parameter names.
    pub names: BlockNames,
    /// The MLP's activation.
    pub act: Activation,
}

/// The keys and values of a block's cross-attention.
#[derive(Clone, Copy)]
pub struct CrossInput<'a> {
    /// The other modality's states `[B·Lk, Hkv]`.
    pub states: &'a Tensor,
    /// Their length Lk.
    pub len: usize,
    /// `[B, Lk]`, 1 for a real key; None attends to every key.
    pub mask: Option<KeyMask<'a>>,
}

impl ParamSet {
    /// One transformer block `prefix` over x `[B·L, H]`: self-attention (keys masked by
    /// `mask`), then cross-attention to `cross` when given, then the MLP.
    #[allow(clippy::too_many_arguments)]
    pub fn block(
        &self,
        tape: &Tape,
        x: &Tensor,
        prefix: &str,
        block: &Block,
        (batch, len): (usize, usize),
        mask: Option<KeyMask>,
        cross: Option<CrossInput>,
    ) -> Result<Tensor> {
        let n = &block.names;
        let name = |part: &str| format!("{prefix}.{part}");
        let attend = |h: &Tensor, part: &str, xkv: Option<CrossInput>| {
            let (kv, lk, key_mask) = match xkv {
                Some(c) => (c.states, c.len, c.mask),
                None => (h, len, mask),
            };
            self.attention(
                tape,
                &name(part),
                AttentionInput {
                    xq: h,
                    xkv: kv,
                    batch,
                    lq: len,
                    lk,
                    heads: block.heads,
                    key_mask,
                },
            )
        };
        let mlp = |h: &Tensor| {
            let up = block.act.apply(tape, &self.linear(tape, h, &name(n.up))?)?;
            self.linear(tape, &up, &name(n.down))
        };
        let mut x = self.sublayer(tape, x, &name(n.attn_ln), block, |h| {
            attend(h, n.attn, None)
        })?;
        if let Some(c) = cross {
            x = self.sublayer(tape, &x, &name(n.xattn_ln), block, |h| {
                attend(h, n.xattn, Some(c))
            })?;
        }
        self.sublayer(tape, &x, &name(n.mlp_ln), block, mlp)
    }

    /// `x + f(LN(x))` (pre-LN) or `LN(x + f(x))` (post-LN), the norm named `ln`.
    fn sublayer(
        &self,
        tape: &Tape,
        x: &Tensor,
        ln: &str,
        block: &Block,
        f: impl FnOnce(&Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        Ok(match block.norm {
            Norm::Pre => {
                let h = self.layer_norm(tape, x, ln, block.eps)?;
                add(tape, x, &f(&h)?)?
            }
            Norm::Post => {
                let y = add(tape, &f(x)?, x)?;
                self.layer_norm(tape, &y, ln, block.eps)?
            }
        })
    }
}
