//! Checkpoints: a directory holding `model.safetensors` (every tensor as f32, optimizer moments
//! as `adam.m.<name>` / `adam.v.<name>`) and `config.json` (model config + training state).
//! A checkpoint is written into a hidden temporary directory and renamed into place, so an
//! interrupted run never leaves a half-written one.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use safetensors::{Dtype, tensor::TensorView};
use serde::{Deserialize, Serialize};

use super::config::ModelConfig;
use super::leftovers::Found;
use super::params::ParamShape;
pub use super::safetensors_read::{
    ShapeMap, read_safetensors, read_safetensors_checked, read_safetensors_where,
};
use crate::train::schedule::LrSchedule;

mod abort;
pub use abort::{SaveStep, abort_save_after};
use abort::{is_abort, save_step};

/// The weights file inside a checkpoint directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The config file inside a checkpoint directory.
pub const CONFIG_FILE: &str = "config.json";
/// Bumped when the layout changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

/// A tensor on the host: shape and row-major f32 data.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Row-major values; `data.len()` is the product of `shape`.
    pub data: Vec<f32>,
}

impl HostTensor {
    /// A tensor from a shape and matching data.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Self {
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "shape/data mismatch"
        );
        Self { shape, data }
    }
}

/// Tensors by name (sorted, so files are byte-identical for identical contents).
pub type TensorMap = BTreeMap<String, HostTensor>;

/// Where training stands: enough to continue with the same schedule and data order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingState {
    /// Training steps done.
    pub step: u64,
    /// AdamW steps done (its bias correction uses this).
    pub optimizer_step: u64,
    /// The run's seed (data, masks and initialisation all derive from it).
    pub seed: u64,
    /// Samples consumed so far: the position in the seeded data stream.
    pub data_position: u64,
    /// The learning-rate schedule.
    pub schedule: LrSchedule,
    /// Anything else a trainer needs to resume (RNG words, caption mixture…).
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl TrainingState {
    /// Check the stored run settings against the limits the flags that set them have; the
    /// error names the field.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("state.schedule.base_lr", self.schedule.base_lr),
            ("state.schedule.final_lr", self.schedule.final_lr),
        ] {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                bail!("{field} must be a number from 0 to 1, got {v}");
            }
        }
        if self.optimizer_step > self.step {
            bail!(
                "state.optimizer_step ({}) is above state.step ({}): a run takes one optimizer step per step",
                self.optimizer_step,
                self.step
            );
        }
        Ok(())
    }
}

/// The contents of `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointConfig {
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// The model's configuration.
    pub model: ModelConfig,
    /// The training state.
    pub state: TrainingState,
}

/// A checkpoint in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// Model config and training state.
    pub config: CheckpointConfig,
    /// Parameters and optimizer moments.
    pub tensors: TensorMap,
}

/// Prefix of the non-parameter tensors a model stores in its checkpoint (training
/// statistics such as `stats.vtc.video_mean`): no optimizer touches them.
pub const STATS_PREFIX: &str = "stats.";

/// The name of AdamW's first moment of parameter `name`.
pub fn adam_m_name(name: &str) -> String {
    format!("adam.m.{name}")
}

/// The name of AdamW's second moment of parameter `name`.
pub fn adam_v_name(name: &str) -> String {
    format!("adam.v.{name}")
}

impl Checkpoint {
    /// Write to directory `dir`, replacing any checkpoint already there. Every instant of
    /// the save leaves a loadable checkpoint: the new one is written and synced beside the
    /// old, the old is moved aside, the new moved into place; [`Checkpoint::recover`] puts
    /// back whichever is newest if the process dies between those renames.
    pub fn save(&self, dir: &Path) -> Result<()> {
        for (name, t) in &self.tensors {
            if t.shape.iter().product::<usize>() != t.data.len() {
                bail!(
                    "tensor {name}: shape {:?} does not match its {} values",
                    t.shape,
                    t.data.len()
                );
            }
        }
        let tmp = crate::data::temp_sibling(dir);
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp)
            .with_context(|| format!("cannot create checkpoint directory {}", tmp.display()))?;
        save_step(SaveStep::Created)?;
        let written = self.write_files(&tmp);
        if let Err(e) = written {
            if !is_abort(&e) {
                let _ = std::fs::remove_dir_all(&tmp);
            }
            return Err(e).with_context(|| format!("cannot write checkpoint {}", dir.display()));
        }
        // The old checkpoint is moved aside, not deleted, until the new one is in place.
        let old = old_sibling(dir);
        let parent = parent_of(dir);
        if dir.exists() {
            let _ = std::fs::remove_dir_all(&old);
            std::fs::rename(dir, &old)
                .with_context(|| format!("cannot replace checkpoint {}", dir.display()))?;
            sync_dir(&parent);
            save_step(SaveStep::OldMoved)?;
        }
        std::fs::rename(&tmp, dir)
            .with_context(|| format!("cannot move checkpoint into {}", dir.display()))?;
        sync_dir(&parent);
        save_step(SaveStep::NewMoved)?;
        let _ = std::fs::remove_dir_all(&old);
        sync_dir(&parent);
        Ok(())
    }

    fn write_files(&self, dir: &Path) -> Result<()> {
        let views: Vec<(&str, TensorView<'_>)> = self
            .tensors
            .iter()
            .map(|(n, t)| {
                let view =
                    TensorView::new(Dtype::F32, t.shape.clone(), bytemuck::cast_slice(&t.data))
                        .map_err(|e| anyhow!("tensor {n}: {e}"))?;
                Ok((n.as_str(), view))
            })
            .collect::<Result<_>>()?;
        let meta = HashMap::from([("producer".to_string(), "locomotion".to_string())]);
        let bytes = safetensors::serialize(views, Some(meta)).map_err(|e| anyhow!("{e}"))?;
        write_synced(&dir.join(WEIGHTS_FILE), &bytes)?;
        save_step(SaveStep::WeightsWritten)?;
        // The config goes last: a folder with a config is a folder whose weights are whole.
        let json = serde_json::to_string_pretty(&self.config)?;
        write_synced(&dir.join(CONFIG_FILE), json.as_bytes())?;
        sync_dir(dir);
        save_step(SaveStep::ConfigWritten)?;
        Ok(())
    }

    /// Put back the checkpoint an interrupted [`Checkpoint::save`] may have left beside
    /// `dir` (its hidden `.name.tmp-*` and `.name.old-*` siblings): the newest complete one
    /// (highest step, as [`Checkpoint::locate`] finds it) ends up at `dir` and the leftovers
    /// are removed. Returns whether `dir` now holds a checkpoint.
    pub fn recover(dir: &Path) -> Result<bool> {
        let found = Found::look(dir);
        if found.leftovers.is_empty() {
            return Ok(dir.join(CONFIG_FILE).is_file());
        }
        if let Some(path) = found.newest().filter(|p| p.as_path() != dir) {
            if dir.exists() {
                std::fs::remove_dir_all(dir).with_context(|| {
                    format!("cannot clear the broken checkpoint {}", dir.display())
                })?;
            }
            std::fs::rename(path, dir).with_context(|| {
                format!(
                    "cannot move the saved checkpoint {} back to {}",
                    path.display(),
                    dir.display()
                )
            })?;
        }
        if dir.join(CONFIG_FILE).is_file() {
            for p in found.leftovers.iter().filter(|p| p.exists()) {
                let _ = std::fs::remove_dir_all(p);
            }
            sync_dir(&parent_of(dir));
            return Ok(true);
        }
        Ok(false)
    }

    /// Where the newest complete checkpoint meant for `dir` is, without moving anything:
    /// `dir` itself, or the `.name.tmp-*` / `.name.old-*` sibling an interrupted save left
    /// (the one [`Checkpoint::recover`] would put back). Every reader goes through here, so
    /// a read-only command loads what a resume would. When there is none, the error says
    /// what was found.
    pub fn locate(dir: &Path) -> Result<PathBuf> {
        let found = Found::look(dir);
        if let Some(p) = found.newest() {
            return Ok(p.clone());
        }
        if dir.is_dir() {
            // Broken, not missing: loading it says what is wrong.
            return Ok(dir.to_path_buf());
        }
        if found.leftovers.is_empty() {
            bail!(
                "checkpoint {} not found (expected a directory with {CONFIG_FILE} and {WEIGHTS_FILE})",
                dir.display()
            );
        }
        let names: Vec<String> = found
            .leftovers
            .iter()
            .map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        bail!(
            "no complete checkpoint at {}: only the unfinished save {} beside it (no {CONFIG_FILE}, or one that does not load); nothing can repair it: train again without --resume",
            dir.display(),
            names.join(", ")
        )
    }

    /// [`Checkpoint::load`] of the newest complete checkpoint [`Checkpoint::locate`] finds.
    pub fn load_newest(dir: &Path) -> Result<Self> {
        Self::load(&Self::locate(dir)?)
    }

    /// Read and validate a checkpoint's `config.json` alone: its format version, the model
    /// config against the stated limits and the training state. The error names the file.
    pub fn read_config(dir: &Path) -> Result<CheckpointConfig> {
        let cfg_path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&cfg_path)
            .with_context(|| format!("cannot read {}", cfg_path.display()))?;
        let config: CheckpointConfig = serde_json::from_str(&text).map_err(|e| {
            anyhow!(
                "{} is not a valid checkpoint config: {e}",
                cfg_path.display()
            )
        })?;
        if config.format_version != FORMAT_VERSION {
            bail!(
                "{}: format_version {} is not supported (this build reads {FORMAT_VERSION})",
                cfg_path.display(),
                config.format_version
            );
        }
        config
            .model
            .validate()
            .and_then(|_| config.state.validate())
            .with_context(|| format!("{}", cfg_path.display()))?;
        Ok(config)
    }

    /// Read a checkpoint directory; errors name the file and, for tensors, the tensor. The
    /// config is checked against the stated limits and against the weights file's own
    /// shapes before any tensor is converted.
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            bail!(
                "checkpoint {} not found (expected a directory)",
                dir.display()
            );
        }
        let config = Self::read_config(dir)?;
        let file = dir.join(WEIGHTS_FILE);
        let cfg_path = dir.join(CONFIG_FILE);
        let tensors = read_safetensors_checked(
            &file,
            false,
            |_| true,
            |shapes| {
                super::pinned::check(&config.model, shapes).with_context(|| {
                    format!(
                        "{} does not describe {}",
                        cfg_path.display(),
                        file.display()
                    )
                })
            },
        )?;
        for (name, t) in &tensors {
            if let Some(i) = t.data.iter().position(|v| !v.is_finite()) {
                bail!(
                    "{}: tensor {name} holds a non-finite value ({}) at element {i}: the run that saved it diverged or the file is damaged",
                    file.display(),
                    t.data[i]
                );
            }
        }
        Ok(Self { config, tensors })
    }

    /// Load a checkpoint for a model with parameters `expected`: each must be present with its
    /// shape, AdamW moments (if saved) must match their parameter, and nothing else may be
    /// there (a checkpoint of another model). Errors name the weights file and the tensor.
    pub fn load_for(dir: &Path, expected: &[ParamShape]) -> Result<Self> {
        let ckpt = Self::load(dir)?;
        let file = dir.join(WEIGHTS_FILE);
        ckpt.validate_for(expected, false)
            .with_context(|| file.display().to_string())?;
        Ok(ckpt)
    }

    /// Check every tensor against a model with parameters `expected`: each parameter present
    /// with its shape, AdamW moments (required with `moments`, as a resume needs them) with
    /// their parameter's shape, and [`STATS_PREFIX`] statistics; nothing else. The error names
    /// the tensor.
    pub fn validate_for(&self, expected: &[ParamShape], moments: bool) -> Result<()> {
        self.check_shapes(expected)?;
        if moments {
            self.check_moments(expected)?;
        }
        let shapes: HashMap<&str, &[usize]> = expected
            .iter()
            .map(|(n, s)| (n.as_str(), s.as_slice()))
            .collect();
        for (name, t) in &self.tensors {
            // Statistics the model stores beside its parameters are checked by their owner
            // (e.g. `LocoModel::from_weights` checks the VTC means).
            if name.starts_with(STATS_PREFIX) {
                continue;
            }
            let param = name
                .strip_prefix("adam.m.")
                .or_else(|| name.strip_prefix("adam.v."))
                .unwrap_or(name);
            match shapes.get(param) {
                None => bail!("unexpected tensor {name} (is this a checkpoint of another model?)"),
                Some(&s) if t.shape != s => {
                    bail!("{name} has shape {:?}, its parameter has {s:?}", t.shape)
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Check that every expected parameter is present with its shape.
    pub fn check_shapes(&self, expected: &[ParamShape]) -> Result<()> {
        for (name, shape) in expected {
            self.get(name, shape)?;
        }
        Ok(())
    }

    /// Check that every parameter of `expected` has its AdamW moments, with its shape (a
    /// resume needs them; a frozen parameter has none).
    pub fn check_moments(&self, expected: &[ParamShape]) -> Result<()> {
        for (name, shape) in expected {
            for m in [adam_m_name(name), adam_v_name(name)] {
                if !self.tensors.contains_key(&m) {
                    bail!(
                        "checkpoint has no optimizer moment {m}: it cannot be resumed (fine-tune from it instead)"
                    );
                }
                self.get(&m, shape)?;
            }
        }
        Ok(())
    }

    /// The tensor `name`, which must have `shape`.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<&HostTensor> {
        tensor_of(&self.tensors, "checkpoint", name, shape)
    }
}

/// The tensor `name` of `tensors`, which must have `shape`; an error names it and `what`
/// holds it (a checkpoint, a module's weights).
pub fn tensor_of<'a>(
    tensors: &'a TensorMap,
    what: &str,
    name: &str,
    shape: &[usize],
) -> Result<&'a HostTensor> {
    let t = tensors
        .get(name)
        .ok_or_else(|| anyhow!("{what} has no tensor {name}"))?;
    if t.shape != shape {
        bail!(
            "{what} tensor {name} has shape {:?}, the model expects {shape:?}",
            t.shape
        );
    }
    Ok(t)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Persist renames and new entries; not every platform can open a folder, so best effort.
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

pub(super) fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn old_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "checkpoint".into());
    path.with_file_name(format!(".{name}.old-{}", std::process::id()))
}
