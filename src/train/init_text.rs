//! `--init-text DIR`: a Hugging Face BERT folder becomes the run's text encoder, text config
//! and tokenizer (the preset keeps its video encoder, cross encoder and heads; the cross
//! encoder takes the imported width).

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::data::tokenizer::TextTokenizer;
use crate::model::config::ModelConfig;
use crate::model::hf_bert::HfBert;

/// `--init-text DIR`: the imported encoder, the run's model config (the preset with DIR's
/// text config) and DIR's tokenizer, whose vocabulary must be the model's.
pub fn load_init_text(
    dir: &Path,
    preset: &ModelConfig,
) -> Result<(HfBert, ModelConfig, TextTokenizer)> {
    let hf = HfBert::load(dir).with_context(|| format!("--init-text {}", dir.display()))?;
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
