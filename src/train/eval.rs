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
    let (ckpt_dir, run) = checkpoint_dirs(path);
    let ck =
        Checkpoint::load(&ckpt_dir).with_context(|| format!("--checkpoint {}", path.display()))?;
    let mcfg = ck.config.model.clone();
    let tok = TextTokenizer::load(
        &run.join(TOKENIZER_FILE),
        mcfg.text.max_position_embeddings.min(64),
    )?;
    let model = LocoModel::from_weights(gpu, &mcfg, &ck.tensors)?;
    evaluate_model(gpu, &model, tok, cfg)
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
    let bar = if cfg.progress {
        ProgressBar::new(cfg.clips as u64)
    } else {
        ProgressBar::hidden()
    };
    let (mut ve, mut te) = (Vec::new(), Vec::new());
    let mut start = 0;
    while start < cfg.clips {
        let end = (start + cfg.batch).min(cfg.clips);
        let b = set.batch(gpu, &compositor, &text, start..end, cfg.seed)?;
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
    let (n, d) = (cfg.clips, model.cfg.heads.embed_dim);
    // sim[text, video] = cosine of unit embeddings.
    let mut sim = vec![0f32; n * n];
    for i in 0..n {
        for j in 0..n {
            let dot: f64 = (0..d)
                .map(|k| te[i * d + k] as f64 * ve[j * d + k] as f64)
                .sum();
            sim[i * n + j] = dot as f32;
        }
    }
    // Two clips can share a caption word for word; a text then matches every such clip.
    let group: Vec<usize> = (0..n)
        .map(|i| {
            set.captions
                .iter()
                .position(|c| *c == set.captions[i])
                .unwrap_or(i)
        })
        .collect();
    let targets = RetrievalTargets {
        text_group: group.clone(),
        video_group: group,
    };
    retrieval_metrics(&sim, n, n, &targets)
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
