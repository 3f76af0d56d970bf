//! `locomotion selftest`: run [`crate::selftest`] and print one line per check, then a
//! summary; `--json FILE` writes the whole report.

use std::path::PathBuf;

use clap::Args;

use crate::gpu::{AdapterRequest, Gpu};

/// Options of `selftest`.
#[derive(Debug, Args)]
pub struct SelftestArgs {
    /// Also write the report (adapter, every check, passed and failed) as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// Run the checks; fails (exit 1) when any check fails.
pub fn run(req: &AdapterRequest, args: &SelftestArgs) -> anyhow::Result<()> {
    let gpu = Gpu::new(req)?;
    let s = &gpu.summary;
    println!(
        "selftest on {} ({}, {}), the kernel variants a GPU picks",
        s.name, s.backend, s.device_type
    );
    let report = crate::selftest::run(&gpu, |c| println!("{}", c.line()));
    println!(
        "{} of {} checks passed in {:.1} s",
        report.passed,
        report.checks.len(),
        report.seconds
    );
    if let Some(path) = &args.json {
        crate::util::fs::write_atomic(path, serde_json::to_string_pretty(&report)?.as_bytes())?;
        println!("wrote {}", path.display());
    }
    anyhow::ensure!(
        report.failed == 0,
        "selftest: {} of {} checks failed (see the FAIL lines above)",
        report.failed,
        report.checks.len()
    );
    Ok(())
}
