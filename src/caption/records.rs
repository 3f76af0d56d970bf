//! `captions.jsonl`: one line per clip and caption kind, with its paraphrases. Shared by
//! `locomotion describe` and `generate --captions`.

use std::io::BufRead;
use std::path::Path;

use anyhow::{Context, Result, ensure};
use serde::{Deserialize, Serialize};

use super::{CaptionKind, Describer, Paraphraser};
use crate::motion::params::{ClipParams, ManifestEntry, PathShape};
use crate::motion::trajectory::MAX_OBJECTS;

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
        check_entry(&e).with_context(|| format!("{}:{}", path.display(), i + 1))?;
        out.push(e);
    }
    if out.is_empty() {
        anyhow::bail!("manifest {} has no clips", path.display());
    }
    Ok(out)
}

/// Check a manifest row against what the sampler guarantees (sizes in range, 1 to 4 objects,
/// keyframes from frame 0 to the last frame in order, one segment between each pair and
/// agreeing with them, finite numbers), so no later stage meets a clip it cannot make.
pub fn check_entry(e: &ManifestEntry) -> Result<()> {
    let c = &e.params;
    ensure!(
        e.id == c.id,
        "entry id '{}' differs from its params' id '{}'",
        e.id,
        c.id
    );
    ensure!(
        (2..=4096).contains(&c.frames),
        "frames {} is not 2 to 4096",
        c.frames
    );
    ensure!(
        (16..=4096).contains(&c.width) && (16..=4096).contains(&c.height),
        "size {}x{} is not 16 to 4096 pixels a side",
        c.width,
        c.height
    );
    ensure!(
        (1..=MAX_OBJECTS as usize).contains(&c.objects.len()),
        "{} objects, not 1 to {MAX_OBJECTS}",
        c.objects.len()
    );
    for (o, m) in c.objects.iter().enumerate() {
        let what = format!("object {o} ({})", m.object.name);
        let k = &m.keyframes;
        ensure!(
            m.size_px.is_finite() && m.size_px > 0.0,
            "{what}: size_px {} is not positive",
            m.size_px
        );
        ensure!(
            k.len() >= 2,
            "{what}: {} keyframes, at least 2 needed",
            k.len()
        );
        ensure!(
            m.segments.len() + 1 == k.len(),
            "{what}: {} segments for {} keyframes (one between each pair)",
            m.segments.len(),
            k.len()
        );
        ensure!(
            k[0].frame == 0 && k[k.len() - 1].frame == c.frames - 1,
            "{what}: keyframes span frames {} to {}, not 0 to {}",
            k[0].frame,
            k[k.len() - 1].frame,
            c.frames - 1
        );
        for (i, kf) in k.iter().enumerate() {
            ensure!(
                [kf.x, kf.y, kf.angle, kf.scale]
                    .iter()
                    .all(|v| v.is_finite())
                    && kf.scale > 0.0,
                "{what}: keyframe {i} has a non-finite or non-positive value"
            );
        }
        for (i, s) in m.segments.iter().enumerate() {
            ensure!(
                s.start_frame == k[i].frame
                    && s.end_frame == k[i + 1].frame
                    && s.end_frame > s.start_frame,
                "{what}: segment {i} runs frames {} to {}, its keyframes {} to {}",
                s.start_frame,
                s.end_frame,
                k[i].frame,
                k[i + 1].frame
            );
            let path_ok = match s.path {
                PathShape::Straight => true,
                PathShape::Curve { degrees, .. } => degrees.is_finite(),
                PathShape::Circle { radius, .. } => radius.is_finite() && radius > 0.0,
            };
            ensure!(
                path_ok
                    && [s.speed_value, s.degrees_per_frame, s.scale_factor]
                        .iter()
                        .all(|v| v.is_finite()),
                "{what}: segment {i} has a non-finite value"
            );
        }
    }
    Ok(())
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
