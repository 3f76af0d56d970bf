//! Evaluation of trained models, apart from training: retrieval of a checkpoint (held-out
//! clips, a generate folder, annotated videos), the metrics with their chance levels, VTM
//! re-ranking, the motion benchmark and the supervised motion probe.

pub mod annotated;
pub mod metrics;
pub mod motion_benchmark;
pub mod probe;
pub mod rerank;
pub mod retrieval;
