//! `locomotion demo`: the whole pipeline in minutes on built-in data — preview clips with
//! captions and paraphrases, a short pre-training of the `tiny` preset on online motion
//! captions, retrieval on held-out clips and on the motion benchmark, and a report
//! (report.html + report.md) with the GIFs, the loss curves and the tables beside chance.
//!
//! Every training hyper-parameter the demo uses lives in [`DemoPlan::default`].

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::dataset::{DatasetSpec, write_dataset};
use super::figures::{
    gallery, objectives_phrase, read_metrics, retrieval_table, settings_table, training_curves,
    trivial_recall,
};
use super::stage::{Stages, create_dir, non_empty};
use crate::eval::metrics::RetrievalMetrics;
use crate::eval::motion_benchmark::{
    BenchmarkCaptions, BenchmarkConfig, BenchmarkMetrics, CaptionedBenchmark, benchmark_model,
};
use crate::eval::retrieval::{EvalConfig, evaluate_model, load_run};
use crate::gpu::Gpu;
use crate::model::config::ModelConfig;
use crate::motion::{BackgroundLibrary, GenConfig, ObjectLibrary};
use crate::report::{Element, Report, Table};
use crate::train::config::{METRICS_FILE, TrainConfig};
use crate::train::data::CaptionMix;
use crate::train::motion_options::MotionOptions;
use crate::train::recipe;
use crate::train::trainer::train;
use crate::util::run_lock::RunLock;

/// What the demo does: sizes, and every training hyper-parameter in one place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DemoPlan {
    /// Model preset (`tiny` for CPUs, `small` for GPUs).
    pub preset: String,
    /// Pre-training steps.
    pub steps: u64,
    /// Pairs per batch.
    pub batch: usize,
    /// Micro-batches per batch (`--accumulate`; 1: the whole batch at once).
    pub accumulate: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Linear warm-up steps.
    pub warmup: u64,
    /// Steps over which the backgrounds fade in from black (see `--background-fade`).
    pub background_fade: u64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Gradient-norm clip.
    pub clip_norm: f64,
    /// Pre-training captions (a `--captions` mixture).
    pub captions: String,
    /// Loss weights VTC, VTM, MLM.
    pub weights: [f64; 3],
    /// Clips per motion group in a pre-training batch (1: independent clips).
    pub group_size: usize,
    /// Log the losses every N steps (the loss curve's resolution).
    pub log_every: u64,
    /// The seed every random choice flows from.
    pub seed: u64,
    /// Preview clips in the gallery.
    pub preview_clips: u64,
    /// Preview clip side in pixels (the model trains at its own size).
    pub preview_size: u32,
    /// Preview frames.
    pub preview_frames: u32,
    /// Paraphrases shown per preview clip.
    pub paraphrases: usize,
    /// Held-out retrieval clips.
    pub eval_clips: usize,
    /// Motion benchmark groups.
    pub bench_groups: usize,
    /// Motion benchmark clips per group.
    pub bench_per_group: usize,
    /// The motion benchmark's seed (default: the recipe's held-out seed for `seed`).
    pub bench_seed: u64,
    /// Pre-training's backgrounds and objects (`--backgrounds`, `--objects-dir`); the
    /// previews, held-out retrieval and the benchmark keep the built-in ones.
    #[serde(skip)]
    pub motion: MotionOptions,
}

impl Default for DemoPlan {
    fn default() -> Self {
        // The recipe `pretrain` uses (train::recipe): 300 VTC steps at batch 16 in motion
        // groups of 2 learn motion (tests/pretrain.rs measures it on the motion benchmark).
        // VTM and MLM cost ~2.5× per step on a CPU, so the recipe leaves them out.
        Self {
            preset: recipe::PRESET.into(),
            steps: recipe::STEPS,
            batch: recipe::BATCH,
            accumulate: 1,
            lr: recipe::LR,
            warmup: recipe::WARMUP,
            background_fade: recipe::background_fade(recipe::STEPS),
            weight_decay: recipe::WEIGHT_DECAY,
            clip_norm: recipe::CLIP_NORM,
            captions: recipe::CAPTIONS.into(),
            weights: recipe::weights(),
            group_size: recipe::GROUP_SIZE,
            log_every: 5,
            seed: 0,
            preview_clips: 8,
            preview_size: 96,
            preview_frames: 16,
            paraphrases: 3,
            eval_clips: 64,
            bench_groups: recipe::BENCHMARK_GROUPS,
            bench_per_group: recipe::BENCHMARK_PER_GROUP,
            bench_seed: recipe::benchmark_seed(0),
            motion: MotionOptions::default(),
        }
    }
}

impl DemoPlan {
    /// The model configuration: the preset with the plan's loss weights.
    pub fn model(&self) -> Result<ModelConfig> {
        let mut m = ModelConfig::preset(&self.preset).context("--preset")?;
        [m.loss_weights.vtc, m.loss_weights.vtm, m.loss_weights.mlm] = self.weights;
        Ok(m)
    }

    /// The trainer's configuration, writing into `run`.
    pub fn train_config(&self, run: &Path, progress: bool) -> Result<TrainConfig> {
        Ok(TrainConfig {
            model: self.model()?,
            steps: self.steps,
            batch: self.batch,
            accumulate: self.accumulate,
            lr: self.lr,
            weight_decay: self.weight_decay,
            warmup: self.warmup.min(self.steps.saturating_sub(1)),
            clip_norm: self.clip_norm,
            captions: self.captions.clone(),
            seed: self.seed,
            data: None,
            fraction: 1.0,
            annotations: None,
            init_checkpoint: None,
            out: run.to_path_buf(),
            save_every: 0,
            log_every: self.log_every.clamp(1, self.steps.max(1)),
            resume: false,
            stop_after: None,
            progress,
            background_fade_steps: self.background_fade,
            group_size: self.group_size,
            motion: self.motion.clone(),
            allow_truncated_captions: false,
            init_text: None,
            init_video: None,
        })
    }

    /// Refuse what cannot run, naming the flag, before any output exists.
    pub fn check(&self) -> Result<()> {
        self.model()?;
        if self.steps == 0 {
            bail!("--steps must be at least 1");
        }
        crate::train::recipe::check_batch(self.batch, self.accumulate, self.group_size)?;
        if self.preview_clips == 0 {
            bail!("--clips must be at least 1");
        }
        if self.eval_clips < 2 {
            bail!("--eval-clips must be at least 2, got {}", self.eval_clips);
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            bail!("--lr must be a positive number, got {}", self.lr);
        }
        CaptionMix::parse(&self.captions)?;
        self.preview_generation().validate()
    }

    fn preview_generation(&self) -> GenConfig {
        GenConfig {
            frames: self.preview_frames,
            height: self.preview_size,
            width: self.preview_size,
            ..GenConfig::default()
        }
    }
}

/// Where the demo writes and how loudly.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Output folder (data/, run/, report.html, report.md, charts, results.json).
    pub out: PathBuf,
    /// Write into a non-empty --out (data/ and run/ are replaced).
    pub force: bool,
    /// No stage lines or progress bars.
    pub quiet: bool,
    /// Train even when many captions are cut to the text length
    /// ([`crate::train::config::TrainConfig::allow_truncated_captions`]).
    pub allow_truncated_captions: bool,
}

/// What the demo measured (also written as results.json).
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    /// The plan it ran.
    pub plan: DemoPlan,
    /// The adapter it ran on.
    pub adapter: String,
    /// Pre-training clips per second.
    pub clips_per_s: f64,
    /// Held-out retrieval (motion captions).
    pub heldout: RetrievalMetrics,
    /// The motion benchmark (template captions).
    pub benchmark: BenchmarkMetrics,
    /// The same clips with verb captions: `verbs`, then `verbs-heldout`.
    pub verb_benchmarks: Vec<CaptionedBenchmark>,
    /// Wall time of the whole demo in seconds.
    pub wall_s: f64,
    /// The HTML report.
    pub report: PathBuf,
}

/// Run the demo on `gpu`.
pub fn run_demo(gpu: &Gpu, plan: &DemoPlan, opts: &DemoOptions) -> Result<DemoSummary> {
    plan.check()?;
    let out = &opts.out;
    let _lock = RunLock::acquire(out, "--out")?;
    if non_empty(out)? && !opts.force {
        bail!(
            "--out {} is not empty: choose another --out or add --force to write over it",
            out.display()
        );
    }
    let (data, run) = (out.join("data"), out.join("run"));
    for d in [&data, &run] {
        if d.exists() {
            std::fs::remove_dir_all(d)
                .with_context(|| format!("cannot clear {} (--force)", d.display()))?;
        }
    }
    create_dir(out)?;
    let mut stages = Stages::new(4, opts.quiet);
    let progress = !opts.quiet;

    stages.next(&format!(
        "generate {} preview clips at {}² with captions and paraphrases → {}",
        plan.preview_clips,
        plan.preview_size,
        data.display()
    ));
    let g = plan.preview_generation();
    let spec = DatasetSpec {
        clips: plan.preview_clips,
        seed: plan.seed,
        generation: g.clone(),
        paraphrases: plan.paraphrases,
    };
    let objects = ObjectLibrary::builtin();
    let backgrounds = BackgroundLibrary::builtin(g.height, g.width, g.frames);
    let entries = write_dataset(gpu, &data, &spec, &objects, &backgrounds, progress)?;

    stages.next(&format!(
        "pre-train the {} preset for {} steps (batch {}, captions {}) → {}",
        plan.preset,
        plan.steps,
        plan.batch,
        plan.captions,
        run.display()
    ));
    let summary = train(
        gpu,
        &TrainConfig {
            allow_truncated_captions: opts.allow_truncated_captions,
            ..plan.train_config(&run, progress)?
        },
    )?;
    if summary.interrupted {
        bail!(
            "pre-training was interrupted at step {}; the checkpoint is in {}",
            summary.step,
            run.display()
        );
    }

    stages.next(&format!(
        "evaluate retrieval: {} held-out clips, motion benchmark of {}×{} (seed {})",
        plan.eval_clips, plan.bench_groups, plan.bench_per_group, plan.bench_seed
    ));
    let (model, tok) = load_run(gpu, &run)?;
    let eval = EvalConfig {
        clips: plan.eval_clips,
        batch: 16,
        captions: "motion".into(),
        seed: plan.seed,
        progress,
        data: None,
        rerank_vtm: 0,
    };
    let heldout = evaluate_model(gpu, &model, tok.clone(), &eval)?;
    let bench = BenchmarkConfig {
        groups: plan.bench_groups,
        per_group: plan.bench_per_group,
        batch: 16,
        seed: plan.bench_seed,
        captions: BenchmarkCaptions::Template,
        progress,
    };
    let benchmark = benchmark_model(gpu, &model, tok.clone(), &bench)?;
    let verb_benchmarks = [BenchmarkCaptions::Verbs, BenchmarkCaptions::VerbsHeldout]
        .into_iter()
        .map(|captions| {
            let cfg = BenchmarkConfig {
                captions,
                ..bench.clone()
            };
            let metrics = benchmark_model(gpu, &model, tok.clone(), &cfg)?;
            Ok(CaptionedBenchmark { captions, metrics })
        })
        .collect::<Result<Vec<_>>>()?;

    stages.next(&format!("write the report → {}", out.display()));
    let mut s = DemoSummary {
        plan: plan.clone(),
        adapter: format!("{} ({})", gpu.summary.name, gpu.summary.backend),
        clips_per_s: summary.clips_per_s,
        heldout,
        benchmark,
        verb_benchmarks,
        wall_s: 0.0,
        report: out.join("report.html"),
    };
    s.wall_s = stages.elapsed_s();
    let gallery = gallery(&entries, "data", plan.paraphrases, plan.seed);
    write_report(out, &s, gallery)?;
    crate::util::fs::write_atomic(
        out.join("results.json"),
        serde_json::to_string_pretty(&s)?.as_bytes(),
    )?;
    Ok(s)
}

/// Text→video R@1 within groups and globally, chance beside each, one row per caption kind.
fn verb_table(template: &BenchmarkMetrics, verbs: &[CaptionedBenchmark]) -> Table {
    let mut t = Table::new(&[
        "captions",
        "within R@1 %",
        "chance",
        "global R@1 %",
        "chance",
    ])
    .muted(&[2, 4]);
    let rows = std::iter::once((BenchmarkCaptions::Template, template))
        .chain(verbs.iter().map(|v| (v.captions, &v.metrics)));
    for (kind, m) in rows {
        let (w, g) = (&m.within_group.text_to_video, &m.global.text_to_video);
        t = t.row(vec![
            kind.name().to_string(),
            format!("{:.1}", 100.0 * w.model.r1),
            format!("{:.1}", 100.0 * w.chance.r1),
            format!("{:.1}", 100.0 * g.model.r1),
            format!("{:.1}", 100.0 * g.chance.r1),
        ]);
    }
    t
}

/// Which objects and backgrounds pre-training pasted, in a sentence.
fn libraries(m: &MotionOptions) -> String {
    if *m == MotionOptions::default() {
        return "Only built-in objects and backgrounds are used.".into();
    }
    let objects = m
        .objects
        .as_ref()
        .map_or("the built-in objects".to_string(), |d| {
            format!("the objects of {}", d.display())
        });
    format!(
        "Pre-training pasted {objects} onto {} backgrounds; the previews, held-out retrieval and the motion benchmark use built-in held-out ones.",
        m.backgrounds.name()
    )
}

fn write_report(out: &Path, s: &DemoSummary, clips: Vec<crate::report::Clip>) -> Result<()> {
    let p = &s.plan;
    let mut r = Report::new("LocoMotion demo");
    r.paragraph(&format!(
        "The {} preset pre-trained for {} steps of batch {} on online synthetic clips with \
         {} captions (loss weights VTC {} / VTM {} / MLM {}, lr {}, seed {}) on {}: {:.1} \
         clips/s, {:.0} s for the whole demo. {}",
        p.preset,
        p.steps,
        p.batch,
        p.captions,
        p.weights[0],
        p.weights[1],
        p.weights[2],
        p.lr,
        p.seed,
        s.adapter,
        s.clips_per_s,
        s.wall_s,
        libraries(&p.motion)
    ));
    r.heading(2, "Generated clips");
    r.paragraph(
        "Each clip with its rule-based captions (motion, spatial, template) and verb-variation \
         paraphrases of the motion caption. GIFs and captions.jsonl are in data/.",
    );
    r.push(Element::Gallery(clips));
    r.heading(2, "Pre-training curves");
    let records = read_metrics(&out.join("run").join(METRICS_FILE))?;
    let trained = objectives_phrase(&records);
    r.chart(
        out,
        "losses",
        &training_curves(
            &records,
            &format!("Pre-training ({trained})"),
            p.batch,
            p.background_fade,
        )
        .scene(),
        &format!(
            "Trained objectives: {trained}. Each loss per logged step from run/metrics.jsonl \
             (smoothed, raw values faint), VTC's chance level ln B dashed, the learning rate \
             and the gradient norm; dashed grey lines mark where the backgrounds start fading \
             in and reach full strength, which can lift the loss."
        ),
    )?;
    let cut = records.last().map_or(0.0, |r| r.truncated_share);
    r.paragraph(&format!(
        "Captions cut to the model's text length: {:.1} % of those trained on (truncated_share \
         in run/metrics.jsonl); a cut caption loses its end, often the last segment's motion.",
        100.0 * cut
    ));
    r.heading(2, "Retrieval on held-out clips");
    r.paragraph(&format!(
        "{} clips of held-out objects on held-out backgrounds, queried with their motion \
         captions. Percentages; chance is what a random ranking scores.",
        s.heldout.text_to_video.queries
    ));
    r.push(Element::Table(retrieval_table(&s.heldout)));
    r.heading(2, "Motion benchmark");
    r.paragraph(&format!(
        "{} clips in {} groups (benchmark seed {}, a seed no training or tuning used): each \
         group is one held-out object on one held-out background moving in different ways, \
         captioned with template captions (\"something moves …\"). Global ranks every \
         caption against every clip; within group, only motion tells the clips apart.",
        s.benchmark.clips, s.benchmark.groups, p.bench_seed
    ));
    r.heading(3, "Global");
    r.push(Element::Table(retrieval_table(&s.benchmark.global)));
    r.heading(3, "Within group");
    r.push(Element::Table(retrieval_table(&s.benchmark.within_group)));
    if trivial_recall(&s.benchmark.within_group) {
        r.paragraph(&format!(
            "—: a group has {} clips, so every clip is within the top 5 and R@5 / R@10 are \
             100 % for any model.",
            p.bench_per_group
        ));
    }
    r.heading(3, "Verb captions");
    r.paragraph(
        "The same clips captioned with everyday verbs and the object named (\"the ring zooms \
         rightward\"): `verbs` from the lexicon's training part, `verbs-heldout` from its \
         held-out part, which no pre-training caption contains. Text→video R@1.",
    );
    r.push(Element::Table(verb_table(&s.benchmark, &s.verb_benchmarks)));
    r.heading(2, "Settings of this run");
    r.paragraph(&format!(
        "Every setting the demo ran with, as resolved from the command line and the defaults \
         (also in results.json), on {}.",
        s.adapter
    ));
    r.push(Element::Table(settings_table(p)));
    r.paragraph(
        "Raw numbers: results.json. Reproduce: locomotion demo with the plan in results.json.",
    );
    r.write(out)?;
    Ok(())
}
