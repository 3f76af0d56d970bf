//! Training support: the learning-rate schedule, retrieval metrics and the GPU optimizer.

pub mod data;
pub mod metrics;
pub mod optim;
pub mod schedule;
