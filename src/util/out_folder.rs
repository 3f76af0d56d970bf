//! An output folder one run owns: locked against a concurrent run, refused when it already
//! holds files unless forced, written through a staging folder inside it and moved into
//! place only when the run succeeds. A failed run leaves nothing of its own behind; a
//! forced run leaves nothing of the old one.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

pub use super::run_lock::LOCK_FILE;
use super::run_lock::RunLock;
/// The staging folder a run writes into before its outputs are moved into place.
pub const STAGE_DIR: &str = ".partial";

/// A locked output folder with its staging area.
pub struct OutFolder {
    root: PathBuf,
    stage: PathBuf,
    /// Held for the run's life; dropping it releases the lock.
    lock: Option<RunLock>,
    /// The run created `root`, so a failed run removes it.
    created: bool,
    committed: bool,
}

impl OutFolder {
    /// Lock `root` (creating it) for a run writing the entries named `owned`. `flag` names
    /// the option in messages. A folder holding anything but `owned` entries is refused;
    /// one holding `owned` entries is refused unless `force`, which replaces them on commit.
    pub fn open(root: &Path, flag: &str, owned: &[&str], force: bool) -> Result<Self> {
        let created = !root.exists();
        let mut me = Self {
            root: root.to_path_buf(),
            stage: root.join(STAGE_DIR),
            lock: None,
            created,
            committed: false,
        };
        // Refused: the other run's lock file and folder stay.
        me.lock = Some(RunLock::acquire(root, flag)?);
        // A stage left by a killed run is ours to clear now that we hold the lock.
        if me.stage.exists() {
            fs::remove_dir_all(&me.stage)
                .with_context(|| format!("cannot clear {}", me.stage.display()))?;
        }
        let mut old = Vec::new();
        for e in
            fs::read_dir(root).with_context(|| format!("cannot read {flag} {}", root.display()))?
        {
            let name = e?.file_name().to_string_lossy().into_owned();
            if name == LOCK_FILE || name == STAGE_DIR {
                continue;
            }
            if !owned.contains(&name.as_str()) {
                bail!(
                    "{flag} {} holds '{name}', which this command does not write: choose an empty {flag} (nothing is removed, even with --force)",
                    root.display()
                );
            }
            old.push(name);
        }
        if !old.is_empty() && !force {
            bail!(
                "{flag} {} already holds a dataset ({}): choose another {flag} or add --force to replace it",
                root.display(),
                old.join(", ")
            );
        }
        fs::create_dir(&me.stage)
            .with_context(|| format!("cannot create {}", me.stage.display()))?;
        Ok(me)
    }

    /// The folder outputs are written into; [`OutFolder::commit`] moves them to the root.
    pub fn stage(&self) -> &Path {
        &self.stage
    }

    /// The run succeeded: remove the old `owned` entries, move every staged entry into place.
    pub fn commit(mut self, owned: &[&str]) -> Result<()> {
        for name in owned {
            let p = self.root.join(name);
            if p.is_dir() {
                fs::remove_dir_all(&p).with_context(|| format!("cannot remove {}", p.display()))?;
            } else if p.exists() {
                fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
            }
        }
        for e in fs::read_dir(&self.stage)? {
            let e = e?;
            let to = self.root.join(e.file_name());
            fs::rename(e.path(), &to)
                .with_context(|| format!("cannot move {} into place", to.display()))?;
        }
        fs::remove_dir(&self.stage)
            .with_context(|| format!("cannot remove {}", self.stage.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for OutFolder {
    fn drop(&mut self) {
        let Some(lock) = self.lock.take() else {
            return;
        };
        if !self.committed {
            let _ = fs::remove_dir_all(&self.stage);
        }
        drop(lock);
        if self.created && !self.committed {
            let _ = fs::remove_dir(&self.root);
        }
    }
}
