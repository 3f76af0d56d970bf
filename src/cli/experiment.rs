//! `locomotion experiment`: flags → [`ExperimentPlan`] → pre-train, fine-tune and score every
//! condition over seeds, then the table, charts and report.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::run_flags::{BenchmarkFlags, RunFlags};

use crate::experiment::conditions::{PRETRAINED_TEXT, TextInitPlan};
use crate::experiment::{ExperimentOptions, ExperimentPlan, run_experiment};
use crate::gpu::{AdapterRequest, Gpu};

/// `locomotion experiment` flags; their defaults are [`ExperimentPlan::default`]'s.
#[derive(Debug, Clone, Args)]
pub struct ExperimentArgs {
    /// Output folder: plan.json, downstream/, runs/, results.json, report.html, report.md,
    /// charts. Re-run with the same flags to continue an interrupted experiment.
    #[arg(long, default_value = "experiment-out")]
    pub out: PathBuf,
    /// Seeds (0, 1, … N−1); the table shows mean ± std over them.
    #[arg(long, default_value_t = ExperimentPlan::default().seeds)]
    pub seeds: u64,
    /// Pre-training steps (every condition).
    #[arg(long, default_value_t = ExperimentPlan::default().steps)]
    pub steps: u64,
    /// Fine-tuning steps (every fine-tuning run).
    #[arg(long, default_value_t = ExperimentPlan::default().finetune_steps)]
    pub finetune_steps: u64,
    /// Video-caption pairs per batch.
    #[arg(long, default_value_t = ExperimentPlan::default().batch)]
    pub batch: usize,
    /// Run each batch in N micro-batches (GradCache): VTC, VTM's negatives and MLM's mean
    /// stay the whole batch's, activation memory is about one micro-batch's; the encoders
    /// run twice. From 1 (all at once) to --batch.
    #[arg(long, default_value_t = 1)]
    pub accumulate: usize,
    /// Pre-training peak learning rate.
    #[arg(long, default_value_t = ExperimentPlan::default().lr)]
    pub lr: f64,
    /// Fine-tuning peak learning rate.
    #[arg(long, default_value_t = ExperimentPlan::default().finetune_lr)]
    pub finetune_lr: f64,
    /// Model preset: tiny, small or base.
    #[arg(long, default_value_t = ExperimentPlan::default().preset)]
    pub preset: String,
    /// Shares of the downstream set to fine-tune on, e.g. 1,0.2.
    #[arg(long, value_name = "F,F", default_value_t = default_fractions())]
    pub fractions: String,
    /// Clips in the downstream set.
    #[arg(long, default_value_t = ExperimentPlan::default().downstream_clips)]
    pub downstream_clips: u64,
    /// Pre-training backgrounds: black, procedural, or a path (GIF, video, frame folder or a
    /// folder of those). Beyond the paper.
    #[arg(long, value_name = "black|procedural|DIR", default_value_t = ExperimentPlan::default().backgrounds)]
    pub backgrounds: String,
    /// Curved trajectories (arcs, circles) in pre-training. Beyond the paper.
    #[arg(long)]
    pub nonlinear: bool,
    /// Frames per clip (short vs long clips; a multiple of the tubelet's 2; default: the
    /// preset's, 8 for tiny). Beyond the paper.
    #[arg(long)]
    pub frames: Option<usize>,
    #[command(flatten)]
    pub benchmark: BenchmarkFlags,
    /// The motion benchmark's seed, one benchmark for every run. Default: 1000, the benchmark
    /// `demo` and `eval` score at their default --seed 0 (a seed no training run and no
    /// tuning of the recipe ever used).
    #[arg(long, value_name = "SEED", default_value_t = ExperimentPlan::default().bench_seed)]
    pub bench_seed: u64,
    #[command(flatten)]
    pub run: RunFlags,
    /// A Hugging Face BERT folder (e.g. all-MiniLM-L6-v2, `.ci/fetch-minilm.sh`): adds
    /// motion and motion + paraphrase pre-training with it as the text encoder, frozen (not
    /// fine-tuned). May be added to an experiment that ran without it.
    #[arg(long, value_name = "DIR")]
    pub init_text: Option<PathBuf>,
    /// With --init-text: keep its first K transformer layers. 1 read held-out verbs best of
    /// 1, 2 and 6 (BENCHMARKS.md, "Paraphrases") and runs within 2x the tiny step on lavapipe.
    #[arg(long, value_name = "K", default_value_t = 1, requires = "init_text")]
    pub text_layers: usize,
}

impl ExperimentArgs {
    /// The plan: the defaults with the given flags on top.
    pub fn plan(&self) -> Result<ExperimentPlan> {
        let v = &self.fractions;
        let fractions = v
            .split(',')
            .map(|x| x.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .ok()
            .with_context(|| format!("--fractions {v:?}: give shares like 1,0.2"))?;
        let d = ExperimentPlan::default();
        Ok(ExperimentPlan {
            preset: self.preset.clone(),
            backgrounds: self.backgrounds.clone(),
            fractions,
            seeds: self.seeds,
            steps: self.steps,
            background_fade: self.run.background_fade(self.steps),
            finetune_steps: self.finetune_steps,
            batch: self.batch,
            accumulate: self.accumulate,
            group_size: self.run.group_size(self.batch),
            lr: self.lr,
            finetune_lr: self.finetune_lr,
            downstream_clips: self.downstream_clips,
            nonlinear: d.nonlinear || self.nonlinear,
            frames: self.frames.or(d.frames),
            bench_groups: self
                .benchmark
                .groups(crate::train::recipe::EXPERIMENT_BENCHMARK_GROUPS),
            bench_per_group: self.benchmark.per_group,
            bench_seed: self.bench_seed,
            text_init: self.init_text.as_ref().map(|dir| TextInitPlan {
                dir: dir.clone(),
                layers: self.text_layers,
            }),
            ..d
        })
    }
}

/// The default `--fractions`, as the plan holds them.
fn default_fractions() -> String {
    let f = ExperimentPlan::default().fractions;
    f.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Run `experiment`.
pub fn run(req: &AdapterRequest, args: &ExperimentArgs) -> Result<()> {
    let plan = args.plan()?;
    // Flag errors before the (slow) device opens.
    plan.check()?;
    let opts = ExperimentOptions {
        out: args.out.clone(),
        quiet: args.run.quiet,
        allow_truncated_captions: args.run.allow_truncated_captions,
    };
    let gpu = Gpu::new(req)?;
    if !args.run.quiet {
        let [vtc, vtm, mlm] = plan.weights;
        crate::util::progress::print_settings(
            "experiment",
            &[
                ("preset", plan.preset.clone()),
                ("seeds", plan.seeds.to_string()),
                ("steps", plan.steps.to_string()),
                ("fine-tune steps", plan.finetune_steps.to_string()),
                ("batch", plan.batch.to_string()),
                ("group size", plan.group_size.to_string()),
                (
                    "lr",
                    format!("{} (fine-tune {})", plan.lr, plan.finetune_lr),
                ),
                (
                    "objectives",
                    crate::util::progress::objectives(vtc, vtm, mlm),
                ),
                (
                    "pretrained text",
                    plan.text_init.as_ref().map_or("none".into(), |t| {
                        format!("{} (frozen, {} layers)", t.dir.display(), t.layers)
                    }),
                ),
                ("adapter", gpu.summary.name.clone()),
                ("out", args.out.display().to_string()),
            ],
        );
    }
    let results = run_experiment(&gpu, &plan, &opts)?;
    let rows = crate::experiment::comparison_report::rows(&plan, &results);
    use crate::experiment::comparison_report::{paraphrase_verdict, verdict};
    println!("{}", verdict(&rows));
    println!("{}", paraphrase_verdict(&rows, ""));
    if plan.text_init.is_some() {
        println!(
            "With the pretrained text encoder: {}",
            paraphrase_verdict(&rows, PRETRAINED_TEXT)
        );
    }
    let out = args.out.display();
    println!(
        "wrote {out}/report.html, report.md, r1.svg/png, within_r1.svg/png, results.json, \
         plan.json, downstream/ and runs/"
    );
    Ok(())
}
