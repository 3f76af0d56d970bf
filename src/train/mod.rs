//! Training support: the data pipeline (online synthetic batches, generate folders, held-out
//! sets), the learning-rate schedule, retrieval metrics and the GPU optimizer.

pub mod accumulate;
pub mod annotated;
pub mod benchmark;
pub mod config;
pub mod data;
pub mod eval;
pub mod flat;
pub mod init_text;
pub mod init_video;
pub mod memory;
pub mod metrics;
pub mod motion_options;
pub mod optim;
pub mod probe;
pub mod recipe;
pub mod rerank;
pub mod resume;
pub mod schedule;
pub mod setup;
pub mod state;
pub mod trainer;
