//! Out-of-memory and over-limit errors of a training run, rewritten as one line that names
//! the model, the batch and what to lower.

use crate::gpu::GpuError;
use crate::model::config::{ModelConfig, PRESETS};
use crate::tensor::TensorError;

/// True when `err` (or anything it wraps) is a GPU memory error: out of memory, or a buffer
/// or binding over the device's limit.
pub fn is_memory_error(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<GpuError>()
            .is_some_and(GpuError::is_memory)
            || matches!(c.downcast_ref::<TensorError>(), Some(TensorError::Gpu(g)) if g.is_memory())
    })
}

/// The preset `cfg` was built from (its video and text encoders match), else "a --config
/// model".
pub fn model_name(cfg: &ModelConfig) -> String {
    let same = |p: &ModelConfig| {
        p.video == cfg.video
            && p.text.hidden_size == cfg.text.hidden_size
            && p.text.num_hidden_layers == cfg.text.num_hidden_layers
            && p.cross == cfg.cross
    };
    PRESETS
        .iter()
        .find(|&&name| ModelConfig::preset(name).is_ok_and(|p| same(&p)))
        .map_or("a --config model".to_string(), |name| {
            format!("preset {name}")
        })
}

/// `err` unchanged, or, for a memory error, one line naming the model, the batch of `batch`
/// pairs, the adapter and what to lower.
pub fn explain(
    err: anyhow::Error,
    cfg: &ModelConfig,
    batch: usize,
    adapter: &str,
) -> anyhow::Error {
    if !is_memory_error(&err) {
        return err;
    }
    let name = model_name(cfg);
    let mut advice = Vec::new();
    // VTC contrasts pairs: a batch of 2 is the smallest there is.
    if batch > 2 {
        advice.push(format!("lower --batch (try {})", (batch / 2).max(2)));
    }
    match PRESETS.iter().position(|p| format!("preset {p}") == name) {
        Some(i) if i > 0 => advice.push(format!("choose a smaller --preset ({})", PRESETS[i - 1])),
        _ if advice.is_empty() => {
            advice.push("use a smaller model (--config) or an adapter with more memory".into())
        }
        _ => {}
    }
    anyhow::anyhow!(
        "{name} at --batch {batch} does not fit the memory of adapter '{adapter}' ({err:#}): {}",
        advice.join(" or ")
    )
}
