//! The benchmark suite: each module times one GPU component against its CPU reference in
//! the same run, so ratios stay meaningful on any machine.

pub mod composite;
