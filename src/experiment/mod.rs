//! The end-to-end jobs a newcomer runs: `locomotion demo` (generate → pre-train → evaluate →
//! report, in minutes) and `locomotion experiment` (the paper's central comparison in
//! miniature: spatial vs motion vs paraphrased captions, then low-data fine-tuning, over
//! seeds, on the motion benchmark).

pub mod comparison;
pub mod comparison_report;
pub mod conditions;
pub mod dataset;
pub mod demo;
pub mod figures;
pub mod stage;

pub use comparison::{ExperimentOptions, ExperimentPlan};
pub use demo::{DemoOptions, DemoPlan, run_demo};

/// Run (or continue) the experiment and write its report (results.json, charts,
/// report.html, report.md); returns every run's result.
pub fn run_experiment(
    gpu: &crate::gpu::Gpu,
    plan: &ExperimentPlan,
    opts: &ExperimentOptions,
) -> anyhow::Result<Vec<comparison::RunResult>> {
    // One run per --out: the lock covers every run and the report.
    let _lock = crate::util::run_lock::RunLock::acquire(&opts.out, "--out")?;
    let (results, mut stages) = comparison::run_all(gpu, plan, opts)?;
    stages.next(&format!("write the report → {}", opts.out.display()));
    comparison_report::write(&opts.out, plan, &gpu.summary.name, &results)?;
    Ok(results)
}
