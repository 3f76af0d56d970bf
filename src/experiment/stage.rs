//! Stage lines ("[2/4] pre-train …") and the output-folder guard shared by demo and
//! experiment.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::comparison::{ExperimentPlan, slug};
use super::conditions::{PRETRAINED_TEXT, TextInitPlan};

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

/// Refuse another `--init-text`/`--text-layers` while `out` holds runs of the old one
/// (`was`), naming them.
fn guard_text_runs(out: &Path, was: &TextInitPlan) -> Result<()> {
    let suffix = slug(PRETRAINED_TEXT);
    let mut runs = Vec::new();
    let seeds = out.join("runs");
    if seeds.is_dir() {
        for seed in
            std::fs::read_dir(&seeds).with_context(|| format!("cannot read {}", seeds.display()))?
        {
            let seed = seed?.path();
            if !seed.is_dir() {
                continue;
            }
            for run in std::fs::read_dir(&seed)
                .with_context(|| format!("cannot read {}", seed.display()))?
            {
                let run = run?.path();
                if run
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().ends_with(&suffix))
                {
                    runs.push(run);
                }
            }
        }
    }
    if let Some(first) = runs.first() {
        bail!(
            "--out {} holds {} pretrained-text runs of --init-text {} --text-layers {} (e.g. {}): \
             remove them to train with another text encoder there, or use another --out",
            out.display(),
            runs.len(),
            was.dir.display(),
            was.layers,
            first.display()
        );
    }
    Ok(())
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

/// --out must be empty or hold this plan, up to the seed count and an added `--init-text`
/// (then the experiment continues), or another text encoder once its runs are removed.
pub fn guard_experiment_out(out: &Path, plan: &ExperimentPlan) -> Result<()> {
    let path = out.join("plan.json");
    if path.is_file() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let old: ExperimentPlan = serde_json::from_str(&text)
            .with_context(|| format!("{} is not an experiment plan", path.display()))?;
        // More (or fewer) seeds only add (or leave out) runs: the finished ones stay valid.
        // The pretrained-text conditions only add runs too; another text model (or depth)
        // only once its runs are gone, so that no table mixes two.
        let text_init = match (&old.text_init, &plan.text_init) {
            (None, _) => plan.text_init.clone(),
            (Some(was), Some(now)) if was != now => {
                guard_text_runs(out, was)?;
                plan.text_init.clone()
            }
            (kept, _) => kept.clone(),
        };
        let same = ExperimentPlan {
            seeds: plan.seeds,
            accumulate: plan.accumulate,
            text_init,
            ..old
        } == *plan;
        if !same {
            bail!(
                "--out {} holds an experiment with other settings ({}): use another --out, or \
                 the same flags to continue it",
                out.display(),
                path.display()
            );
        }
        return crate::util::fs::write_atomic(
            &path,
            serde_json::to_string_pretty(plan)?.as_bytes(),
        );
    }
    if non_empty(out)? {
        bail!(
            "--out {} is not empty and holds no experiment (plan.json): choose another --out",
            out.display()
        );
    }
    create_dir(out)?;
    crate::util::fs::write_atomic(&path, serde_json::to_string_pretty(plan)?.as_bytes())
}
