//! Small helpers shared by every stage (file output, limits on user files, ...).

pub mod fs;
pub mod limits;
pub mod out_folder;
pub mod progress;
pub mod run_lock;
