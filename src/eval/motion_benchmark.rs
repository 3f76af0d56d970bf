//! The motion benchmark (this engine's stand-in for SSv2-Template): held-out objects on
//! held-out backgrounds, in groups of clips that share their appearance and differ only in
//! motion, each captioned by its `template` caption ("something moves left, then …"), or by
//! one of two verb captions of the same clips ([`BenchmarkCaptions`]).
//!
//! Two rankings: **global** (every caption against every clip; a caption matches every clip
//! with the same template text, and chance accounts for that) and **within group** (a caption
//! against the clips of its own group only, where appearance gives nothing away: only the
//! motion can tell the clips apart).

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::metrics::{DirectionMetrics, RetrievalMetrics, RetrievalTargets, retrieval_metrics};
use super::retrieval::{caption_groups, embed_set, load_run, similarity};
use crate::caption::{Lexicon, LexiconPart, Paraphraser};
use crate::data::mlm::MlmConfig;
use crate::data::tokenizer::TextTokenizer;
use crate::gpu::Gpu;
use crate::model::locomotion::LocoModel;
use crate::motion::params::ClipParams;
use crate::motion::{BackgroundLibrary, Compositor};
use crate::train::data::{
    CaptionChoice, CaptionMix, EvalSet, LibrarySplit, TextPipeline, mix_seed,
};
use crate::train::motion_options::generation;

/// Which captions the benchmark's clips carry (`--benchmark-captions`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum BenchmarkCaptions {
    /// "Something moves quickly to the left …": the describer's template (like SSv2-Template).
    #[default]
    Template,
    /// Everyday phrasing with the object named, a verb carrying what the template says with an
    /// adverb ("the ring zooms rightward"), from the lexicon's training part (like SSv2-Label).
    Verbs,
    /// The same from the lexicon's held-out part, which no pre-training caption contains
    /// ("the ring shoots leftward"; see `caption::LexiconPart`).
    VerbsHeldout,
}

impl BenchmarkCaptions {
    /// All three, in report order.
    pub const ALL: [BenchmarkCaptions; 3] = [
        BenchmarkCaptions::Template,
        BenchmarkCaptions::Verbs,
        BenchmarkCaptions::VerbsHeldout,
    ];

    /// The flag value ("template", "verbs", "verbs-heldout").
    pub fn name(self) -> &'static str {
        match self {
            BenchmarkCaptions::Template => "template",
            BenchmarkCaptions::Verbs => "verbs",
            BenchmarkCaptions::VerbsHeldout => "verbs-heldout",
        }
    }
}

/// The captions of `clips` in `kind` (`templates` are the clips' own template captions),
/// each drawn from (`seed`, its place) and fact-checked against its clip. A clip no verb
/// caption fits (none so far) keeps its template caption.
pub fn benchmark_captions(
    clips: &[ClipParams],
    templates: &[String],
    kind: BenchmarkCaptions,
    seed: u64,
) -> Vec<String> {
    let part = match kind {
        BenchmarkCaptions::Template => return templates.to_vec(),
        BenchmarkCaptions::Verbs => LexiconPart::Training,
        BenchmarkCaptions::VerbsHeldout => LexiconPart::HeldOut,
    };
    let p = Paraphraser::verbs(Lexicon::builtin(), part);
    clips
        .iter()
        .zip(templates)
        .enumerate()
        .map(|(i, (c, t))| {
            p.caption(c, mix_seed(seed, i as u64, 0x7665_7262))
                .unwrap_or_else(|| t.clone())
        })
        .collect()
}

/// The benchmark's size, seed and captions.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct BenchmarkConfig {
    /// Groups (one object on one background each).
    pub groups: usize,
    /// Clips per group, each with a different motion (fewer when the motion space runs out).
    pub per_group: usize,
    /// Clips per forward pass.
    pub batch: usize,
    /// Seed of the benchmark clips (mixed so they never meet training clips).
    pub seed: u64,
    /// The captions the clips carry.
    #[serde(default)]
    pub captions: BenchmarkCaptions,
    /// Show a progress bar.
    #[serde(skip)]
    pub progress: bool,
}

impl Default for BenchmarkConfig {
    fn default() -> Self {
        Self {
            groups: 8,
            per_group: 4,
            batch: 16,
            seed: 0,
            captions: BenchmarkCaptions::Template,
            progress: true,
        }
    }
}

/// The benchmark's results: both rankings, chance beside every figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct BenchmarkMetrics {
    /// Clips (= captions) in the benchmark.
    pub clips: usize,
    /// Groups that made it into the benchmark.
    pub groups: usize,
    /// Every caption against every clip.
    pub global: RetrievalMetrics,
    /// Each caption against its own group's clips only (R@k and mean rank are averaged over
    /// all queries; the median rank is the median of the groups' medians).
    pub within_group: RetrievalMetrics,
}

/// A benchmark result with the captions it was scored with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct CaptionedBenchmark {
    /// The captions the clips carried.
    pub captions: BenchmarkCaptions,
    /// What the model scored.
    pub metrics: BenchmarkMetrics,
}

/// Load the run at `path` and evaluate it on the motion benchmark.
pub fn benchmark(gpu: &Gpu, path: &Path, cfg: &BenchmarkConfig) -> Result<BenchmarkMetrics> {
    let (model, tok) = load_run(gpu, path)?;
    benchmark_model(gpu, &model, tok, cfg)
        .with_context(|| format!("--checkpoint {}", path.display()))
}

/// Evaluate `model` (with its tokenizer) on the motion benchmark.
pub fn benchmark_model(
    gpu: &Gpu,
    model: &LocoModel,
    tok: TextTokenizer,
    cfg: &BenchmarkConfig,
) -> Result<BenchmarkMetrics> {
    benchmark_model_on(gpu, model, tok, cfg, None)
}

/// The motion benchmark drawn on `backgrounds` (the user's, `eval --benchmark motion
/// --backgrounds PATH`) instead of the built-in held-out scenes; objects stay the held-out ones.
pub fn benchmark_model_on(
    gpu: &Gpu,
    model: &LocoModel,
    tok: TextTokenizer,
    cfg: &BenchmarkConfig,
    backgrounds: Option<&Path>,
) -> Result<BenchmarkMetrics> {
    anyhow::ensure!(cfg.groups >= 1, "--groups must be at least 1");
    anyhow::ensure!(
        cfg.per_group >= 2,
        "--per-group must be at least 2 (a group needs motions to tell apart), got {}",
        cfg.per_group
    );
    anyhow::ensure!(cfg.batch >= 1, "--batch must be at least 1");
    // The captions are the set's own template captions; the mixture only feeds MLM masking.
    let text = TextPipeline::new(
        tok,
        CaptionMix::single(CaptionChoice::Template),
        MlmConfig::default(),
    );
    let g = generation(&model.cfg);
    let mut split = LibrarySplit::builtin(&g);
    if let Some(p) = backgrounds {
        split.heldout_backgrounds = BackgroundLibrary::from_path(p, g.height, g.width, g.frames)
            .with_context(|| format!("--backgrounds {}", p.display()))?;
    }
    let mut set = EvalSet::motion_benchmark(cfg.seed, cfg.groups, cfg.per_group, &g, &split);
    set.captions = benchmark_captions(&set.clips, &set.captions, cfg.captions, cfg.seed);
    anyhow::ensure!(
        set.clips.len() >= 2,
        "the motion benchmark has {} clips: raise --groups or --per-group",
        set.clips.len()
    );
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
    let d = model.cfg.heads.embed_dim;
    let n = set.clips.len();
    let group = caption_groups(&set.captions);
    let global = retrieval_metrics(
        &similarity(&te, &ve, d),
        n,
        n,
        &RetrievalTargets {
            text_group: group.clone(),
            video_group: group,
        },
    )?;
    let mut parts = Vec::new();
    let mut ids: Vec<u64> = set.groups.clone();
    ids.dedup();
    for &gid in &ids {
        let members: Vec<usize> = (0..n).filter(|&i| set.groups[i] == gid).collect();
        if members.len() < 2 {
            continue;
        }
        let pick = |e: &[f32]| -> Vec<f32> {
            members
                .iter()
                .flat_map(|&i| e[i * d..(i + 1) * d].iter().copied())
                .collect()
        };
        let m = members.len();
        // Captions within a group are distinct by construction: the diagonal matches.
        parts.push(retrieval_metrics(
            &similarity(&pick(&te), &pick(&ve), d),
            m,
            m,
            &RetrievalTargets::diagonal(m),
        )?);
    }
    anyhow::ensure!(
        !parts.is_empty(),
        "no benchmark group has two clips: raise --per-group"
    );
    Ok(BenchmarkMetrics {
        clips: n,
        groups: ids.len(),
        global,
        within_group: RetrievalMetrics {
            text_to_video: pool(parts.iter().map(|p| p.text_to_video)),
            video_to_text: pool(parts.iter().map(|p| p.video_to_text)),
        },
    })
}

/// Query-weighted means of several groups' metrics (medians: the median of the medians).
fn pool(parts: impl Iterator<Item = DirectionMetrics>) -> DirectionMetrics {
    let parts: Vec<DirectionMetrics> = parts.collect();
    let q: usize = parts.iter().map(|p| p.queries).sum();
    let avg = |f: &dyn Fn(&DirectionMetrics) -> f64| -> f64 {
        parts.iter().map(|p| f(p) * p.queries as f64).sum::<f64>() / q.max(1) as f64
    };
    let med = |f: &dyn Fn(&DirectionMetrics) -> f64| -> f64 {
        let mut v: Vec<f64> = parts.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        let k = v.len();
        if k % 2 == 1 {
            v[k / 2]
        } else {
            0.5 * (v[k / 2 - 1] + v[k / 2])
        }
    };
    let rank = |which: &dyn Fn(&DirectionMetrics) -> &super::metrics::RankMetrics| {
        super::metrics::RankMetrics {
            r1: avg(&|p| which(p).r1),
            r5: avg(&|p| which(p).r5),
            r10: avg(&|p| which(p).r10),
            median_rank: med(&|p| which(p).median_rank),
            mean_rank: avg(&|p| which(p).mean_rank),
        }
    };
    DirectionMetrics {
        queries: q,
        model: rank(&|p| &p.model),
        chance: rank(&|p| &p.chance),
    }
}

/// Both rankings as a printed table, chance beside each figure.
pub fn table(m: &BenchmarkMetrics, captions: BenchmarkCaptions) -> String {
    format!(
        "motion benchmark: {} clips in {} groups ({} captions)\n\
         global (every caption against every clip):\n{}\
         within group (only motion tells the clips apart):\n{}",
        m.clips,
        m.groups,
        captions.name(),
        super::retrieval::table(&m.global),
        super::retrieval::table(&m.within_group)
    )
}
