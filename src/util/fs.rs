//! Crash-safe file output: readers see either the old file or the whole new one.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};

/// Distinguishes temp files of concurrent writers in one process (threads share the pid).
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A cache folder named by environment variable `env` (`off` disables it), else
/// `$XDG_CACHE_HOME/locomotion/<sub>`, else `~/.cache/locomotion/<sub>`; `None` when
/// disabled or no home is known.
pub fn cache_folder(env: &str, sub: &str) -> Option<PathBuf> {
    match std::env::var_os(env) {
        Some(v) if v == "off" => None,
        Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
        _ => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
            .map(|c| c.join("locomotion").join(sub)),
    }
}

/// Write `bytes` to `path` atomically: a temp file in the same folder (so the rename never
/// crosses file systems), fsync, then rename over `path`. On error nothing is left behind and
/// the message names the path.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let path = path.as_ref();
    let Some(name) = path.file_name() else {
        bail!(
            "cannot write {}: the path does not name a file",
            path.display()
        );
    };
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !folder.is_dir() {
        bail!(
            "cannot write {}: folder {} does not exist",
            path.display(),
            folder.display()
        );
    }
    let temp = folder.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = write_then_rename(&temp, path, bytes);
    if result.is_err() {
        // Best effort: the temp file may not exist if creating it was what failed.
        let _ = fs::remove_file(&temp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))?;
    sync_folder(&folder);
    Ok(())
}

fn write_then_rename(temp: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(temp, path)
}

/// Persist the rename itself; folders cannot be opened for sync on every platform, so this
/// is best effort.
fn sync_folder(folder: &Path) {
    if let Ok(dir) = File::open(folder) {
        let _ = dir.sync_all();
    }
}
