//! `locomotion eval`: retrieval metrics of a checkpoint on a held-out set, as a table and JSON.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::eval::motion_benchmark::{
    BenchmarkCaptions, BenchmarkConfig, benchmark, table as benchmark_table,
};
use crate::eval::retrieval::{EvalConfig, evaluate_report, report_table};
use crate::gpu::{AdapterRequest, Gpu};
use crate::model::checkpoint::{CONFIG_FILE, Checkpoint};
use crate::train::config::CHECKPOINT_DIR;
use crate::train::recipe;

/// `locomotion eval` flags.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// The run's --out folder or its checkpoint/ folder.
    #[arg(long, value_name = "DIR")]
    pub checkpoint: PathBuf,
    /// Clips (queries and gallery): held-out clips made now (default 64), or at most this
    /// many of --data's clips (default all).
    #[arg(long)]
    pub clips: Option<usize>,
    /// Clips per forward pass.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// The queries' captions (as pretrain's --captions).
    #[arg(long, default_value = "motion")]
    pub captions: String,
    /// Seed of the held-out set (and, through --bench-seed's default, of the benchmark).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Rank the clips of this `generate --captions` folder instead of fresh held-out clips.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Also re-rank each query's top K candidates by the VTM head's matched probability.
    #[arg(long, value_name = "K")]
    pub rerank_vtm: Option<usize>,
    /// Also write the metrics as JSON here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Evaluate on a benchmark instead: `motion` (held-out objects and backgrounds, groups of
    /// clips that differ only in motion; --clips and --captions unused).
    #[arg(long, value_name = "NAME")]
    pub benchmark: Option<String>,
    /// Motion benchmark: groups (one object on one background each); the default is the
    /// demo's (`experiment` scores 128).
    #[arg(long, default_value_t = recipe::BENCHMARK_GROUPS)]
    pub groups: usize,
    /// Motion benchmark: clips per group, each with a different motion.
    #[arg(long, default_value_t = recipe::BENCHMARK_PER_GROUP)]
    pub per_group: usize,
    /// Motion benchmark: the captions the clips carry: `template` ("something moves …"),
    /// `verbs` (the object named, everyday verbs from the lexicon's training part) or
    /// `verbs-heldout` (verbs and phrases no pre-training caption contains).
    #[arg(long, value_enum, value_name = "KIND", default_value_t = BenchmarkCaptions::Template)]
    pub benchmark_captions: BenchmarkCaptions,
    /// The motion benchmark's seed. Default: 1000 + --seed, the benchmark `demo` scores (a
    /// seed no training run and no tuning of the recipe ever used).
    #[arg(long, value_name = "SEED")]
    pub bench_seed: Option<u64>,
    /// Motion benchmark: draw it on these backgrounds (video files, GIFs, frame folders or
    /// a folder of them, as `generate --backgrounds`) instead of the built-in held-out scenes.
    #[arg(long, value_name = "PATH", requires = "benchmark")]
    pub backgrounds: Option<PathBuf>,
    /// Annotated real videos (--annotations, --videos, ...): see docs/data.md.
    #[command(flatten)]
    pub real: super::annotated::AnnotatedEvalArgs,
}

/// Run `eval`.
pub fn run(req: &AdapterRequest, args: &EvalArgs) -> Result<()> {
    if args.real.data.annotations.is_some() {
        return super::annotated::run_eval(req, args);
    }
    if args.rerank_vtm == Some(0) {
        anyhow::bail!("--rerank-vtm must be at least 1 (leave it out for VTC only)");
    }
    if args.batch == 0 {
        anyhow::bail!("--batch must be at least 1");
    }
    let ckpt = check_checkpoint(&args.checkpoint)?;
    if args.rerank_vtm.is_some() {
        let stored = Checkpoint::read_config(&ckpt)?;
        if stored.model.loss_weights.vtm == 0.0 {
            anyhow::bail!(
                "--rerank-vtm: {} was trained with VTM weight 0, so its VTM head is untrained and would re-rank with noise: leave --rerank-vtm out",
                ckpt.display()
            );
        }
    }
    let default_clips = if args.data.is_some() { usize::MAX } else { 64 };
    if let Some(name) = &args.benchmark {
        return run_benchmark(req, args, name);
    }
    let cfg = EvalConfig {
        clips: args.clips.unwrap_or(default_clips),
        batch: args.batch,
        captions: args.captions.clone(),
        seed: args.seed,
        progress: true,
        data: args.data.clone(),
        rerank_vtm: args.rerank_vtm.unwrap_or(0),
    };
    let gpu = Gpu::new(req)?;
    let data = args.data.as_ref().map_or_else(
        || format!("{} held-out clips ({} captions)", cfg.clips, cfg.captions),
        |d| d.display().to_string(),
    );
    crate::util::progress::print_settings(
        "evaluate",
        &[
            ("checkpoint", args.checkpoint.display().to_string()),
            ("data", data),
            ("batch", cfg.batch.to_string()),
            ("rerank VTM", cfg.rerank_vtm.to_string()),
            ("seed", cfg.seed.to_string()),
            ("adapter", gpu.summary.name.clone()),
        ],
    );
    let m = evaluate_report(&gpu, &args.checkpoint, &cfg)?;
    print!("{}", report_table(&m));
    if let Some(path) = &args.json {
        crate::util::fs::write_atomic(path, serde_json::to_string_pretty(&m)?.as_bytes())?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// The checkpoint folder `path` names (a run's --out or its checkpoint/), with a hint when
/// `path` is a folder holding runs (a demo's --out holds run/).
pub fn check_checkpoint(path: &std::path::Path) -> Result<PathBuf> {
    let (ckpt, _) = crate::eval::retrieval::checkpoint_dirs(path);
    let found = Checkpoint::locate(&ckpt);
    let elsewhere = found.as_ref().is_ok_and(|p| *p != ckpt);
    if elsewhere || ckpt.join(CONFIG_FILE).is_file() || ckpt.ends_with(CHECKPOINT_DIR) {
        // A run's checkpoint, or what an interrupted save left of it: loading it (or the
        // error saying what lies there) tells the rest.
        return found.with_context(|| format!("--checkpoint {}", path.display()));
    }
    let inner: Vec<String> = std::fs::read_dir(path)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().join(CHECKPOINT_DIR).join(CONFIG_FILE).is_file())
                .map(|e| e.path().display().to_string())
                .collect()
        })
        .unwrap_or_default();
    match inner.first() {
        Some(run) => anyhow::bail!(
            "--checkpoint {} holds no checkpoint itself but its run {run} does: use --checkpoint {run}",
            path.display()
        ),
        None => anyhow::bail!(
            "--checkpoint {}: no checkpoint there (expected a run's --out with {CHECKPOINT_DIR}/, or a checkpoint folder with {CONFIG_FILE})",
            path.display()
        ),
    }
}

/// Run `eval --benchmark NAME`.
fn run_benchmark(req: &AdapterRequest, args: &EvalArgs, name: &str) -> Result<()> {
    if name != "motion" {
        anyhow::bail!("--benchmark {name:?}: unknown benchmark (the one there is: motion)");
    }
    let cfg = BenchmarkConfig {
        groups: args.groups,
        per_group: args.per_group,
        batch: args.batch,
        seed: args.bench_seed.unwrap_or(recipe::benchmark_seed(args.seed)),
        captions: args.benchmark_captions,
        progress: true,
    };
    let gpu = Gpu::new(req)?;
    crate::util::progress::print_settings(
        "motion benchmark",
        &[
            ("checkpoint", args.checkpoint.display().to_string()),
            ("groups", cfg.groups.to_string()),
            ("per group", cfg.per_group.to_string()),
            ("batch", cfg.batch.to_string()),
            ("benchmark seed", cfg.seed.to_string()),
            ("captions", cfg.captions.name().to_string()),
            ("adapter", gpu.summary.name.clone()),
        ],
    );
    let m = match &args.backgrounds {
        None => benchmark(&gpu, &args.checkpoint, &cfg)?,
        Some(p) => {
            println!("motion benchmark backgrounds: {}", p.display());
            let (model, tok) = crate::eval::retrieval::load_run(&gpu, &args.checkpoint)?;
            crate::eval::motion_benchmark::benchmark_model_on(&gpu, &model, tok, &cfg, Some(p))?
        }
    };
    print!("{}", benchmark_table(&m, cfg.captions));
    if let Some(path) = &args.json {
        crate::util::fs::write_atomic(path, serde_json::to_string_pretty(&m)?.as_bytes())?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
