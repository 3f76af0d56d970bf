//! Training support: the learning-rate schedule, retrieval metrics and the GPU optimizer.

pub mod data;
pub mod eval;
pub mod metrics;
pub mod optim;
pub mod schedule;
pub mod trainer;
