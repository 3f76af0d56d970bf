//! Training support: the data pipeline (online synthetic batches, generate folders, held-out
//! sets), the learning-rate schedule, the metrics log and the GPU optimizer; evaluation
//! lives in [`crate::eval`].

pub mod accumulate;
pub mod config;
pub mod data;
pub mod flat;
pub mod init_text;
pub mod init_video;
pub mod memory;
pub mod metrics_log;
pub mod motion_options;
pub mod optim;
pub mod recipe;
pub mod resume;
pub mod schedule;
pub mod setup;
pub mod state;
pub mod trainer;
