//! One transformer block for every encoder: self-attention, optional cross-attention and a
//! GELU (or quick-GELU) MLP, each a residual sublayer normalised before (pre-LN: ViT, the
//! video encoder) or after (post-LN: BERT, the text and cross encoders) its residual add.
//! Its parameter names (and the order they are built in, which random init draws in) are
//! each family's own ([`Style`]), so checkpoints and imported BERT weights keep theirs.

use anyhow::{Result, bail};

use super::activation::Activation;
use super::builder::{Builder, Source};
use super::layers::{Attention, AttentionInput, LayerNorm, Linear};
use crate::tensor::ops::attention::KeyMask;
use crate::tensor::ops::elementwise::add;
use crate::tensor::{Tape, Tensor};

/// A block family: where its norms sit and what its parts are called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// BERT (the text and cross encoders): post-LN, `LN(x + f(x))`; parts `attn`,
    /// `attn.ln`, `ffn.{up,down}`, `ffn.ln`, and `xattn`, `xattn.ln` with cross-attention.
    Bert,
    /// ViT (the video encoder): pre-LN, `x + f(LN(x))`; parts `ln1`, `attn`, `ln2`,
    /// `mlp.{up,down}`.
    Vit,
}

/// A block's sizes.
#[derive(Debug, Clone, Copy)]
pub struct BlockConfig {
    /// Norm placement and names.
    pub style: Style,
    /// Width H of the states.
    pub width: usize,
    /// The MLP's hidden width.
    pub mlp: usize,
    /// Attention heads (self and cross).
    pub heads: usize,
    /// Layer-norm epsilon.
    pub eps: f64,
    /// The width of the states cross-attention reads; None: no cross-attention.
    pub cross_width: Option<usize>,
    /// The MLP's activation.
    pub act: Activation,
}

/// One transformer block, its layers built once.
#[derive(Clone)]
pub struct Block<P = Tensor> {
    /// Norm placement.
    pub style: Style,
    /// Self-attention.
    pub attn: Attention<P>,
    /// The self-attention sublayer's norm.
    pub attn_ln: LayerNorm<P>,
    /// Cross-attention and its sublayer's norm, in blocks that have it.
    pub cross: Option<(Attention<P>, LayerNorm<P>)>,
    /// The MLP's first layer (before the activation).
    pub up: Linear<P>,
    /// The MLP's second layer.
    pub down: Linear<P>,
    /// The MLP sublayer's norm.
    pub mlp_ln: LayerNorm<P>,
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

impl<P> Block<P> {
    /// A block of `c` under `vb`'s prefix, its parameters built in its family's order.
    pub fn new<S: Source<Param = P>>(vb: Builder<S>, c: &BlockConfig) -> Result<Self> {
        let (h, eps) = (c.width, c.eps);
        let ln = |name: &str| LayerNorm::new(vb.pp(name), h, eps);
        let attn = || Attention::new(vb.pp("attn"), h, h, c.heads);
        let mlp = |name: &str| -> Result<_> {
            let vb = vb.pp(name);
            Ok((
                Linear::new(vb.pp("up"), h, c.mlp)?,
                Linear::new(vb.pp("down"), c.mlp, h)?,
            ))
        };
        let (attn_ln, attn, mlp_ln, (up, down)) = match c.style {
            Style::Vit => {
                let (attn_ln, attn) = (ln("ln1")?, attn()?);
                (attn_ln, attn, ln("ln2")?, mlp("mlp")?)
            }
            Style::Bert => {
                let (attn, attn_ln) = (attn()?, ln("attn.ln")?);
                let up_down = mlp("ffn")?;
                (attn_ln, attn, ln("ffn.ln")?, up_down)
            }
        };
        let cross = match c.cross_width {
            Some(kv) => Some((
                Attention::new(vb.pp("xattn"), h, kv, c.heads)?,
                ln("xattn.ln")?,
            )),
            None => None,
        };
        Ok(Self {
            style: c.style,
            attn,
            attn_ln,
            cross,
            up,
            down,
            mlp_ln,
            act: c.act,
        })
    }

    /// Whether the block has cross-attention.
    pub fn has_cross(&self) -> bool {
        self.cross.is_some()
    }
}

impl Block {
    /// The block over x `[B·L, H]`: self-attention (keys masked by `mask`), then, when the
    /// block has it, cross-attention to `cross`, then the MLP. A block without
    /// cross-attention ignores `cross` (the layers between cross layers).
    pub fn forward(
        &self,
        tape: &Tape,
        x: &Tensor,
        (batch, len): (usize, usize),
        mask: Option<KeyMask>,
        cross: Option<CrossInput>,
    ) -> Result<Tensor> {
        let attend = |attn: &Attention, h: &Tensor, xkv: Option<CrossInput>| {
            let (kv, lk, key_mask) = match xkv {
                Some(c) => (c.states, c.len, c.mask),
                None => (h, len, mask),
            };
            attn.forward(
                tape,
                AttentionInput {
                    xq: h,
                    xkv: kv,
                    batch,
                    lq: len,
                    lk,
                    key_mask,
                },
            )
        };
        let mut x = self.sublayer(tape, x, &self.attn_ln, |h| attend(&self.attn, h, None))?;
        if let Some((xattn, xattn_ln)) = &self.cross {
            let Some(c) = cross else {
                bail!("a block with cross-attention needs the other modality's states");
            };
            x = self.sublayer(tape, &x, xattn_ln, |h| attend(xattn, h, Some(c)))?;
        }
        self.sublayer(tape, &x, &self.mlp_ln, |h| {
            let up = self.act.apply(tape, &self.up.forward(tape, h)?)?;
            self.down.forward(tape, &up)
        })
    }

    /// `x + f(LN(x))` (pre-LN) or `LN(x + f(x))` (post-LN).
    fn sublayer(
        &self,
        tape: &Tape,
        x: &Tensor,
        ln: &LayerNorm,
        f: impl FnOnce(&Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        Ok(match self.style {
            Style::Vit => {
                let h = ln.forward(tape, x)?;
                add(tape, x, &f(&h)?)?
            }
            Style::Bert => {
                let y = add(tape, &f(x)?, x)?;
                ln.forward(tape, &y)?
            }
        })
    }
}
