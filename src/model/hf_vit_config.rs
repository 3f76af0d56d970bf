//! The vision config of a Hugging Face ViT or CLIP folder (`config.json`): `model_type`
//! "vit", "clip" (its `vision_config`) or "clip_vision_model". Fields the file leaves out take
//! the defaults of transformers' `ViTConfig` / `CLIPVisionConfig`, as `from_pretrained` does.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use crate::nn::Activation;

/// Which layout a checkpoint has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `ViTModel` and friends (post-encoder `layernorm`, erf GELU by default).
    Vit,
    /// CLIP's vision tower (`pre_layrnorm`, `post_layernorm`, quick GELU by default).
    Clip,
}

impl Family {
    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Vit => "ViT",
            Self::Clip => "CLIP",
        }
    }

    /// Its names of the patch kernel, class token, position table and patch bias.
    pub fn names(self) -> [&'static str; 4] {
        match self {
            Self::Vit => [
                "embeddings.patch_embeddings.projection.weight",
                "embeddings.cls_token",
                "embeddings.position_embeddings",
                "embeddings.patch_embeddings.projection.bias",
            ],
            Self::Clip => [
                "embeddings.patch_embedding.weight",
                "embeddings.class_embedding",
                "embeddings.position_embedding.weight",
                "(no patch bias in CLIP)",
            ],
        }
    }
}

/// A vision transformer's hyper-parameters under Hugging Face's names.
#[derive(Debug, Clone, PartialEq)]
pub struct HfVisionConfig {
    /// ViT or CLIP.
    pub family: Family,
    /// Width.
    pub hidden_size: usize,
    /// Transformer layers.
    pub num_hidden_layers: usize,
    /// Attention heads.
    pub num_attention_heads: usize,
    /// MLP width.
    pub intermediate_size: usize,
    /// The square input side the position table was trained for.
    pub image_size: usize,
    /// The square patch side.
    pub patch_size: usize,
    /// Input channels.
    pub num_channels: usize,
    /// Layer-norm epsilon.
    pub layer_norm_eps: f64,
    /// The MLP activation.
    pub hidden_act: Activation,
    /// Whether the attention's query, key and value projections have biases (ViT).
    pub qkv_bias: bool,
}

impl HfVisionConfig {
    /// Read `path`; an unknown `model_type`, activation or a bad field is an error naming it.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| anyhow!("{} is not valid JSON: {e}", path.display()))?;
        Self::from_json(&v).with_context(|| path.display().to_string())
    }

    /// The vision config in a parsed `config.json`.
    pub fn from_json(v: &Value) -> Result<Self> {
        let kind = v.get("model_type").and_then(Value::as_str).unwrap_or("");
        let (family, v) = match kind {
            "vit" => (Family::Vit, v),
            "clip_vision_model" => (Family::Clip, v),
            "clip" => (
                Family::Clip,
                v.get("vision_config")
                    .ok_or_else(|| anyhow!("model_type \"clip\" without a vision_config"))?,
            ),
            other => bail!(
                "model_type {other:?} is not a vision model the import reads (vit, clip, clip_vision_model)"
            ),
        };
        let clip = family == Family::Clip;
        let int = |name: &str, default: usize| -> Result<usize> {
            match v.get(name) {
                None | Some(Value::Null) => Ok(default),
                Some(x) => x
                    .as_u64()
                    .filter(|&n| n > 0)
                    .map(|n| n as usize)
                    .ok_or_else(|| anyhow!("{name} must be a positive integer, got {x}")),
            }
        };
        let act_name = v
            .get("hidden_act")
            .and_then(Value::as_str)
            .unwrap_or(if clip { "quick_gelu" } else { "gelu" });
        let hidden_act = Activation::from_hf(act_name).ok_or_else(|| {
            anyhow!("hidden_act {act_name:?} is not supported (gelu or quick_gelu)")
        })?;
        let eps = match v.get("layer_norm_eps") {
            None | Some(Value::Null) => {
                if clip {
                    1e-5
                } else {
                    1e-12
                }
            }
            Some(x) => x
                .as_f64()
                .ok_or_else(|| anyhow!("layer_norm_eps must be a number, got {x}"))?,
        };
        let qkv_bias = match v.get("qkv_bias") {
            None | Some(Value::Null) => true,
            Some(x) => x
                .as_bool()
                .ok_or_else(|| anyhow!("qkv_bias must be true or false, got {x}"))?,
        };
        let cfg = Self {
            family,
            hidden_size: int("hidden_size", 768)?,
            num_hidden_layers: int("num_hidden_layers", 12)?,
            num_attention_heads: int("num_attention_heads", 12)?,
            intermediate_size: int("intermediate_size", 3072)?,
            image_size: int("image_size", 224)?,
            patch_size: int("patch_size", if clip { 32 } else { 16 })?,
            num_channels: int("num_channels", 3)?,
            layer_norm_eps: eps,
            hidden_act,
            qkv_bias,
        };
        if !cfg.image_size.is_multiple_of(cfg.patch_size) {
            bail!(
                "image_size ({}) must be a multiple of patch_size ({})",
                cfg.image_size,
                cfg.patch_size
            );
        }
        cfg.mlp_ratio()?;
        Ok(cfg)
    }

    /// `intermediate_size / hidden_size`, which the engine needs whole.
    pub fn mlp_ratio(&self) -> Result<usize> {
        if !self.intermediate_size.is_multiple_of(self.hidden_size) {
            bail!(
                "intermediate_size ({}) must be a multiple of hidden_size ({}): the engine's MLP width is a whole multiple",
                self.intermediate_size,
                self.hidden_size
            );
        }
        Ok(self.intermediate_size / self.hidden_size)
    }
}
