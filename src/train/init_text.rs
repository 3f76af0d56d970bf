//! `--init-text DIR`: a Hugging Face BERT folder becomes the run's text encoder, text config
//! and tokenizer (the preset keeps its video encoder, cross encoder and heads; the cross
//! encoder takes the imported width).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::data::tokenizer::TextTokenizer;
use crate::model::config::ModelConfig;
use crate::model::hf_bert::HfBert;

/// `--init-text DIR` with its options.
#[derive(Debug, Clone, PartialEq)]
pub struct InitText {
    /// The Hugging Face BERT folder.
    pub dir: PathBuf,
    /// `--freeze-text`: the imported encoder (embeddings and layers) gets no gradient and
    /// no optimizer state; its forward runs off the tape. VTC's text projection and the
    /// cross encoder still train. Refused with an MLM weight above 0 (MLM trains the text
    /// encoder and its tied word table).
    pub freeze: bool,
    /// `--text-layers K`: keep only the first K transformer layers (all when `None`).
    pub layers: Option<usize>,
}

impl InitText {
    /// The whole folder's encoder, trainable.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            freeze: false,
            layers: None,
        }
    }
}

/// Keep the first `k` transformer layers of `hf` (`--text-layers`): its config says `k`
/// layers and the weights of the others go.
pub fn keep_layers(hf: &mut HfBert, k: usize) -> Result<()> {
    let n = hf.config.num_hidden_layers;
    if k < 1 || k > n {
        bail!("--text-layers {k}: the imported text model has {n} layers; give 1 to {n}");
    }
    hf.config.num_hidden_layers = k;
    hf.weights.retain(|name, _| {
        name.strip_prefix("text.layers.")
            .and_then(|r| r.split('.').next())
            .and_then(|l| l.parse::<usize>().ok())
            .is_none_or(|l| l < k)
    });
    Ok(())
}

/// `--init-text DIR`: the imported encoder, the run's model config (the preset with DIR's
/// text config) and DIR's tokenizer, whose vocabulary must be the model's.
pub fn load_init_text(
    init: &InitText,
    preset: &ModelConfig,
) -> Result<(HfBert, ModelConfig, TextTokenizer)> {
    let dir = init.dir.as_path();
    let mut hf = HfBert::load(dir).with_context(|| format!("--init-text {}", dir.display()))?;
    if let Some(k) = init.layers {
        keep_layers(&mut hf, k)?;
    }
    let mut mcfg = preset.clone();
    hf.init_text(&mut mcfg)
        .with_context(|| format!("--init-text {}", dir.display()))?;
    let max_len = mcfg.text.max_position_embeddings.min(64);
    let tok = TextTokenizer::load(&hf.tokenizer, max_len)
        .with_context(|| format!("--init-text {}", dir.display()))?;
    if tok.vocab_size() != hf.config.vocab_size {
        bail!(
            "--init-text {}: tokenizer.json has {} tokens but config.json says vocab_size {}",
            dir.display(),
            tok.vocab_size(),
            hf.config.vocab_size
        );
    }
    Ok((hf, mcfg, tok))
}
