//! `locomotion demo`: flags → [`DemoPlan`] → generate, pre-train, evaluate, report.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::run_flags::{BenchmarkFlags, RunFlags};

use crate::experiment::{DemoOptions, DemoPlan, run_demo};
use crate::gpu::{AdapterRequest, Gpu};

/// `locomotion demo` flags; their defaults are [`DemoPlan::default`]'s (the recipe's).
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Output folder: data/ (GIFs, captions), run/ (checkpoint, metrics), report.html,
    /// report.md, charts, results.json.
    #[arg(long, default_value = "demo-out")]
    pub out: PathBuf,
    /// Write into a non-empty --out (its data/ and run/ are replaced).
    #[arg(long)]
    pub force: bool,
    /// Model preset: tiny (CPUs) or small (GPUs).
    #[arg(long, default_value_t = DemoPlan::default().preset)]
    pub preset: String,
    /// Pre-training steps.
    #[arg(long, default_value_t = DemoPlan::default().steps)]
    pub steps: u64,
    /// Video-caption pairs per batch.
    #[arg(long, default_value_t = DemoPlan::default().batch)]
    pub batch: usize,
    /// Run each batch in N micro-batches (GradCache): VTC, VTM's negatives and MLM's mean
    /// stay the whole batch's, activation memory is about one micro-batch's; the encoders
    /// run twice. From 1 (all at once) to --batch.
    #[arg(long, default_value_t = 1)]
    pub accumulate: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = DemoPlan::default().lr)]
    pub lr: f64,
    /// Pre-training captions: motion, spatial, paraphrase or a mixture like
    /// motion:0.5,paraphrase:0.5.
    #[arg(long, default_value_t = DemoPlan::default().captions)]
    pub captions: String,
    /// The seed every random choice flows from.
    #[arg(long, default_value_t = DemoPlan::default().seed)]
    pub seed: u64,
    /// Preview clips in the report's gallery.
    #[arg(long, default_value_t = DemoPlan::default().preview_clips)]
    pub clips: u64,
    /// Preview clip side in pixels.
    #[arg(long, default_value_t = DemoPlan::default().preview_size)]
    pub size: u32,
    /// Held-out clips for retrieval.
    #[arg(long, default_value_t = DemoPlan::default().eval_clips)]
    pub eval_clips: usize,
    #[command(flatten)]
    pub benchmark: BenchmarkFlags,
    /// The motion benchmark's seed. Default: 1000 + --seed, a benchmark seed that no
    /// training run and no tuning of the recipe ever used.
    #[arg(long, value_name = "SEED")]
    pub bench_seed: Option<u64>,
    #[command(flatten)]
    pub run: RunFlags,
    /// Pre-train on these backgrounds: procedural (the built-in scenes), black, or a path
    /// (video files through ffmpeg, GIFs, frame folders, or a folder of them), as pretrain's
    /// --backgrounds.
    #[arg(long, value_name = "procedural|black|PATH")]
    pub backgrounds: Option<String>,
    /// Pre-train with these RGBA PNG objects, as pretrain's --objects-dir.
    #[arg(long, value_name = "DIR")]
    pub objects_dir: Option<PathBuf>,
}

impl DemoArgs {
    /// The plan: the defaults with the given flags on top.
    pub fn plan(&self) -> DemoPlan {
        DemoPlan {
            preset: self.preset.clone(),
            captions: self.captions.clone(),
            steps: self.steps,
            background_fade: self.run.background_fade(self.steps),
            batch: self.batch,
            accumulate: self.accumulate,
            group_size: self.run.group_size(self.batch),
            lr: self.lr,
            seed: self.seed,
            preview_clips: self.clips,
            preview_size: self.size,
            eval_clips: self.eval_clips,
            bench_groups: self
                .benchmark
                .groups(crate::train::recipe::BENCHMARK_GROUPS),
            bench_per_group: self.benchmark.per_group,
            bench_seed: self
                .bench_seed
                .unwrap_or(crate::train::recipe::benchmark_seed(self.seed)),
            ..DemoPlan::default()
        }
    }
}

/// Run `demo`.
pub fn run(req: &AdapterRequest, args: &DemoArgs) -> Result<()> {
    let mut plan = args.plan();
    plan.motion = crate::train::motion_options::MotionOptions {
        backgrounds: match &args.backgrounds {
            Some(b) => crate::train::motion_options::BackgroundChoice::parse(b)?,
            None => Default::default(),
        },
        nonlinear: false,
        objects: args.objects_dir.clone(),
    };
    if let Some(dir) = &plan.motion.objects {
        crate::motion::ObjectLibrary::from_dir(dir)
            .with_context(|| format!("--objects-dir {}", dir.display()))?;
    }
    // Flag errors before the (slow) device opens, the benchmark's too: they would otherwise
    // surface only after generating and training.
    plan.check()?;
    anyhow::ensure!(plan.bench_groups >= 1, "--groups must be at least 1");
    anyhow::ensure!(
        plan.bench_per_group >= 2,
        "--per-group must be at least 2 (a group needs motions to tell apart), got {}",
        plan.bench_per_group
    );
    let opts = DemoOptions {
        out: args.out.clone(),
        force: args.force,
        quiet: args.run.quiet,
        allow_truncated_captions: args.run.allow_truncated_captions,
    };
    let gpu = Gpu::new(req)?;
    if !args.run.quiet {
        let [vtc, vtm, mlm] = plan.weights;
        crate::util::progress::print_settings(
            "demo",
            &[
                ("preset", plan.preset.clone()),
                ("steps", plan.steps.to_string()),
                ("batch", plan.batch.to_string()),
                ("group size", plan.group_size.to_string()),
                ("backgrounds", plan.motion.backgrounds.name()),
                ("lr", format!("{} (warm-up {})", plan.lr, plan.warmup)),
                (
                    "objectives",
                    crate::util::progress::objectives(vtc, vtm, mlm),
                ),
                ("captions", plan.captions.clone()),
                ("seed", plan.seed.to_string()),
                ("adapter", gpu.summary.name.clone()),
                ("out", args.out.display().to_string()),
            ],
        );
    }
    let s = run_demo(&gpu, &plan, &opts)?;
    let t2v = &s.benchmark.within_group.text_to_video;
    let global = &s.benchmark.global.text_to_video;
    println!(
        "held-out text→video R@1 {:.1} % (chance {:.1} %); motion benchmark within-group R@1 \
         {:.1} % (chance {:.1} %), global R@1 {:.1} % (chance {:.1} %); {:.0} s",
        100.0 * s.heldout.text_to_video.model.r1,
        100.0 * s.heldout.text_to_video.chance.r1,
        100.0 * t2v.model.r1,
        100.0 * t2v.chance.r1,
        100.0 * global.model.r1,
        100.0 * global.chance.r1,
        s.wall_s
    );
    for v in &s.verb_benchmarks {
        let w = &v.metrics.within_group.text_to_video;
        println!(
            "  with {} captions: within-group R@1 {:.1} % (chance {:.1} %)",
            v.captions.name(),
            100.0 * w.model.r1,
            100.0 * w.chance.r1
        );
    }
    let out = args.out.display();
    println!(
        "wrote {out}/report.html, report.md, losses.svg/png, results.json, data/ (clips, \
         manifest.jsonl, captions.jsonl) and run/ (checkpoint, tokenizer.json, metrics.jsonl)"
    );
    println!("report: {}", s.report.display());
    Ok(())
}
