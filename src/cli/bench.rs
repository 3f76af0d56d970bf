//! `locomotion bench <suite>`: one nested subcommand per benchmark suite.

use clap::{Args, Subcommand};

use crate::bench::composite::{self, CompositeBench};
use crate::gpu::{AdapterRequest, Gpu};

/// The benchmark suites.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The compositor: GPU against the single-threaded CPU reference, clips/s and frames/s.
    Composite(CompositeArgs),
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
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Run a benchmark suite.
pub fn run(req: &AdapterRequest, which: BenchCommand) -> anyhow::Result<()> {
    match which {
        BenchCommand::Composite(a) => {
            let gpu = Gpu::new(req)?;
            let opts = CompositeBench {
                clips: a.clips,
                cpu_clips: a.cpu_clips,
                iters: a.iters,
                ..CompositeBench::default()
            };
            let rows = composite::run(&gpu, &opts)?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print!("{}", composite::table(&gpu.summary.name, &rows));
            }
            Ok(())
        }
    }
}
