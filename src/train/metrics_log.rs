//! The metrics JSONL log of a training run: one JSON object per line, and the cut a
//! resumed run makes so no step is logged twice.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;

/// A JSONL log: one JSON object per line, flushed after each so a crash loses nothing.
pub struct MetricsLog {
    path: PathBuf,
    out: BufWriter<File>,
}

impl MetricsLog {
    /// Create (truncating) or, with `append`, continue the log at `path` (resume uses append).
    pub fn open(path: &Path, append: bool) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(path)
            .with_context(|| format!("cannot open metrics log {}", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
        })
    }

    /// Append one record; it must serialise to a JSON object.
    pub fn write<T: Serialize>(&mut self, record: &T) -> Result<()> {
        let v = serde_json::to_value(record)?;
        if !v.is_object() {
            bail!("metrics records must be JSON objects");
        }
        let line = serde_json::to_string(&v)?;
        let ctx = || format!("cannot write metrics log {}", self.path.display());
        writeln!(self.out, "{line}").with_context(ctx)?;
        self.out.flush().with_context(ctx)
    }
}

/// Resume: keep only the records of `path` up to step `step` (the checkpoint's), so the
/// steps run again after it are not logged twice; a torn last line of a killed run goes too.
pub fn cut_after(path: &Path, step: u64) -> Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read metrics log {}", path.display()));
        }
    };
    let mut kept = String::new();
    for line in text.lines() {
        let v: Option<serde_json::Value> = serde_json::from_str(line).ok();
        let s = v
            .as_ref()
            .and_then(|v| v.get("step"))
            .and_then(|s| s.as_u64());
        if s.is_some_and(|s| s <= step) {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    if kept.len() != text.len() {
        crate::util::fs::write_atomic(path, kept.as_bytes())?;
    }
    Ok(())
}
