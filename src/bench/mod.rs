//! The benchmark suites: each module times one GPU component, against its baseline or CPU
//! reference in the same run, so ratios stay meaningful on any machine.

pub mod attention;
pub mod composite;
