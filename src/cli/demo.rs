//! `locomotion demo`: flags → [`DemoPlan`] → generate, pre-train, evaluate, report.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::experiment::{DemoOptions, DemoPlan, run_demo};
use crate::gpu::{AdapterRequest, Gpu};

/// `locomotion demo` flags; anything not given comes from [`DemoPlan::default`].
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Output folder: data/ (GIFs, captions), run/ (checkpoint, metrics), report.html,
    /// report.md, charts, results.json.
    #[arg(long, default_value = "demo-out")]
    pub out: PathBuf,
    /// Write into a non-empty --out (its data/ and run/ are replaced).
    #[arg(long)]
    pub force: bool,
    /// Model preset: tiny (CPUs, the default) or small (GPUs).
    #[arg(long)]
    pub preset: Option<String>,
    /// Pre-training steps.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Video-caption pairs per batch.
    #[arg(long)]
    pub batch: Option<usize>,
    /// Peak learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Pre-training captions: motion, spatial, paraphrase or a mixture like
    /// motion:0.5,paraphrase:0.5.
    #[arg(long)]
    pub captions: Option<String>,
    /// The seed every random choice flows from.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Preview clips in the report's gallery.
    #[arg(long)]
    pub clips: Option<u64>,
    /// Preview clip side in pixels.
    #[arg(long)]
    pub size: Option<u32>,
    /// Held-out clips for retrieval.
    #[arg(long)]
    pub eval_clips: Option<usize>,
    /// Motion benchmark groups.
    #[arg(long)]
    pub groups: Option<usize>,
    /// Motion benchmark clips per group.
    #[arg(long)]
    pub per_group: Option<usize>,
    /// Steps over which the backgrounds fade in from black while pre-training from scratch
    /// (default: half of --steps; 0: full backgrounds from the start).
    #[arg(long, value_name = "STEPS")]
    pub background_fade: Option<u64>,
    /// Clips per motion group in a pre-training batch (1: independent clips). Default: 4
    /// when it divides --batch, else 1.
    #[arg(long, value_name = "G")]
    pub group_size: Option<usize>,
    /// No stage lines or progress bars.
    #[arg(long)]
    pub quiet: bool,
}

impl DemoArgs {
    /// The plan: the defaults with the given flags on top.
    pub fn plan(&self) -> DemoPlan {
        let mut p = DemoPlan::default();
        if let Some(v) = &self.preset {
            p.preset = v.clone();
        }
        if let Some(v) = &self.captions {
            p.captions = v.clone();
        }
        p.steps = self.steps.unwrap_or(p.steps);
        p.background_fade = self.background_fade.unwrap_or(p.steps / 2);
        p.batch = self.batch.unwrap_or(p.batch);
        p.group_size = self
            .group_size
            .unwrap_or(crate::train::recipe::group_size(p.batch));
        p.lr = self.lr.unwrap_or(p.lr);
        p.seed = self.seed.unwrap_or(p.seed);
        p.preview_clips = self.clips.unwrap_or(p.preview_clips);
        p.preview_size = self.size.unwrap_or(p.preview_size);
        p.eval_clips = self.eval_clips.unwrap_or(p.eval_clips);
        p.bench_groups = self.groups.unwrap_or(p.bench_groups);
        p.bench_per_group = self.per_group.unwrap_or(p.bench_per_group);
        p
    }
}

/// Run `demo`.
pub fn run(req: &AdapterRequest, args: &DemoArgs) -> Result<()> {
    let plan = args.plan();
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
        quiet: args.quiet,
    };
    let gpu = Gpu::new(req)?;
    if !args.quiet {
        let [vtc, vtm, mlm] = plan.weights;
        crate::util::progress::print_settings(
            "demo",
            &[
                ("preset", plan.preset.clone()),
                ("steps", plan.steps.to_string()),
                ("batch", plan.batch.to_string()),
                ("group size", plan.group_size.to_string()),
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
    println!(
        "held-out text→video R@1 {:.1} % (chance {:.1} %); motion benchmark within-group R@1 \
         {:.1} % (chance {:.1} %); {:.0} s",
        100.0 * s.heldout.text_to_video.model.r1,
        100.0 * s.heldout.text_to_video.chance.r1,
        100.0 * t2v.model.r1,
        100.0 * t2v.chance.r1,
        s.wall_s
    );
    let out = args.out.display();
    println!(
        "wrote {out}/report.html, report.md, losses.svg/png, results.json, data/ (clips, \
         manifest.jsonl, captions.jsonl) and run/ (checkpoint, tokenizer.json, metrics.jsonl)"
    );
    println!("report: {}", s.report.display());
    Ok(())
}
