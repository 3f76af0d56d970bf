//! Where an interrupted [`Checkpoint::save`] left its checkpoint: the hidden `.name.tmp-*`
//! and `.name.old-*` siblings beside the folder, and which complete one is the newest. The
//! resume (which moves it back) and every reader (which loads it in place) ask here.

use std::path::{Path, PathBuf};

use super::checkpoint::{Checkpoint, WEIGHTS_FILE, parent_of};

/// What lies where a checkpoint should be: an interrupted save's hidden siblings, and the
/// newest complete checkpoint (highest step; `dir` itself on a tie) among them and `dir`.
pub(super) struct Found {
    pub(super) leftovers: Vec<PathBuf>,
    best: Option<PathBuf>,
}

impl Found {
    pub(super) fn look(dir: &Path) -> Self {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "checkpoint".into());
        let (tmp, old) = (format!(".{name}.tmp-"), format!(".{name}.old-"));
        let mut leftovers: Vec<PathBuf> = match std::fs::read_dir(parent_of(dir)) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    let f = p.file_name().unwrap_or_default().to_string_lossy();
                    f.starts_with(&tmp) || f.starts_with(&old)
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        leftovers.sort();
        // The config is written last, after the synced weights: a folder whose config
        // reads is a whole checkpoint.
        let step_of = |p: &Path| {
            p.join(WEIGHTS_FILE)
                .is_file()
                .then(|| Checkpoint::read_config(p).ok())
                .flatten()
                .map(|c| c.state.step)
        };
        let mut best = step_of(dir).map(|s| (s, dir.to_path_buf()));
        for p in &leftovers {
            if let Some(s) = step_of(p)
                && best.as_ref().is_none_or(|(b, _)| s > *b)
            {
                best = Some((s, p.clone()));
            }
        }
        Self {
            leftovers,
            best: best.map(|(_, p)| p),
        }
    }

    pub(super) fn newest(&self) -> Option<&PathBuf> {
        self.best.as_ref()
    }
}
