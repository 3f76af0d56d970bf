//! `locomotion bench <suite>`: one nested subcommand per benchmark suite.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::bench::composite::{self, CompositeBench};
use crate::bench::encoder::EncoderDims;
use crate::bench::kernels::{self, Size};
use crate::bench::train::{self, TrainBench};
use crate::gpu::{AdapterRequest, Gpu};

/// The benchmark suites.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time each kernel at a few shapes (GFLOP/s or GB/s), with same-run speedups over the
    /// naive baselines.
    Kernels(KernelsArgs),
    /// The compositor: GPU against the single-threaded CPU reference, clips/s and frames/s.
    Composite(CompositeArgs),
    /// Whole training steps (forward, backward, optimizer): the benchmark transformer
    /// encoder and LocoMotion pre-training on online data; steps/s, clips/s, GFLOP/s,
    /// dispatches and submits per step; `--profile` adds a per-kernel breakdown.
    Train(BenchTrainArgs),
}

/// The row names `bench train --rows` takes.
const TRAIN_ROWS: [&str; 4] = [
    "transformer-encoder",
    "pretrain",
    "pretrain-vtc",
    "pretrain-all",
];

/// Options of `bench train`.
#[derive(Debug, Args)]
pub struct BenchTrainArgs {
    /// Timed steps per row (the median is reported).
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Untimed warm-up steps per row.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Rows to run, comma-separated: transformer-encoder, pretrain (both pre-training rows),
    /// pretrain-vtc, pretrain-all.
    #[arg(
        long,
        default_value = "transformer-encoder,pretrain",
        value_name = "ROWS"
    )]
    pub rows: String,
    /// The preset of the pre-training rows (VTC only, and all three objectives).
    #[arg(long, default_value = "tiny")]
    pub preset: String,
    /// Pairs per pre-training batch; a comma-separated list runs the pre-training rows at
    /// each size (with the peak memory of each).
    #[arg(
        long,
        default_value = "16",
        value_delimiter = ',',
        value_name = "N[,N...]"
    )]
    pub batch: Vec<usize>,
    /// Micro-batches per pre-training batch (GradCache, as `pretrain --accumulate`); a
    /// comma-separated list runs the pre-training rows at each value, with the peak memory
    /// of each beside the others.
    #[arg(
        long,
        default_value = "1",
        value_delimiter = ',',
        value_name = "N[,N...]"
    )]
    pub accumulate: Vec<usize>,
    /// transformer-encoder: sequences per batch.
    #[arg(long, default_value_t = 8)]
    pub encoder_batch: usize,
    /// transformer-encoder: sequence length.
    #[arg(long, default_value_t = 256)]
    pub seq: usize,
    /// transformer-encoder: model width.
    #[arg(long, default_value_t = 128)]
    pub width: usize,
    /// transformer-encoder: attention heads.
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    /// transformer-encoder: MLP hidden width.
    #[arg(long, default_value_t = 512)]
    pub mlp: usize,
    /// transformer-encoder: layers.
    #[arg(long, default_value_t = 2)]
    pub layers: usize,
    /// Trace one more step per row: GPU time (timestamps where the adapter has them), share
    /// and count per kernel, host time per dispatch and per submit.
    #[arg(long)]
    pub profile: bool,
    /// Also write the report (adapter, host, rows, profiles) as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also time the pre-training rows data-parallel on these devices at once (as `pretrain
    /// --devices`: N on the chosen adapter, a list, or all), with the all-reduce's share.
    #[arg(long, value_name = "N|LIST|all")]
    pub devices: Option<String>,
}

/// Options of `bench kernels`.
#[derive(Debug, Args)]
pub struct KernelsArgs {
    /// Also write the report (adapter, driver, backend, every row) as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Tiny shapes only: checks the suite runs, numbers mean little.
    #[arg(long)]
    pub quick: bool,
    /// Time with the host clock even where the GPU has timestamp queries.
    #[arg(long)]
    pub wall_clock: bool,
}

/// Options of `bench composite`.
#[derive(Debug, Args)]
pub struct CompositeArgs {
    /// Clips per GPU batch.
    #[arg(long, default_value_t = 8)]
    pub clips: usize,
    /// Clips the CPU reference renders (it is slow).
    #[arg(long, default_value_t = 2)]
    pub cpu_clips: usize,
    /// Timed GPU batches (after one warm-up) and CPU reference runs per configuration.
    #[arg(long, default_value_t = 3)]
    pub iters: u32,
    /// Also write the rows as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// Run a benchmark suite.
pub fn run(req: &AdapterRequest, which: BenchCommand) -> anyhow::Result<()> {
    let gpu = Gpu::new(req)?;
    match which {
        BenchCommand::Kernels(args) => {
            let size = if args.quick { Size::Quick } else { Size::Full };
            let report = kernels::run(&gpu, size, args.wall_clock)?;
            print!("{}", report.table());
            if let Some(path) = args.json {
                report.write_json(&path)?;
                println!("wrote {}", path.display());
            }
        }
        BenchCommand::Train(a) => {
            let rows: Vec<&str> = a.rows.split(',').map(str::trim).collect();
            if let Some(bad) = rows.iter().find(|r| !TRAIN_ROWS.contains(r)) {
                anyhow::bail!(
                    "--rows: unknown row {bad:?} (choose from {})",
                    TRAIN_ROWS.join(", ")
                );
            }
            let any = |names: &[&str]| names.iter().any(|n| rows.contains(n));
            let opts = TrainBench {
                steps: a.steps,
                warmup: a.warmup,
                encoder: rows
                    .contains(&"transformer-encoder")
                    .then_some(EncoderDims {
                        batch: a.encoder_batch,
                        seq: a.seq,
                        width: a.width,
                        heads: a.heads,
                        mlp: a.mlp,
                        layers: a.layers,
                    }),
                preset: any(&["pretrain", "pretrain-vtc", "pretrain-all"])
                    .then(|| a.preset.clone()),
                vtc_only: any(&["pretrain", "pretrain-vtc"]),
                all_objectives: any(&["pretrain", "pretrain-all"]),
                batch: a.batch[0],
                accumulate: a.accumulate[0],
                profile: a.profile,
            };
            for &batch in &a.batch {
                for &n in &a.accumulate {
                    crate::train::accumulate::check_accumulate(n, batch)?;
                }
            }
            let mut report = train::run(&gpu, &opts)?;
            let sizes = a
                .batch
                .iter()
                .flat_map(|&b| a.accumulate.iter().map(move |&n| (b, n)));
            for (batch, accumulate) in sizes.skip(1) {
                let more = train::run(
                    &gpu,
                    &TrainBench {
                        batch,
                        accumulate,
                        encoder: None,
                        ..opts.clone()
                    },
                )?;
                report.rows.extend(more.rows);
                report.profiles.extend(more.profiles);
                report.load_average_end = more.load_average_end;
            }
            if let Some(spec) = &a.devices {
                let gpus = crate::dist::devices::open_devices(spec, req)?;
                report
                    .rows
                    .extend(crate::bench::devices::replica_rows(&gpus, &opts)?);
                report.load_average_end = train::HostInfo::read().load_average;
            }
            print!("{}", report.table());
            if let Some(path) = a.json {
                report.write_json(&path)?;
                println!("wrote {}", path.display());
            }
        }
        BenchCommand::Composite(a) => {
            let opts = CompositeBench {
                clips: a.clips,
                cpu_clips: a.cpu_clips,
                iters: a.iters,
                ..CompositeBench::default()
            };
            let rows = composite::run(&gpu, &opts)?;
            print!("{}", composite::table(&gpu.summary.name, &rows));
            if let Some(path) = a.json {
                let json = serde_json::json!({
                    "adapter": gpu.summary.name,
                    "driver": format!("{} {}", gpu.summary.driver, gpu.summary.driver_info).trim(),
                    "backend": gpu.summary.backend,
                    "rows": rows,
                });
                crate::util::fs::write_atomic(
                    &path,
                    serde_json::to_string_pretty(&json)?.as_bytes(),
                )?;
                println!("wrote {}", path.display());
            }
        }
    }
    Ok(())
}
