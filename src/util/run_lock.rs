//! One run per output folder: an OS file lock on a lock file inside it, holding the
//! holder's process id so that a refused run can name it. The kernel releases the lock when
//! its process dies, so a lock file left by a killed run never blocks the next one.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The lock file inside a locked folder.
pub const LOCK_FILE: &str = ".locomotion.lock";

/// A held lock on a folder; dropping it removes the lock file and releases the lock.
pub struct RunLock {
    path: PathBuf,
    file: Option<File>,
    /// The lock created the folder: it goes too if the run left it empty.
    created: bool,
}

impl RunLock {
    /// Lock `folder` (creating it) for this process; `flag` names the option in messages.
    /// Another live run holding it is refused, naming the folder and its process id.
    pub fn acquire(folder: &Path, flag: &str) -> Result<Self> {
        let created = !folder.exists();
        fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {flag} {}", folder.display()))?;
        let path = folder.join(LOCK_FILE);
        // A holder unlinks the file before it lets go: a lock won on an unlinked file is
        // no lock, so try again on the file the name now gives.
        for _ in 0..16 {
            let mut file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&path)
                .with_context(|| format!("cannot create the lock file {}", path.display()))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let mut pid = String::new();
                    let _ = file.read_to_string(&mut pid);
                    let holder = match pid.trim() {
                        "" => "another process".to_string(),
                        p => format!("process {p}"),
                    };
                    bail!(
                        "{flag} {} is being written by another run ({holder} holds {LOCK_FILE}): wait for it to finish or choose another {flag}",
                        folder.display()
                    );
                }
                Err(TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("cannot lock {}", path.display()));
                }
            }
            if !same_file(&file, &path) {
                continue;
            }
            file.set_len(0)
                .and_then(|_| file.seek(SeekFrom::Start(0)))
                .and_then(|_| write!(file, "{}", std::process::id()))
                .and_then(|_| file.flush())
                .with_context(|| format!("cannot write {}", path.display()))?;
            return Ok(Self {
                path,
                file: Some(file),
                created,
            });
        }
        bail!(
            "cannot lock {}: its lock file keeps being replaced",
            path.display()
        )
    }
}

/// True when `path` still names the open `file` (not replaced or removed meanwhile).
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.is_file()
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Unlinked while still locked, then released (see `acquire`).
        let _ = fs::remove_file(&self.path);
        drop(self.file.take());
        if self.created
            && let Some(folder) = self.path.parent()
        {
            // Only an empty folder is removed: a run that wrote something keeps it.
            let _ = fs::remove_dir(folder);
        }
    }
}
