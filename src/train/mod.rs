//! Training support that needs no GPU: the learning-rate schedule and retrieval metrics.

pub mod data;
pub mod metrics;
pub mod schedule;
