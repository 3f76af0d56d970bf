//! Data for the text side of the model: the tokenizer and MLM masking, plus the atomic file
//! writes every output file goes through.

pub mod annotations;
pub mod clips;
pub mod matrix_file;
pub mod mlm;
pub mod tokenizer;
pub mod wordpiece;

use std::path::{Path, PathBuf};

use anyhow::Result;

/// Write `bytes` to `path` atomically (see [`crate::util::fs::write_atomic`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::util::fs::write_atomic(path, bytes)
}

/// `dir/.name.tmp-<pid>`: hidden, beside the target (a rename stays on one file system).
pub fn temp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}
