//! Retrieval on annotated videos (SSv2-Template, SSv2-Label, any `[{"video", "caption"}]`
//! set): videos and captions embedded separately, the captions × videos similarity ranked
//! with multi-ground-truth semantics, metrics in percent beside chance.

use std::path::Path;

use anyhow::{Result, bail};
use serde::Serialize;

use super::metrics::{DirectionMetrics, RankMetrics, RetrievalMetrics, retrieval_metrics_pairs};
use super::retrieval::similarity;
use crate::data::annotations::RetrievalSet;
use crate::data::clips::ClipReader;
use crate::data::tokenizer::TextTokenizer;
use crate::gpu::Gpu;
use crate::model::heads::unit_embeddings;
use crate::model::locomotion::LocoModel;
use crate::model::text::TextBatch;
use crate::tensor::Tape;

/// A video that did not decode, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedVideo {
    /// Its file name (as the annotations or the folder name it).
    pub video: String,
    /// The one-line error.
    pub error: String,
}

/// Unit retrieval embeddings of the videos `names` under `dir` (`[kept, D]`), the indices
/// of those kept, and the skipped ones: a video that fails to decode is an error naming it,
/// or with `skip_bad` skipped and listed.
#[allow(clippy::too_many_arguments)]
pub fn embed_video_files(
    gpu: &Gpu,
    model: &LocoModel,
    reader: &ClipReader,
    dir: &Path,
    names: &[String],
    batch: usize,
    skip_bad: bool,
    progress: bool,
) -> Result<(Vec<f32>, Vec<usize>, Vec<SkippedVideo>)> {
    anyhow::ensure!(batch >= 1, "--batch must be at least 1");
    let bar = crate::util::progress::bar(progress, names.len() as u64, "embed", "videos");
    let (mut rows, mut kept, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    let mut chunk: (Vec<f32>, usize) = (Vec::new(), 0);
    let flush = |chunk: &mut (Vec<f32>, usize), rows: &mut Vec<f32>| -> Result<()> {
        if chunk.1 > 0 {
            let buf = gpu.upload(&chunk.0, "video batch")?;
            let video = model.video_input(buf, chunk.1);
            rows.extend(model.embed_videos(&Tape::new(gpu), &video)?);
            *chunk = (Vec::new(), 0);
        }
        Ok(())
    };
    for (i, name) in names.iter().enumerate() {
        match reader.normalized(&dir.join(name)) {
            Ok(px) => {
                chunk.0.extend(px);
                chunk.1 += 1;
                kept.push(i);
            }
            Err(e) if skip_bad => skipped.push(SkippedVideo {
                video: name.clone(),
                error: one_line(&e),
            }),
            Err(e) => bail!("{} (or pass --skip-bad-videos)", one_line(&e)),
        }
        if chunk.1 == batch {
            flush(&mut chunk, &mut rows)?;
        }
        bar.set_position(i as u64 + 1);
    }
    flush(&mut chunk, &mut rows)?;
    bar.finish_and_clear();
    let d = model.cfg.heads.embed_dim;
    unit_embeddings(
        &mut rows,
        d,
        model.retrieval_means().map(|m| m.video.as_slice()),
    );
    Ok((rows, kept, skipped))
}

/// Unit retrieval embeddings of `texts` (`[n, D]`), `batch` per pass.
pub fn embed_captions(
    gpu: &Gpu,
    model: &LocoModel,
    tok: &TextTokenizer,
    texts: &[String],
    batch: usize,
) -> Result<Vec<f32>> {
    anyhow::ensure!(batch >= 1, "--batch must be at least 1");
    let mut rows = Vec::new();
    for chunk in texts.chunks(batch) {
        let enc = tok.encode_batch(chunk)?;
        let tb = TextBatch {
            ids: &enc.ids,
            token_types: &enc.token_types,
            mask: &enc.attention_mask,
            batch: enc.batch,
            len: enc.max_len,
        };
        rows.extend(model.embed_texts(&Tape::new(gpu), tb)?);
    }
    let d = model.cfg.heads.embed_dim;
    unit_embeddings(
        &mut rows,
        d,
        model.retrieval_means().map(|m| m.text.as_slice()),
    );
    Ok(rows)
}

/// An error and its causes on one line.
pub fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string().replace('\n', " "))
        .collect::<Vec<_>>()
        .join(": ")
}

/// One direction's numbers in percent (recalls) and ranks, as `--json` writes them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PercentRanks {
    /// R@1, percent.
    pub r1: f64,
    /// R@5, percent.
    pub r5: f64,
    /// R@10, percent.
    pub r10: f64,
    /// Median rank of the best correct item (1 is best).
    pub median_rank: f64,
    /// Mean rank of the best correct item.
    pub mean_rank: f64,
}

impl From<&RankMetrics> for PercentRanks {
    fn from(m: &RankMetrics) -> Self {
        Self {
            r1: 100.0 * m.r1,
            r5: 100.0 * m.r5,
            r10: 100.0 * m.r10,
            median_rank: m.median_rank,
            mean_rank: m.mean_rank,
        }
    }
}

/// One direction as `--json` writes it: the model's numbers, the queries, chance beside.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DirectionReport {
    /// The model's numbers.
    #[serde(flatten)]
    pub model: PercentRanks,
    /// Queries ranked.
    pub queries: usize,
    /// What a random ranking gets.
    pub chance: PercentRanks,
}

impl From<&DirectionMetrics> for DirectionReport {
    fn from(d: &DirectionMetrics) -> Self {
        Self {
            model: (&d.model).into(),
            queries: d.queries,
            chance: (&d.chance).into(),
        }
    }
}

/// `eval --annotations`'s result.
#[derive(Debug, Clone, Serialize)]
pub struct AnnotatedReport {
    /// Text query → videos.
    pub text_to_video: DirectionReport,
    /// Video query → captions.
    pub video_to_text: DirectionReport,
    /// Captions ranked (rows).
    pub captions: usize,
    /// Videos ranked (columns).
    pub videos: usize,
    /// Videos skipped (`--skip-bad-videos`).
    pub skipped_videos: usize,
    /// Which, and why.
    pub skipped: Vec<SkippedVideo>,
    /// Captions left out because every video they name was skipped.
    pub captions_without_videos: Vec<String>,
    /// Videos decoded by ffmpeg in this run, and clips read from the cache.
    pub decoded: usize,
    /// Clips read from the cache.
    pub from_cache: usize,
    /// The metrics as the printed table has them (fractions).
    #[serde(skip)]
    pub metrics: RetrievalMetrics,
}

/// Everything `eval --annotations` computes: the ranked set, its similarity and the report.
pub struct AnnotatedEval {
    /// The set ranked (skipped videos and their orphaned captions removed).
    pub set: RetrievalSet,
    /// `sim[caption · videos + video]`.
    pub sim: Vec<f32>,
    /// The metrics and counts.
    pub report: AnnotatedReport,
}

/// Embed `set`'s videos (under `dir`) and captions and rank them.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_annotated(
    gpu: &Gpu,
    model: &LocoModel,
    tok: &TextTokenizer,
    reader: &ClipReader,
    set: &RetrievalSet,
    dir: &Path,
    batch: usize,
    skip_bad: bool,
    progress: bool,
) -> Result<AnnotatedEval> {
    let (ve, kept, skipped) = embed_video_files(
        gpu,
        model,
        reader,
        dir,
        &set.videos,
        batch,
        skip_bad,
        progress,
    )?;
    let mut ok = vec![false; set.videos.len()];
    kept.iter().for_each(|&i| ok[i] = true);
    let drop: Vec<usize> = (0..set.videos.len()).filter(|&i| !ok[i]).collect();
    let (set, orphans) = set.without_videos(&drop);
    if set.videos.is_empty() || set.captions.is_empty() {
        bail!(
            "no video of the annotations decoded ({} skipped)",
            skipped.len()
        );
    }
    let te = embed_captions(gpu, model, tok, &set.captions, batch)?;
    let d = model.cfg.heads.embed_dim;
    let sim = similarity(&te, &ve, d);
    let metrics = retrieval_metrics_pairs(&sim, set.captions.len(), set.videos.len(), &set.pairs)?;
    let (decoded, from_cache) = reader.counts();
    let report = AnnotatedReport {
        text_to_video: (&metrics.text_to_video).into(),
        video_to_text: (&metrics.video_to_text).into(),
        captions: set.captions.len(),
        videos: set.videos.len(),
        skipped_videos: skipped.len(),
        skipped,
        captions_without_videos: orphans,
        decoded,
        from_cache,
        metrics,
    };
    Ok(AnnotatedEval { set, sim, report })
}
