//! `locomotion bench <suite>`: one nested subcommand per benchmark suite.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::bench::composite::{self, CompositeBench};
use crate::bench::kernels::{self, Size};
use crate::gpu::{AdapterRequest, Gpu};

/// The benchmark suites.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time each kernel at a few shapes (GFLOP/s or GB/s), with same-run speedups over the
    /// naive baselines.
    Kernels(KernelsArgs),
    /// The compositor: GPU against the single-threaded CPU reference, clips/s and frames/s.
    Composite(CompositeArgs),
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
