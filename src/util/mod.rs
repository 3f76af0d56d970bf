//! Small helpers shared by every stage (file output, ...).

pub mod fs;
pub mod progress;
