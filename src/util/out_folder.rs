//! An output folder one run owns: locked against a concurrent run, refused when it already
//! holds files unless forced, written through a staging folder inside it and moved into
//! place only when the run succeeds. A failed run leaves nothing of its own behind; a
//! forced run leaves nothing of the old one.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The lock file: held (an OS file lock) while a run writes the folder.
pub const LOCK_FILE: &str = ".locomotion.lock";
/// The staging folder a run writes into before its outputs are moved into place.
pub const STAGE_DIR: &str = ".partial";

/// A locked output folder with its staging area.
pub struct OutFolder {
    root: PathBuf,
    stage: PathBuf,
    /// Held for the run's life; dropping it releases the lock.
    lock: Option<File>,
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
        fs::create_dir_all(root)
            .with_context(|| format!("cannot create {flag} {}", root.display()))?;
        let mut me = Self {
            root: root.to_path_buf(),
            stage: root.join(STAGE_DIR),
            lock: None,
            created,
            committed: false,
        };
        let lock_path = root.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("cannot create the lock file {}", lock_path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                // Not ours: the other run's lock file and folder stay.
                me.created = false;
                bail!(
                    "{flag} {} is being written by another run (it holds {LOCK_FILE}): wait for it to finish or choose another {flag}",
                    root.display()
                );
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", lock_path.display()));
            }
        }
        me.lock = Some(file);
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
        if self.lock.is_none() {
            return;
        }
        if !self.committed {
            let _ = fs::remove_dir_all(&self.stage);
        }
        // Unlinked while still locked: a run that opened it meanwhile still sees it locked.
        let _ = fs::remove_file(self.root.join(LOCK_FILE));
        if self.created && !self.committed {
            let _ = fs::remove_dir(&self.root);
        }
    }
}
