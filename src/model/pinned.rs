//! A checkpoint's config against its own weights: every config field that a tensor's shape
//! pins down is compared with that shape before anything is sized from the config, so an
//! edited `config.json` is refused by field name instead of building a model the weights do
//! not fit. Only the tensors the file holds are compared (the full parameter list is checked
//! when the model is built from them).

use anyhow::{Result, bail};

use super::checkpoint::ShapeMap;
use super::config::ModelConfig;

/// A field whose value one axis of one tensor gives.
struct Pin {
    field: &'static str,
    value: usize,
    tensor: &'static str,
    axis: usize,
}

fn pins(m: &ModelConfig) -> Vec<Pin> {
    let (v, t) = (&m.video, &m.text);
    let [gt, gh, gw] = v.grid();
    let pin = |field, value, tensor, axis| Pin {
        field,
        value,
        tensor,
        axis,
    };
    vec![
        pin("video.hidden_size", v.hidden_size, "video.cls", 0),
        pin(
            "video.channels × video.tubelet",
            v.tubelet_dim(),
            "video.patch.weight",
            0,
        ),
        pin("video.frames / video.tubelet[0]", gt, "video.pos.time", 0),
        pin(
            "video.height × video.width / tubelet",
            gh * gw,
            "video.pos.space",
            0,
        ),
        pin(
            "video.hidden_size × video.mlp_ratio",
            v.hidden_size * v.mlp_ratio,
            "video.layers.0.mlp.up.weight",
            1,
        ),
        pin("text.vocab_size", t.vocab_size, "text.embeddings.word", 0),
        pin("text.hidden_size", t.hidden_size, "text.embeddings.word", 1),
        pin(
            "text.max_position_embeddings",
            t.max_position_embeddings,
            "text.embeddings.position",
            0,
        ),
        pin(
            "text.type_vocab_size",
            t.type_vocab_size,
            "text.embeddings.token_type",
            0,
        ),
        pin(
            "text.intermediate_size",
            t.intermediate_size,
            "text.layers.0.ffn.up.weight",
            1,
        ),
        pin(
            "heads.embed_dim",
            m.heads.embed_dim,
            "heads.vtc.video_proj.weight",
            1,
        ),
    ]
}

/// Layers the tensors named `prefix.N.*` imply (highest N + 1), if there are any.
fn layers(shapes: &ShapeMap, prefix: &str) -> Option<usize> {
    shapes
        .keys()
        .filter_map(|n| {
            n.strip_prefix(prefix)?
                .split('.')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .max()
        .map(|n| n.saturating_add(1))
}

/// Refuse `m` when a field differs from what the weights' shapes say; the error names the
/// field, both values and the tensor.
pub(super) fn check(m: &ModelConfig, shapes: &ShapeMap) -> Result<()> {
    for p in pins(m) {
        let Some(shape) = shapes.get(p.tensor) else {
            continue;
        };
        match shape.get(p.axis) {
            Some(&got) if got == p.value => {}
            _ => bail!(
                "{} is {}, but the weights' {} has shape {shape:?}",
                p.field,
                p.value,
                p.tensor
            ),
        }
    }
    for (field, value, prefix) in [
        ("video.num_layers", m.video.num_layers, "video.layers."),
        (
            "text.num_hidden_layers",
            m.text.num_hidden_layers,
            "text.layers.",
        ),
        ("cross.num_layers", m.cross.num_layers, "cross.layers."),
    ] {
        if let Some(n) = layers(shapes, prefix)
            && n != value
        {
            bail!(
                "{field} is {value}, but the weights hold {n} ({prefix}0 to {prefix}{})",
                n - 1
            );
        }
    }
    Ok(())
}
