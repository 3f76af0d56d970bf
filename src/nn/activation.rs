//! The MLP activations of the transformer blocks: GELU in the erf form (BERT, ViT) and quick
//! GELU, `x · σ(1.702 x)` (OpenAI CLIP). Configs name them as Hugging Face's `hidden_act`.

use serde::{Deserialize, Serialize};

use crate::tensor::ops::quick_gelu::quick_gelu;
use crate::tensor::ops::unary::gelu;
use crate::tensor::{Result, Tape, Tensor};

/// An MLP activation, spelled as Hugging Face's `hidden_act`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `x · Φ(x)`, the erf form ("gelu").
    #[default]
    Gelu,
    /// `x · σ(1.702 x)` ("quick_gelu").
    QuickGelu,
}

impl Activation {
    /// Hugging Face's name for an activation the engine runs; `None` for any other.
    pub fn from_hf(name: &str) -> Option<Self> {
        match name {
            "gelu" => Some(Self::Gelu),
            "quick_gelu" => Some(Self::QuickGelu),
            _ => None,
        }
    }

    /// Apply it to `x` on `tape`.
    pub fn apply(self, tape: &Tape, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::Gelu => gelu(tape, x),
            Self::QuickGelu => quick_gelu(tape, x),
        }
    }
}
