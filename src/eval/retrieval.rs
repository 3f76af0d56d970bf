//! Retrieval evaluation of a checkpoint: text→video and video→text R@1/5/10 and median rank
//! beside their chance levels, on held-out clips made on the fly (held-out seed, objects and
//! backgrounds) with the run's caption mixture, or on a `generate --captions` folder; with
//! `--rerank-vtm K` also after VTM re-ranks each query's top K (see [`super::rerank`]).

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::rerank::{EncodedSet, States, rerank};

use super::metrics::{RetrievalMetrics, RetrievalTargets, retrieval_metrics};
use crate::data::mlm::MlmConfig;
use crate::data::tokenizer::TextTokenizer;
use crate::gpu::Gpu;
use crate::model::checkpoint::Checkpoint;
use crate::model::heads::unit_embeddings;
use crate::model::locomotion::{LocoModel, VtcMeans};
use crate::motion::Compositor;
use crate::tensor::Tape;
use crate::train::config::{CHECKPOINT_DIR, TOKENIZER_FILE};
use crate::train::data::{
    Batch, CaptionMix, EvalSet, FolderConfig, FolderSource, LibrarySplit, TextPipeline,
};
use crate::train::motion_options::generation;
use crate::train::state::pair_batch;

/// What to evaluate on.
#[derive(Debug, Clone)]
pub struct EvalConfig {
    /// Held-out clips (each with its own caption); with `data`, at most this many of the
    /// folder's clips (`usize::MAX`: all of them).
    pub clips: usize,
    /// Clips per forward pass (and (video, text) pairs per VTM pass).
    pub batch: usize,
    /// The caption mixture of the queries.
    pub captions: String,
    /// Seed of the held-out set (it is further mixed so it never meets training clips).
    pub seed: u64,
    /// Show a progress bar.
    pub progress: bool,
    /// A folder made by `generate --captions` to rank instead of fresh held-out clips.
    pub data: Option<PathBuf>,
    /// Re-rank each query's top K candidates by VTM's matched probability (0: off).
    pub rerank_vtm: usize,
}

/// VTC retrieval metrics and, when asked for, the VTM re-ranked ones.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Ranked by VTC cosine similarity.
    #[serde(flatten)]
    pub vtc: RetrievalMetrics,
    /// Each query's top K re-ranked by VTM (`--rerank-vtm K`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerank_vtm: Option<Reranked>,
}

/// Metrics after VTM re-ranking of the top `k`.
#[derive(Debug, Clone, Serialize)]
pub struct Reranked {
    /// Candidates re-ranked per query.
    pub k: usize,
    /// The re-ranked metrics.
    #[serde(flatten)]
    pub metrics: RetrievalMetrics,
}

/// A checkpoint directory given either as the run's `--out` or its `checkpoint/` inside
/// (a run whose save was interrupted may hold only the save's hidden leftovers: see
/// [`Checkpoint::locate`]).
pub fn checkpoint_dirs(path: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let leftover = |p: &Path| {
        let prefix = format!(".{CHECKPOINT_DIR}.");
        std::fs::read_dir(p).is_ok_and(|rd| {
            rd.filter_map(|e| e.ok())
                .any(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        })
    };
    if path.join(CHECKPOINT_DIR).is_dir() || leftover(path) {
        (path.join(CHECKPOINT_DIR), path.to_path_buf())
    } else {
        let run = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        (path.to_path_buf(), run)
    }
}

/// Load `path`'s model and tokenizer and evaluate retrieval (VTC only).
pub fn evaluate(gpu: &Gpu, path: &Path, cfg: &EvalConfig) -> Result<RetrievalMetrics> {
    Ok(evaluate_report(gpu, path, cfg)?.vtc)
}

/// Load `path`'s model and tokenizer and evaluate retrieval, re-ranked too when asked.
pub fn evaluate_report(gpu: &Gpu, path: &Path, cfg: &EvalConfig) -> Result<EvalReport> {
    let (model, tok) = load_run(gpu, path)?;
    report_model(gpu, &model, tok, cfg).with_context(|| format!("--checkpoint {}", path.display()))
}

/// A checkpoint's model and its run's tokenizer.
pub fn load_run(gpu: &Gpu, path: &Path) -> Result<(LocoModel, TextTokenizer)> {
    let (ckpt_dir, run) = checkpoint_dirs(path);
    let ck = Checkpoint::load_newest(&ckpt_dir)
        .with_context(|| format!("--checkpoint {}", path.display()))?;
    let mcfg = ck.config.model.clone();
    let tok_path = run.join(TOKENIZER_FILE);
    let tok = TextTokenizer::load(&tok_path, mcfg.text.max_position_embeddings.min(64))?;
    if tok.vocab_size() != mcfg.text.vocab_size {
        bail!(
            "{} has {} tokens but the checkpoint {} was trained with {}: this is another run's tokenizer",
            tok_path.display(),
            tok.vocab_size(),
            ckpt_dir.display(),
            mcfg.text.vocab_size
        );
    }
    let model = LocoModel::from_weights(gpu, &mcfg, &ck.tensors)
        .with_context(|| format!("--checkpoint {}", path.display()))?;
    Ok((model, tok))
}

/// Evaluate `model` (with its tokenizer): VTC retrieval only.
pub fn evaluate_model(
    gpu: &Gpu,
    model: &LocoModel,
    tok: TextTokenizer,
    cfg: &EvalConfig,
) -> Result<RetrievalMetrics> {
    let cfg = EvalConfig {
        rerank_vtm: 0,
        ..cfg.clone()
    };
    Ok(report_model(gpu, model, tok, &cfg)?.vtc)
}

/// Evaluate `model` (with its tokenizer): VTC retrieval and, with `rerank_vtm`, VTM
/// re-ranking.
pub fn report_model(
    gpu: &Gpu,
    model: &LocoModel,
    tok: TextTokenizer,
    cfg: &EvalConfig,
) -> Result<EvalReport> {
    let set = encode_set(gpu, model, tok, cfg)?;
    let vtc = retrieval_metrics(&set.sim, set.n, set.n, &set.targets)?;
    let rerank_vtm = match cfg.rerank_vtm {
        0 => None,
        k => {
            let k = k.min(set.n);
            let metrics = rerank(gpu, model, &set, k, cfg.batch, cfg.progress)?;
            Some(Reranked { k, metrics })
        }
    };
    Ok(EvalReport { vtc, rerank_vtm })
}

/// Where the evaluation clips come from.
enum Clips {
    Heldout {
        set: Box<EvalSet>,
        compositor: Box<Compositor>,
        text: Box<TextPipeline>,
    },
    Folder(Box<FolderSource>),
}

impl Clips {
    fn open(gpu: &Gpu, model: &LocoModel, text: TextPipeline, cfg: &EvalConfig) -> Result<Self> {
        let g = generation(&model.cfg);
        match &cfg.data {
            None => {
                let split = LibrarySplit::builtin(&g);
                let set = EvalSet::retrieval(cfg.seed, cfg.clips, &g, &split, &text);
                let compositor =
                    Compositor::new(gpu, &split.heldout_objects, &split.heldout_backgrounds)?;
                Ok(Clips::Heldout {
                    set: Box::new(set),
                    compositor: Box::new(compositor),
                    text: Box::new(text),
                })
            }
            Some(dir) => {
                let fc = FolderConfig {
                    seed: cfg.seed,
                    batch_size: cfg.batch,
                    fraction: 1.0,
                    frames: g.frames,
                    height: g.height,
                    width: g.width,
                };
                let src = FolderSource::open(gpu, dir, text, fc)
                    .with_context(|| format!("--data {}", dir.display()))?;
                if !src.has_captions() {
                    bail!(
                        "{} not found or empty: eval --data needs a folder made by `locomotion generate --captions`",
                        dir.join("captions.jsonl").display()
                    );
                }
                Ok(Clips::Folder(Box::new(src)))
            }
        }
    }

    fn len(&self, cap: usize) -> usize {
        match self {
            Clips::Heldout { set, .. } => set.clips.len(),
            Clips::Folder(src) => src.len().min(cap),
        }
    }

    fn batch(&self, gpu: &Gpu, range: Range<usize>, seed: u64) -> Result<Batch> {
        match self {
            Clips::Heldout {
                set,
                compositor,
                text,
            } => set.batch(gpu, compositor, text, range, seed),
            Clips::Folder(src) => src.in_order(range),
        }
    }
}

/// Encode the evaluation clips and captions: similarities, targets and (with `rerank_vtm`)
/// the encoder states.
pub fn encode_set(
    gpu: &Gpu,
    model: &LocoModel,
    tok: TextTokenizer,
    cfg: &EvalConfig,
) -> Result<EncodedSet> {
    anyhow::ensure!(
        cfg.clips >= 2,
        "--clips must be at least 2, got {}",
        cfg.clips
    );
    anyhow::ensure!(cfg.batch >= 1, "--batch must be at least 1");
    let mix =
        CaptionMix::parse(&cfg.captions).with_context(|| format!("--captions {}", cfg.captions))?;
    let text = TextPipeline::new(tok, mix, MlmConfig::default());
    let clips = Clips::open(gpu, model, text, cfg)?;
    let n = clips.len(cfg.clips);
    if n < 2 {
        bail!("retrieval needs at least 2 clips; the evaluation set has {n}");
    }
    let bar = crate::util::progress::bar(cfg.progress, n as u64, "evaluate", "clips");
    let (mut ve, mut te, mut captions) = (Vec::new(), Vec::new(), Vec::new());
    let mut states = (cfg.rerank_vtm > 0).then(States::default);
    let mut start = 0;
    while start < n {
        let end = (start + cfg.batch).min(n);
        let b = clips.batch(gpu, start..end, cfg.seed)?;
        let host = &b.host;
        // Embedding only: no VTM negatives are drawn, so the seed does not matter.
        let pair = pair_batch(model, b.video, host, None, 0, 0);
        let tape = Tape::new(gpu);
        if let Some(st) = &mut states {
            let e = model.embed_with_states(&tape, &pair)?;
            st.push(&e, &host.text.attention_mask, host.text.max_len);
            ve.extend(e.video);
            te.extend(e.text);
        } else {
            let (v, t) = model.embed(&tape, &pair)?;
            ve.extend(v);
            te.extend(t);
        }
        captions.extend(host.captions.iter().cloned());
        bar.set_position(end as u64);
        start = end;
    }
    bar.finish_and_clear();
    let d = unit_retrieval_embeddings(model, &mut ve, &mut te);
    let sim = similarity(&te, &ve, d);
    let group = caption_groups(&captions);
    let targets = RetrievalTargets {
        text_group: group.clone(),
        video_group: group,
    };
    Ok(EncodedSet {
        n,
        sim,
        targets,
        captions,
        states,
    })
}

/// The report as printed tables: VTC, then (with `--rerank-vtm K`) the re-ranked one.
pub fn report_table(r: &EvalReport) -> String {
    let mut s = table(&r.vtc);
    if let Some(rr) = &r.rerank_vtm {
        s += &format!("\nre-ranked by VTM (top {} of each query):\n", rr.k);
        s += &table(&rr.metrics);
    }
    s
}

/// Retrieval embeddings (`[n, D]` each, row-major: unit-norm, centred on the set when the
/// model centres) of every clip of `set` and its caption, `batch` clips per forward pass;
/// `compositor` must hold `set`'s libraries.
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
    let bar = crate::util::progress::bar(progress, n as u64, "embed", "clips");
    let (mut ve, mut te) = (Vec::new(), Vec::new());
    let mut start = 0;
    while start < n {
        let end = (start + batch).min(n);
        let b = set.batch(gpu, compositor, text, start..end, seed)?;
        let host = &b.host;
        // Embedding only: no VTM negatives are drawn, so the seed does not matter.
        let pair = pair_batch(model, b.video, host, None, 0, 0);
        let (v, t) = model.embed(&Tape::new(gpu), &pair)?;
        ve.extend(v);
        te.extend(t);
        bar.set_position(end as u64);
        start = end;
    }
    bar.finish_and_clear();
    unit_retrieval_embeddings(model, &mut ve, &mut te);
    Ok((ve, te))
}

/// Make the video and text embeddings `ve`, `te` unit-norm, centred first on the training
/// means where the model centres; returns their dimension D.
fn unit_retrieval_embeddings(model: &LocoModel, ve: &mut [f32], te: &mut [f32]) -> usize {
    let d = model.cfg.heads.embed_dim;
    let means = retrieval_means(model);
    unit_embeddings(ve, d, means.map(|m| m.video.as_slice()));
    unit_embeddings(te, d, means.map(|m| m.text.as_slice()));
    d
}

/// The training means retrieval centres on, with a one-line warning when a centring model's
/// checkpoint predates them (it is then ranked uncentred, never on the evaluated set).
fn retrieval_means(model: &LocoModel) -> Option<&VtcMeans> {
    if model.cfg.heads.center && model.vtc_means().is_none() {
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            eprintln!(
                "warning: this checkpoint stores no training means of its VTC projections (saved before they existed, or mid-run); ranking uncentred"
            )
        });
    }
    model.retrieval_means()
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
        "{:<14} {:>14} {:>14} {:>15} {:>16}\n",
        "direction", "R@1 % (chance)", "R@5 % (chance)", "R@10 % (chance)", "median rank (ch.)"
    );
    for (name, d) in [
        ("text→video", &m.text_to_video),
        ("video→text", &m.video_to_text),
    ] {
        let (a, c) = (&d.model, &d.chance);
        s += &format!(
            "{:<14} {:>6.1} ({:>5.1}) {:>6.1} ({:>5.1}) {:>7.1} ({:>5.1}) {:>8.1} ({:>5.1})\n",
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
