//! `locomotion experiment`: the paper's central comparison in miniature. Same model, same
//! steps, several seeds: pre-train with `spatial` vs `motion` vs `motion` + paraphrase
//! captions, then fine-tune on 100 % and 20 % of a downstream set (held-out objects, captions
//! with everyday verbs) from each pre-trained checkpoint and from scratch; every model is
//! scored on the motion benchmark.
//!
//! Resumable: each run keeps its own folder under runs/; a finished checkpoint and a stored
//! benchmark.json are reused, an interrupted checkpoint is resumed, so re-running the same
//! command continues where it stopped. plan.json guards against mixing settings.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::conditions::{CONDITIONS, TextInitPlan, conditions};
use super::dataset::{DatasetSpec, write_dataset};
use super::stage::{Stages, guard_experiment_out};
use crate::eval::motion_benchmark::{
    BenchmarkCaptions, BenchmarkConfig, BenchmarkMetrics, CaptionedBenchmark, benchmark,
};
use crate::gpu::Gpu;
use crate::model::checkpoint::{CONFIG_FILE, Checkpoint};
use crate::model::config::ModelConfig;
use crate::train::config::{CHECKPOINT_DIR, TrainConfig};
use crate::train::data::{CaptionMix, LibrarySplit};
use crate::train::motion_options::generation;
use crate::train::motion_options::{BackgroundChoice, MotionOptions};
use crate::train::recipe;
use crate::train::trainer::train;

/// The experiment's pre-training steps: the demo's 300 are where the paraphrase mix escapes
/// the contrastive plateau on some seeds only; at 600 every seed learns motion and the verbs
/// (docs/evaluation.md, "Paraphrases: what it took"); at 1200 the frozen-MiniLM pair's seeds
/// agree closely enough on held-out verbs to tell the conditions apart (BENCHMARKS.md,
/// "Held-out verbs with a frozen MiniLM").
pub const STEPS: u64 = 4 * recipe::STEPS;
/// The name of the no-pre-training row.
pub const SCRATCH: &str = "scratch";
/// The name of the no-fine-tuning column.
pub const NO_FINETUNE: &str = "no fine-tuning";

/// Every setting of an experiment, defaults in one place; saved as plan.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentPlan {
    /// Model preset.
    pub preset: String,
    /// Frames per clip (None: the preset's); beyond the paper: short vs long clips.
    pub frames: Option<usize>,
    /// Seeds 0..seeds.
    pub seeds: u64,
    /// Pre-training steps.
    pub steps: u64,
    /// Fine-tuning steps.
    pub finetune_steps: u64,
    /// Pairs per batch (pre-training and fine-tuning).
    pub batch: usize,
    /// Micro-batches per batch (`--accumulate`): memory, not the result, so plans may differ.
    #[serde(default = "one")]
    pub accumulate: usize,
    /// Pre-training peak learning rate.
    pub lr: f64,
    /// Fine-tuning peak learning rate.
    pub finetune_lr: f64,
    /// Warm-up steps (capped below the run's steps).
    pub warmup: u64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Loss weights VTC, VTM, MLM.
    pub weights: [f64; 3],
    /// Clips per motion group in a pre-training batch (1: independent clips).
    #[serde(default = "one")]
    pub group_size: usize,
    /// Shares of the downstream set to fine-tune on.
    pub fractions: Vec<f64>,
    /// Clips in the downstream set.
    pub downstream_clips: u64,
    /// Captions of the downstream set (everyday verbs).
    pub downstream_captions: String,
    /// Pre-training: steps over which the backgrounds fade in from black.
    #[serde(default)]
    pub background_fade: u64,
    /// Pre-training backgrounds: black, procedural or a path.
    pub backgrounds: String,
    /// Curved trajectories in pre-training.
    pub nonlinear: bool,
    /// Motion benchmark groups.
    pub bench_groups: usize,
    /// The motion benchmark's seed: one benchmark for every run, drawn from a seed no
    /// training or tuning used (plans written before it existed scored seed 0).
    #[serde(default)]
    pub bench_seed: u64,
    /// Motion benchmark clips per group.
    pub bench_per_group: usize,
    /// Log the losses every N steps.
    pub log_every: u64,
    /// `--init-text`: the pretrained text encoder of two more pre-training conditions
    /// ([`super::conditions`]); may be added to an experiment that ran without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_init: Option<TextInitPlan>,
}

impl Default for ExperimentPlan {
    fn default() -> Self {
        Self {
            preset: recipe::PRESET.into(),
            frames: None,
            seeds: 3,
            steps: STEPS,
            finetune_steps: 100,
            batch: recipe::BATCH,
            accumulate: 1,
            lr: recipe::LR,
            finetune_lr: 2e-4,
            warmup: recipe::WARMUP,
            weight_decay: recipe::WEIGHT_DECAY,
            weights: recipe::weights(),
            group_size: recipe::GROUP_SIZE,
            background_fade: recipe::background_fade(STEPS),
            fractions: vec![1.0, 0.2],
            downstream_clips: 100,
            downstream_captions: "paraphrase".into(),
            backgrounds: "procedural".into(),
            nonlinear: false,
            bench_groups: recipe::EXPERIMENT_BENCHMARK_GROUPS,
            bench_per_group: recipe::BENCHMARK_PER_GROUP,
            bench_seed: recipe::BENCHMARK_SEED,
            log_every: 10,
            text_init: None,
        }
    }
}

impl ExperimentPlan {
    /// The model every run starts from: the preset, its frames and the loss weights.
    pub fn model(&self) -> Result<ModelConfig> {
        let mut m = ModelConfig::preset(&self.preset).context("--preset")?;
        if let Some(f) = self.frames {
            m.video.frames = f;
            m.validate()
                .with_context(|| format!("--frames {f} does not fit the {} preset", self.preset))?;
        }
        [m.loss_weights.vtc, m.loss_weights.vtm, m.loss_weights.mlm] = self.weights;
        Ok(m)
    }

    /// Refuse what cannot run, naming the flag, before any output exists.
    pub fn check(&self) -> Result<()> {
        self.model()?;
        self.motion()?;
        for (flag, v) in [
            ("--seeds", self.seeds),
            ("--steps", self.steps),
            ("--finetune-steps", self.finetune_steps),
            ("--downstream-clips", self.downstream_clips),
        ] {
            if v == 0 {
                bail!("{flag} must be at least 1");
            }
        }
        crate::train::recipe::check_batch(self.batch, self.accumulate, self.group_size)?;
        for (flag, v) in [("--lr", self.lr), ("--finetune-lr", self.finetune_lr)] {
            if !(v.is_finite() && v > 0.0) {
                bail!("{flag} must be a positive number, got {v}");
            }
        }
        if self.fractions.is_empty() || self.fractions.iter().any(|f| !(*f > 0.0 && *f <= 1.0)) {
            bail!("--fractions must be shares in (0, 1], e.g. 1,0.2");
        }
        CaptionMix::parse(&self.downstream_captions)?;
        if let Some(t) = &self.text_init {
            // Load it once now, so a bad folder fails before hours of other runs.
            crate::train::init_text::load_init_text(&t.init_text(), &self.model()?)?;
        }
        Ok(())
    }

    /// The pre-training generation options.
    pub fn motion(&self) -> Result<MotionOptions> {
        Ok(MotionOptions {
            backgrounds: BackgroundChoice::parse(&self.backgrounds)?,
            nonlinear: self.nonlinear,
            objects: None,
        })
    }

    fn benchmark(&self, captions: BenchmarkCaptions) -> BenchmarkConfig {
        BenchmarkConfig {
            groups: self.bench_groups,
            per_group: self.bench_per_group,
            batch: 16,
            seed: self.bench_seed,
            captions,
            progress: false,
        }
    }

    /// The column name of a fine-tuning share.
    pub fn fraction_name(f: f64) -> String {
        format!("{} % data", (100.0 * f).round())
    }
}

/// Where the experiment writes and how loudly.
#[derive(Debug, Clone)]
pub struct ExperimentOptions {
    /// Output folder: plan.json, downstream/, runs/, results.json, report.html/md, charts.
    pub out: PathBuf,
    /// No stage lines or progress bars.
    pub quiet: bool,
    /// Train even when many captions are cut to the text length
    /// ([`crate::train::config::TrainConfig::allow_truncated_captions`]).
    pub allow_truncated_captions: bool,
}

/// One model's benchmark result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    /// The seed.
    pub seed: u64,
    /// Pre-training condition ([`CONDITIONS`] name or [`SCRATCH`]).
    pub pretrain: String,
    /// Fine-tuning column ([`NO_FINETUNE`] or a share's name).
    pub finetune: String,
    /// The run's folder, relative to --out.
    pub run: String,
    /// Its motion benchmark metrics (template captions).
    pub metrics: BenchmarkMetrics,
    /// The same benchmark with verb captions (`verbs`, `verbs-heldout`).
    #[serde(default)]
    pub verbs: Vec<CaptionedBenchmark>,
}

/// Run (or continue) every run of the experiment (the report is [`super::run_experiment`]'s
/// last stage); returns their results and the stage counter.
pub fn run_all(
    gpu: &Gpu,
    plan: &ExperimentPlan,
    opts: &ExperimentOptions,
) -> Result<(Vec<RunResult>, Stages)> {
    plan.check()?;
    let out = &opts.out;
    guard_experiment_out(out, plan)?;
    let conds = CONDITIONS.len() as u64;
    let fracs = plan.fractions.len() as u64;
    let runs = plan.seeds * (conditions(plan).len() as u64 + (conds + 1) * fracs);
    let mut stages = Stages::new(runs as usize + 2, opts.quiet);
    let downstream = out.join("downstream");
    stages.next(&format!(
        "downstream set: {} clips of held-out objects, {} captions → {}",
        plan.downstream_clips,
        plan.downstream_captions,
        downstream.display()
    ));
    make_downstream(gpu, plan, &downstream, !opts.quiet)?;
    let ctx = Ctx {
        gpu,
        plan,
        out,
        progress: !opts.quiet,
        allow_truncated_captions: opts.allow_truncated_captions,
    };
    let mut results = Vec::new();
    for seed in 0..plan.seeds {
        let dir = format!("runs/seed-{seed}");
        for cond in conditions(plan) {
            let name = &cond.name;
            let run = format!("{dir}/pretrain-{}", slug(name));
            stages.next(&format!(
                "seed {seed}: pre-train with {name} captions ({} steps)",
                plan.steps
            ));
            let mut cfg = ctx.config(&run, seed, plan.steps, plan.lr)?;
            cfg.captions = cond.captions.into();
            cfg.motion = plan.motion()?;
            if cond.pretrained_text {
                cfg.init_text = plan.text_init.as_ref().map(TextInitPlan::init_text);
            }
            results.push(ctx.run(cfg, seed, name, NO_FINETUNE, &run)?);
        }
        for source in CONDITIONS.iter().map(|c| c.0).chain([SCRATCH]) {
            for &f in &plan.fractions {
                let col = ExperimentPlan::fraction_name(f);
                let run = format!("{dir}/{}-ft{}", slug(source), (100.0 * f).round() as u32);
                stages.next(&format!(
                    "seed {seed}: fine-tune {source} on {col} ({} steps)",
                    plan.finetune_steps
                ));
                let mut cfg = ctx.config(&run, seed, plan.finetune_steps, plan.finetune_lr)?;
                cfg.captions = plan.downstream_captions.clone();
                cfg.data = Some(downstream.clone());
                cfg.fraction = f;
                if source != SCRATCH {
                    let pre = out.join(format!("{dir}/pretrain-{}", slug(source)));
                    cfg.init_checkpoint = Some(pre.join(CHECKPOINT_DIR));
                }
                results.push(ctx.run(cfg, seed, source, &col, &run)?);
            }
        }
    }
    Ok((results, stages))
}

/// A name fit for a folder: "motion + paraphrase" → "motion-paraphrase".
pub(super) fn slug(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// The downstream set: held-out objects on the training backgrounds (the benchmark's
/// backgrounds stay unseen), at the model's clip size; skipped when already complete.
fn make_downstream(gpu: &Gpu, plan: &ExperimentPlan, dir: &Path, progress: bool) -> Result<()> {
    let manifest = dir.join("manifest.jsonl");
    if manifest.is_file() && dir.join("captions.jsonl").is_file() {
        let n = crate::caption::records::read_manifest(&manifest)?.len() as u64;
        if n == plan.downstream_clips {
            return Ok(());
        }
    }
    let g = generation(&plan.model()?);
    let split = LibrarySplit::builtin(&g);
    let spec = DatasetSpec {
        clips: plan.downstream_clips,
        seed: DOWNSTREAM_SEED,
        generation: g,
        paraphrases: 4,
    };
    write_dataset(
        gpu,
        dir,
        &spec,
        &split.heldout_objects,
        &split.train_backgrounds,
        progress,
    )?;
    Ok(())
}

/// The downstream set's seed: one set for every seed of the experiment (the seeds vary the
/// pre-training, the fine-tuning subset and order).
const DOWNSTREAM_SEED: u64 = 0x646f_776e;

struct Ctx<'a> {
    gpu: &'a Gpu,
    plan: &'a ExperimentPlan,
    out: &'a Path,
    progress: bool,
    allow_truncated_captions: bool,
}

impl Ctx<'_> {
    fn config(&self, run: &str, seed: u64, steps: u64, lr: f64) -> Result<TrainConfig> {
        Ok(TrainConfig {
            model: self.plan.model()?,
            steps,
            batch: self.plan.batch,
            accumulate: self.plan.accumulate,
            lr,
            weight_decay: self.plan.weight_decay,
            warmup: self.plan.warmup.min(steps.saturating_sub(1)),
            clip_norm: 1.0,
            captions: "motion".into(),
            seed,
            data: None,
            fraction: 1.0,
            annotations: None,
            init_checkpoint: None,
            out: self.out.join(run),
            save_every: (steps / 4).max(50),
            log_every: self.plan.log_every.clamp(1, steps),
            resume: false,
            stop_after: None,
            progress: self.progress,
            background_fade_steps: self.plan.background_fade,
            group_size: self.plan.group_size,
            motion: MotionOptions::default(),
            init_text: None,
            init_video: None,
            allow_truncated_captions: self.allow_truncated_captions,
        })
    }

    /// Train `cfg` unless its checkpoint is finished (resume an unfinished one), then score
    /// it on the benchmark unless benchmark.json holds the score.
    fn run(
        &self,
        mut cfg: TrainConfig,
        seed: u64,
        pretrain: &str,
        finetune: &str,
        run: &str,
    ) -> Result<RunResult> {
        let done = checkpoint_step(&cfg.out)?;
        if done.is_none_or(|s| s < cfg.steps) {
            cfg.resume = done.is_some();
            let s = train(self.gpu, &cfg)?;
            if s.interrupted {
                bail!(
                    "interrupted at step {} of {}: run the same command again to continue",
                    s.step,
                    cfg.out.display()
                );
            }
        }
        let metrics = self.scored(&cfg.out, "benchmark.json", || {
            benchmark(
                self.gpu,
                &cfg.out,
                &self.plan.benchmark(BenchmarkCaptions::Template),
            )
        })?;
        let verbs = self.scored(&cfg.out, "benchmark-verbs.json", || {
            [BenchmarkCaptions::Verbs, BenchmarkCaptions::VerbsHeldout]
                .into_iter()
                .map(|captions| {
                    let metrics = benchmark(self.gpu, &cfg.out, &self.plan.benchmark(captions))?;
                    Ok(CaptionedBenchmark { captions, metrics })
                })
                .collect::<Result<Vec<_>>>()
        })?;
        Ok(RunResult {
            seed,
            pretrain: pretrain.into(),
            finetune: finetune.into(),
            run: run.into(),
            metrics,
            verbs,
        })
    }

    /// The score stored in `run/file`, or `score()` stored there now.
    fn scored<T: Serialize + serde::de::DeserializeOwned>(
        &self,
        run: &Path,
        file: &str,
        score: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let cached = run.join(file);
        match std::fs::read_to_string(&cached) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("{} is corrupt: delete it", cached.display())),
            Err(_) => {
                let m = score()?;
                crate::util::fs::write_atomic(
                    &cached,
                    serde_json::to_string_pretty(&m)?.as_bytes(),
                )?;
                Ok(m)
            }
        }
    }
}

/// The step of the checkpoint in a run folder, if it has one.
fn checkpoint_step(run: &Path) -> Result<Option<u64>> {
    // A save interrupted between its renames counts too: the resume puts it back.
    match Checkpoint::locate(&run.join(CHECKPOINT_DIR)) {
        Ok(dir) if dir.join(CONFIG_FILE).is_file() => {
            Ok(Some(Checkpoint::read_config(&dir)?.state.step))
        }
        _ => Ok(None),
    }
}

fn one() -> usize {
    1
}
