//! Stage lines ("[2/4] pre-train …") and the output-folder guard shared by demo and
//! experiment.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

/// Prints numbered stage lines to stderr (unless quiet) and times the whole job.
#[derive(Debug)]
pub struct Stages {
    total: usize,
    done: usize,
    quiet: bool,
    start: Instant,
}

impl Stages {
    /// A job of `total` stages; `quiet` prints nothing.
    pub fn new(total: usize, quiet: bool) -> Self {
        Self {
            total,
            done: 0,
            quiet,
            start: Instant::now(),
        }
    }

    /// Announce the next stage.
    pub fn next(&mut self, what: &str) {
        self.done += 1;
        if !self.quiet {
            eprintln!(
                "[{}/{}] {what} ({:.0} s so far)",
                self.done,
                self.total,
                self.start.elapsed().as_secs_f64()
            );
        }
    }

    /// Seconds since the job started.
    pub fn elapsed_s(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }
}

/// True when `dir` exists and holds anything.
pub fn non_empty(dir: &Path) -> Result<bool> {
    if !dir.exists() {
        return Ok(false);
    }
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read --out {}", dir.display()))?;
    // The run's own lock file is not content.
    Ok(entries
        .filter_map(|e| e.ok())
        .any(|e| e.file_name() != crate::util::run_lock::LOCK_FILE))
}

/// Create `dir` (and its parents), naming it on failure.
pub fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}
