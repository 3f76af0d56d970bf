//! Import of Hugging Face BERT-family text encoders (`--init-text DIR`): `config.json`,
//! `model.safetensors` and `tokenizer.json` from a model folder. Weight names are mapped onto
//! the engine's `text.*` names (see [`crate::model::params`]), linear weights are transposed
//! from Hugging Face's `[out, in]` to the engine's `[in, out]`, and f16 / bf16 become f32.
//!
//! | Hugging Face (optionally prefixed `bert.`)             | engine                          |
//! |--------------------------------------------------------|---------------------------------|
//! | `embeddings.word_embeddings.weight`                     | `text.embeddings.word`          |
//! | `embeddings.position_embeddings.weight`                 | `text.embeddings.position`      |
//! | `embeddings.token_type_embeddings.weight`               | `text.embeddings.token_type`    |
//! | `embeddings.LayerNorm.{weight,bias}` (or gamma/beta)    | `text.embeddings.ln.{gamma,beta}` |
//! | `encoder.layer.N.attention.self.{query,key,value}.*`    | `text.layers.N.attn.{q,k,v}.*`  |
//! | `encoder.layer.N.attention.output.dense.*`              | `text.layers.N.attn.out.*`      |
//! | `encoder.layer.N.attention.output.LayerNorm.*`          | `text.layers.N.attn.ln.*`       |
//! | `encoder.layer.N.intermediate.dense.*`                  | `text.layers.N.ffn.up.*`        |
//! | `encoder.layer.N.output.dense.*`                        | `text.layers.N.ffn.down.*`      |
//! | `encoder.layer.N.output.LayerNorm.*`                    | `text.layers.N.ffn.ln.*`        |
//!
//! The pooler, the pre-training heads and buffers such as `position_ids` are not used.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use super::checkpoint::{HostTensor, TensorMap, read_safetensors_where, tensor_of};
use super::config::{BertConfig, ModelConfig};
use super::params::{ParamShape, text_parameter_shapes};

/// A BERT-family model read from a Hugging Face folder, under engine names.
#[derive(Debug, Clone)]
pub struct HfBert {
    /// Its hyper-parameters (from `config.json`).
    pub config: BertConfig,
    /// Every `text.*` parameter, f32, engine layout.
    pub weights: TensorMap,
    /// Its `tokenizer.json` (load with [`crate::data::tokenizer::TextTokenizer::load`]).
    pub tokenizer: PathBuf,
}

/// Where a Hugging Face tensor goes: the engine name and whether to transpose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// Engine parameter name.
    pub name: String,
    /// True for linear weights (`[out, in]` → `[in, out]`).
    pub transpose: bool,
}

/// Map one Hugging Face BERT weight name; `None` for tensors the encoder does not use.
pub fn map_hf_name(hf: &str) -> Option<Mapped> {
    let n = hf.strip_prefix("bert.").unwrap_or(hf);
    let ln = |p: &str| match p {
        "weight" | "gamma" => Some("gamma"),
        "bias" | "beta" => Some("beta"),
        _ => None,
    };
    let keep = |name: String| {
        Some(Mapped {
            name,
            transpose: false,
        })
    };
    if let Some(rest) = n.strip_prefix("embeddings.") {
        return match rest {
            "word_embeddings.weight" => keep("text.embeddings.word".into()),
            "position_embeddings.weight" => keep("text.embeddings.position".into()),
            "token_type_embeddings.weight" => keep("text.embeddings.token_type".into()),
            _ => {
                let p = rest.strip_prefix("LayerNorm.")?;
                keep(format!("text.embeddings.ln.{}", ln(p)?))
            }
        };
    }
    let rest = n.strip_prefix("encoder.layer.")?;
    let (layer, rest) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let pre = format!("text.layers.{layer}");
    let linear = |engine: &str, p: &str| match p {
        "weight" => Some(Mapped {
            name: format!("{pre}.{engine}.weight"),
            transpose: true,
        }),
        "bias" => keep(format!("{pre}.{engine}.bias")),
        _ => None,
    };
    let (module, p) = rest.rsplit_once('.')?;
    match module {
        "attention.self.query" => linear("attn.q", p),
        "attention.self.key" => linear("attn.k", p),
        "attention.self.value" => linear("attn.v", p),
        "attention.output.dense" => linear("attn.out", p),
        "attention.output.LayerNorm" => keep(format!("{pre}.attn.ln.{}", ln(p)?)),
        "intermediate.dense" => linear("ffn.up", p),
        "output.dense" => linear("ffn.down", p),
        "output.LayerNorm" => keep(format!("{pre}.ffn.ln.{}", ln(p)?)),
        _ => None,
    }
}

/// Read a BERT-family config from a Hugging Face `config.json`.
pub fn read_hf_config(path: &Path) -> Result<BertConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow!("{} is not valid JSON: {e}", path.display()))?;
    if let Some(p) = v.get("position_embedding_type").and_then(|p| p.as_str())
        && p != "absolute"
    {
        bail!(
            "{}: position_embedding_type {p:?} is not supported (BERT's is \"absolute\")",
            path.display()
        );
    }
    let cfg: BertConfig = serde_json::from_value(v)
        .map_err(|e| anyhow!("{} is not a BERT config: {e}", path.display()))?;
    cfg.validate(&path.display().to_string())?;
    Ok(cfg)
}

impl HfBert {
    /// Load `dir/config.json`, `dir/model.safetensors` and locate `dir/tokenizer.json`.
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            bail!("Hugging Face model folder {} not found", dir.display());
        }
        let config = read_hf_config(&dir.join("config.json"))?;
        let weights_path = dir.join("model.safetensors");
        if !weights_path.is_file() {
            bail!(
                "{} not found (only safetensors weights are read; convert pytorch_model.bin first)",
                weights_path.display()
            );
        }
        let tokenizer = dir.join("tokenizer.json");
        if !tokenizer.is_file() {
            bail!("{} not found", tokenizer.display());
        }
        let raw = read_safetensors_where(&weights_path, true, |n| map_hf_name(n).is_some())?;
        let mut weights = TensorMap::new();
        for (hf, t) in raw {
            let Some(m) = map_hf_name(&hf) else { continue };
            if weights.contains_key(&m.name) {
                bail!("{}: two tensors map to {}", weights_path.display(), m.name);
            }
            let t = if m.transpose { transpose(&hf, t)? } else { t };
            weights.insert(m.name, t);
        }
        check_imported(
            &weights_path.display().to_string(),
            &text_parameter_shapes(&config),
            &weights,
        )?;
        Ok(Self {
            config,
            weights,
            tokenizer,
        })
    }
}

impl HfBert {
    /// `--init-text`: make `model`'s text encoder this model's shape (its `config.json`
    /// replaces the `text` section), so that [`HfBert::weights`] fit it exactly.
    pub fn init_text(&self, model: &mut ModelConfig) -> Result<()> {
        model.text = self.config.clone();
        model
            .validate()
            .context("the model config with the imported text encoder")
    }
}

/// Every parameter of `shapes` (the list the engine's layers are built from) is in `weights`
/// with its shape, or the error names it and `file` (the imported weights), through the
/// lookup checkpoints and the builder's sources use ([`tensor_of`]).
pub(crate) fn check_imported(file: &str, shapes: &[ParamShape], weights: &TensorMap) -> Result<()> {
    let what = format!("{file} (imported, engine layout, shapes from config.json)");
    for (name, shape) in shapes {
        tensor_of(weights, &what, name, shape)?;
    }
    Ok(())
}

/// A linear weight `[out, in]` as `[in, out]`; `name` says which in an error.
pub(crate) fn transpose(name: &str, t: HostTensor) -> Result<HostTensor> {
    let [rows, cols] = t.shape[..] else {
        bail!(
            "{name}: a linear weight must be 2-D, got shape {:?}",
            t.shape
        );
    };
    let mut data = vec![0.0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            data[c * rows + r] = t.data[r * cols + c];
        }
    }
    Ok(HostTensor {
        shape: vec![cols, rows],
        data,
    })
}
