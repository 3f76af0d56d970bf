//! Retrieval evaluation of a checkpoint: text→video and video→text R@1/5/10 and median rank
//! beside their chance levels, on held-out clips made on the fly (held-out seed, objects and
//! backgrounds) with the run's caption mixture.

use std::path::Path;

use anyhow::{Context, Result};
use indicatif::ProgressBar;

use super::data::{CaptionMix, EvalSet, LibrarySplit, TextPipeline};
use super::metrics::{RetrievalMetrics, RetrievalTargets, retrieval_metrics};
use super::trainer::{CHECKPOINT_DIR, TOKENIZER_FILE, generation};
use crate::data::mlm::MlmConfig;
use crate::data::tokenizer::TextTokenizer;
use crate::gpu::Gpu;
use crate::model::checkpoint::Checkpoint;
use crate::model::locomotion::{LocoModel, PairBatch};
use crate::motion::Compositor;
use crate::tensor::Tape;

/// What to evaluate on.
#[derive(Debug, Clone)]
pub struct EvalConfig {
    /// Held-out clips (each with its own caption).
    pub clips: usize,
    /// Clips per forward pass.
    pub batch: usize,
    /// The caption mixture of the queries.
    pub captions: String,
    /// Seed of the held-out set (it is further mixed so it never meets training clips).
    pub seed: u64,
    /// Show a progress bar.
    pub progress: bool,
}

/// A checkpoint directory given either as the run's `--out` or its `checkpoint/` inside.
pub fn checkpoint_dirs(path: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    if path.join(CHECKPOINT_DIR).is_dir() {
        (path.join(CHECKPOINT_DIR), path.to_path_buf())
    } else {
        let run = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        (path.to_path_buf(), run)
    }
}

/// Load `path`'s model and tokenizer and evaluate retrieval on a fresh held-out set.
pub fn evaluate(gpu: &Gpu, path: &Path, cfg: &EvalConfig) -> Result<RetrievalMetrics> {
    let (model, tok) = load_run(gpu, path)?;
    evaluate_model(gpu, &model, tok, cfg)
}

/// The model and tokenizer of a run (`path`: its `--out` or its `checkpoint/`).
pub fn load_run(gpu: &Gpu, path: &Path) -> Result<(LocoModel, TextTokenizer)> {
    let (ckpt_dir, run) = checkpoint_dirs(path);
    let ck =
        Checkpoint::load(&ckpt_dir).with_context(|| format!("--checkpoint {}", path.display()))?;
    let mcfg = ck.config.model.clone();
    let tok = TextTokenizer::load(
        &run.join(TOKENIZER_FILE),
        mcfg.text.max_position_embeddings.min(64),
    )?;
    let model = LocoModel::from_weights(gpu, &mcfg, &ck.tensors)?;
    Ok((model, tok))
}

/// Evaluate `model` (with its tokenizer) on a fresh held-out set.
pub fn evaluate_model(
    gpu: &Gpu,
    model: &LocoModel,
    tok: TextTokenizer,
    cfg: &EvalConfig,
) -> Result<RetrievalMetrics> {
    anyhow::ensure!(
        cfg.clips >= 2,
        "--clips must be at least 2, got {}",
        cfg.clips
    );
    anyhow::ensure!(cfg.batch >= 1, "--batch must be at least 1");
    let mix =
        CaptionMix::parse(&cfg.captions).with_context(|| format!("--captions {}", cfg.captions))?;
    let text = TextPipeline::new(tok, mix, MlmConfig::default());
    let g = generation(&model.cfg);
    let split = LibrarySplit::builtin(&g);
    let set = EvalSet::retrieval(cfg.seed, cfg.clips, &g, &split, &text);
    let compositor = Compositor::new(gpu, &split.heldout_objects, &split.heldout_backgrounds)?;
    let (ve, te) = embed_set(
        gpu,
        model,
        &text,
        &set,
        &compositor,
        cfg.batch,
        cfg.seed,
        cfg.progress,
    )?;
    let n = set.clips.len();
    let sim = similarity(&te, &ve, model.cfg.heads.embed_dim);
    let group = caption_groups(&set.captions);
    let targets = RetrievalTargets {
        text_group: group.clone(),
        video_group: group,
    };
    retrieval_metrics(&sim, n, n, &targets)
}

/// Unit video and text embeddings (`[n, D]` each, row-major) of every clip of `set` and its
/// caption, `batch` clips per forward pass; `compositor` must hold `set`'s libraries.
#[allow(clippy::too_many_arguments)]
pub fn embed_set(
    gpu: &Gpu,
    model: &LocoModel,
    text: &TextPipeline,
    set: &EvalSet,
    compositor: &Compositor,
    batch: usize,
    seed: u64,
    progress: bool,
) -> Result<(Vec<f32>, Vec<f32>)> {
    anyhow::ensure!(batch >= 1, "--batch must be at least 1");
    let n = set.clips.len();
    let bar = if progress {
        ProgressBar::new(n as u64)
    } else {
        ProgressBar::hidden()
    };
    let (mut ve, mut te) = (Vec::new(), Vec::new());
    let mut start = 0;
    while start < n {
        let end = (start + batch).min(n);
        let b = set.batch(gpu, compositor, text, start..end, seed)?;
        let host = &b.host;
        let pair = PairBatch {
            video: model.video_input(b.video, host.len()),
            batch: host.len(),
            len: host.text.max_len,
            ids: &host.text.ids,
            token_types: &host.text.token_types,
            mask: &host.text.attention_mask,
            mlm_ids: &host.mlm_ids,
            mlm_labels: &host.mlm_labels,
            negative_seed: 0,
        };
        let (v, t) = model.embed(&Tape::new(gpu), &pair)?;
        ve.extend(v);
        te.extend(t);
        bar.set_position(end as u64);
        start = end;
    }
    bar.finish_and_clear();
    Ok((ve, te))
}

/// `sim[text, video]`: the cosine of unit embeddings `te` `[n_text, d]` and `ve`
/// `[n_video, d]`, row-major `[n_text, n_video]`, accumulated in f64.
pub fn similarity(te: &[f32], ve: &[f32], d: usize) -> Vec<f32> {
    let (nt, nv) = (te.len() / d, ve.len() / d);
    let mut sim = vec![0f32; nt * nv];
    for i in 0..nt {
        for j in 0..nv {
            let dot: f64 = (0..d)
                .map(|k| te[i * d + k] as f64 * ve[j * d + k] as f64)
                .sum();
            sim[i * nv + j] = dot as f32;
        }
    }
    sim
}

/// A group per caption: the index of the first caption with the same text. Two clips can
/// share a caption word for word; a text then matches every such clip.
pub fn caption_groups(captions: &[String]) -> Vec<usize> {
    (0..captions.len())
        .map(|i| captions.iter().position(|c| *c == captions[i]).unwrap_or(i))
        .collect()
}

/// The metrics as a printed table, chance beside each figure.
pub fn table(m: &RetrievalMetrics) -> String {
    let mut s = format!(
        "{:<14} {:>14} {:>14} {:>14} {:>16}\n",
        "direction", "R@1 (chance)", "R@5 (chance)", "R@10 (chance)", "median rank (ch.)"
    );
    for (name, d) in [
        ("text→video", &m.text_to_video),
        ("video→text", &m.video_to_text),
    ] {
        let (a, c) = (&d.model, &d.chance);
        s += &format!(
            "{:<14} {:>6.1} ({:>5.1}) {:>6.1} ({:>5.1}) {:>6.1} ({:>5.1}) {:>8.1} ({:>5.1})\n",
            name,
            100.0 * a.r1,
            100.0 * c.r1,
            100.0 * a.r5,
            100.0 * c.r5,
            100.0 * a.r10,
            100.0 * c.r10,
            a.median_rank,
            c.median_rank
        );
    }
    s
}
