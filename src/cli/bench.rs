//! `locomotion bench ...`: the benchmark suites.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::bench::kernels::{self, Size};
use crate::gpu::{AdapterRequest, Gpu};

/// The benchmark suites.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time each kernel at a few shapes (GFLOP/s or GB/s), with same-run speedups over the
    /// naive baselines.
    Kernels(KernelsArgs),
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

/// Run a bench subcommand.
pub fn run(req: &AdapterRequest, cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Kernels(args) => {
            let gpu = Gpu::new(req)?;
            let size = if args.quick { Size::Quick } else { Size::Full };
            let report = kernels::run(&gpu, size, args.wall_clock)?;
            print!("{}", report.table());
            if let Some(path) = args.json {
                report.write_json(&path)?;
                println!("wrote {}", path.display());
            }
            Ok(())
        }
    }
}
