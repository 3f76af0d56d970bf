//! `captions.jsonl`: one line per clip and caption kind, with its paraphrases. Shared by
//! `locomotion describe` and `generate --captions`.

use std::io::BufRead;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{CaptionKind, Describer, Paraphraser};
use crate::motion::params::{ClipParams, ManifestEntry};

/// One line of `captions.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptionRecord {
    /// The clip's id.
    pub id: String,
    /// Which caption this is.
    pub kind: CaptionKind,
    /// The caption.
    pub caption: String,
    /// Paraphrases (motion captions only).
    pub paraphrases: Vec<String>,
    /// LLM paraphrases dropped by the fact check, when an LLM wrote them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<usize>,
}

/// The seed of a clip's paraphrases: the run's seed mixed with the clip's own.
pub fn clip_seed(run_seed: u64, clip: &ClipParams) -> u64 {
    clip.seed ^ run_seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Caption records for one clip: one per kind, `k` lexicon paraphrases for the motion kind.
pub fn records_for(
    clip: &ClipParams,
    kinds: &[CaptionKind],
    k: usize,
    run_seed: u64,
    describer: &Describer,
    paraphraser: &Paraphraser,
) -> Vec<CaptionRecord> {
    kinds
        .iter()
        .map(|&kind| CaptionRecord {
            id: clip.id.clone(),
            kind,
            caption: describer.describe(clip, kind),
            paraphrases: if kind == CaptionKind::Motion && k > 0 {
                paraphraser.paraphrase(clip, k, clip_seed(run_seed, clip))
            } else {
                Vec::new()
            },
            rejected: None,
        })
        .collect()
}

/// Write `captions.jsonl` for `clips` in one call (what `generate --captions` needs): all
/// three kinds, `k` paraphrases per motion caption, built-in lexicon. Returns the line count.
pub fn write_captions(
    path: &Path,
    clips: &[&ClipParams],
    k: usize,
    run_seed: u64,
) -> Result<usize> {
    let lex = super::Lexicon::builtin();
    let (describer, paraphraser) = (Describer::new(lex.clone()), Paraphraser::new(lex));
    let records: Vec<CaptionRecord> = clips
        .iter()
        .flat_map(|c| records_for(c, &CaptionKind::ALL, k, run_seed, &describer, &paraphraser))
        .collect();
    write_jsonl(path, &records)?;
    Ok(records.len())
}

/// Read a `manifest.jsonl`; errors name the file and line.
pub fn read_manifest(path: &Path) -> Result<Vec<ManifestEntry>> {
    let f = std::fs::File::open(path)
        .with_context(|| format!("cannot open manifest {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read manifest {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let e: ManifestEntry = serde_json::from_str(&line)
            .with_context(|| format!("{}:{}: not a manifest entry", path.display(), i + 1))?;
        out.push(e);
    }
    Ok(out)
}

/// Write records as JSONL to a temporary name, then rename, so an interrupted run leaves no
/// half-written file.
pub fn write_jsonl<T: Serialize>(path: &Path, records: &[T]) -> Result<()> {
    let mut bytes = Vec::new();
    for r in records {
        serde_json::to_writer(&mut bytes, r)?;
        bytes.push(b'\n');
    }
    crate::util::fs::write_atomic(path, &bytes)
}
