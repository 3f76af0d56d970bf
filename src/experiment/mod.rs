//! The end-to-end jobs a newcomer runs: `locomotion demo` (generate → pre-train → evaluate →
//! report, in minutes) and `locomotion experiment` (the paper's central comparison in
//! miniature: spatial vs motion vs paraphrased captions, then low-data fine-tuning, over
//! seeds, on the motion benchmark).

pub mod comparison;
pub mod comparison_report;
pub mod dataset;
pub mod demo;
pub mod figures;
pub mod stage;

pub use comparison::{ExperimentOptions, ExperimentPlan, run_experiment};
pub use demo::{DemoOptions, DemoPlan, run_demo};
