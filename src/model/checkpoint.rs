//! Checkpoints: a directory holding `model.safetensors` (every tensor as f32, optimizer moments
//! as `adam.m.<name>` / `adam.v.<name>`) and `config.json` (model config + training state).
//! A checkpoint is written into a hidden temporary directory and renamed into place, so an
//! interrupted run never leaves a half-written one.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::{Deserialize, Serialize};

use super::config::ModelConfig;
use super::params::ParamShape;
use crate::train::schedule::LrSchedule;

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

/// The name of AdamW's first moment of parameter `name`.
pub fn adam_m_name(name: &str) -> String {
    format!("adam.m.{name}")
}

/// The name of AdamW's second moment of parameter `name`.
pub fn adam_v_name(name: &str) -> String {
    format!("adam.v.{name}")
}

impl Checkpoint {
    /// Write to directory `dir`, replacing any checkpoint already there.
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
        let written = self.write_files(&tmp);
        if written.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
            return written.with_context(|| format!("cannot write checkpoint {}", dir.display()));
        }
        // The old checkpoint is moved aside, not deleted, until the new one is in place.
        let old = old_sibling(dir);
        if dir.exists() {
            let _ = std::fs::remove_dir_all(&old);
            std::fs::rename(dir, &old)
                .with_context(|| format!("cannot replace checkpoint {}", dir.display()))?;
        }
        std::fs::rename(&tmp, dir)
            .with_context(|| format!("cannot move checkpoint into {}", dir.display()))?;
        let _ = std::fs::remove_dir_all(&old);
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
        std::fs::write(dir.join(WEIGHTS_FILE), bytes)?;
        let json = serde_json::to_string_pretty(&self.config)?;
        std::fs::write(dir.join(CONFIG_FILE), json)?;
        Ok(())
    }

    /// Read a checkpoint directory; errors name the file and, for tensors, the tensor.
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            bail!(
                "checkpoint {} not found (expected a directory)",
                dir.display()
            );
        }
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
            .with_context(|| format!("{}", cfg_path.display()))?;
        let tensors = read_safetensors(&dir.join(WEIGHTS_FILE), false)?;
        Ok(Self { config, tensors })
    }

    /// Load a checkpoint for a model with parameters `expected`: each must be present with its
    /// shape, AdamW moments (if saved) must match their parameter, and nothing else may be
    /// there (a checkpoint of another model). Errors name the weights file and the tensor.
    pub fn load_for(dir: &Path, expected: &[ParamShape]) -> Result<Self> {
        let ckpt = Self::load(dir)?;
        let file = dir.join(WEIGHTS_FILE);
        let ctx = || file.display().to_string();
        ckpt.check_shapes(expected).with_context(ctx)?;
        let shapes: HashMap<&str, &[usize]> = expected
            .iter()
            .map(|(n, s)| (n.as_str(), s.as_slice()))
            .collect();
        for (name, t) in &ckpt.tensors {
            let param = name
                .strip_prefix("adam.m.")
                .or_else(|| name.strip_prefix("adam.v."))
                .unwrap_or(name);
            match shapes.get(param) {
                None => bail!(
                    "{}: unexpected tensor {name} (is this a checkpoint of another model?)",
                    ctx()
                ),
                Some(&s) if t.shape != s => bail!(
                    "{}: {name} has shape {:?}, its parameter has {s:?}",
                    ctx(),
                    t.shape
                ),
                Some(_) => {}
            }
        }
        Ok(ckpt)
    }

    /// Check that every expected parameter is present with its shape.
    pub fn check_shapes(&self, expected: &[ParamShape]) -> Result<()> {
        for (name, shape) in expected {
            self.get(name, shape)?;
        }
        Ok(())
    }

    /// The tensor `name`, which must have `shape`.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<&HostTensor> {
        let t = self
            .tensors
            .get(name)
            .ok_or_else(|| anyhow!("checkpoint has no tensor {name}"))?;
        if t.shape != shape {
            bail!(
                "checkpoint tensor {name} has shape {:?}, the model expects {shape:?}",
                t.shape
            );
        }
        Ok(t)
    }
}

/// Read every tensor of a safetensors file as f32. With `convert`, f16, bf16 and f64 are
/// converted; without it, any dtype but f32 is an error naming the tensor.
pub fn read_safetensors(path: &Path, convert: bool) -> Result<TensorMap> {
    read_safetensors_where(path, convert, |_| true)
}

/// [`read_safetensors`] limited to the tensors whose name passes `keep` (the others are not
/// converted, so they may have any dtype).
pub fn read_safetensors_where(
    path: &Path,
    convert: bool,
    keep: impl Fn(&str) -> bool,
) -> Result<TensorMap> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| anyhow!("{} is not a valid safetensors file: {e}", path.display()))?;
    let mut out = TensorMap::new();
    for (name, view) in st.tensors() {
        if !keep(&name) {
            continue;
        }
        let data = to_f32(&view, convert)
            .map_err(|e| anyhow!("{}: tensor {name}: {e}", path.display()))?;
        out.insert(
            name,
            HostTensor {
                shape: view.shape().to_vec(),
                data,
            },
        );
    }
    Ok(out)
}

fn to_f32(view: &TensorView<'_>, convert: bool) -> Result<Vec<f32>> {
    let raw = view.data();
    let le2 = |c: &[u8]| u16::from_le_bytes([c[0], c[1]]);
    Ok(match view.dtype() {
        Dtype::F32 => raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 if convert => raw
            .chunks_exact(2)
            .map(|c| half::f16::from_bits(le2(c)).to_f32())
            .collect(),
        Dtype::BF16 if convert => raw
            .chunks_exact(2)
            .map(|c| half::bf16::from_bits(le2(c)).to_f32())
            .collect(),
        Dtype::F64 if convert => raw
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
            .collect(),
        other if convert => bail!("dtype {other:?} is not a floating-point type"),
        other => bail!("dtype is {other:?}, checkpoints hold f32 only"),
    })
}

fn old_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "checkpoint".into());
    path.with_file_name(format!(".{name}.old-{}", std::process::id()))
}
