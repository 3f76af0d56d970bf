//! A checkpoint's config against its own weights: every config field that a tensor's shape
//! pins down is compared with that shape before anything is sized from the config, so an
//! edited `config.json` is refused by field name instead of building a model the weights do
//! not fit. Only the tensors the file holds are compared (the full parameter list is checked
//! when the model is built from them).

use anyhow::{Result, bail};

use super::checkpoint::ShapeMap;
use super::config::ModelConfig;
use super::heads::Heads;
use super::params::ParamShape;
use super::text::TextEncoder;
use super::video::VideoEncoder;
use crate::nn::{Builder, Shapes};

/// A field whose value one axis of one tensor gives.
struct Pin {
    field: &'static str,
    value: usize,
    tensor: String,
    axis: usize,
}

/// The pins of `m`, the tensors named by the modules `m` builds (names and shapes only).
fn pins(m: &ModelConfig) -> Result<Vec<Pin>> {
    let (v, t) = (&m.video, &m.text);
    let [gt, gh, gw] = v.grid();
    let video = VideoEncoder::build(&Builder::new(Shapes), v)?;
    let text = TextEncoder::build(&Builder::new(Shapes), t)?;
    let heads = Heads::build(&Builder::new(Shapes), m)?;
    // A tensor of the first layer pins its field only when there is a layer.
    let pin = |field, value, tensor: Option<&ParamShape>, axis| {
        tensor.map(|t| Pin {
            field,
            value,
            tensor: t.0.clone(),
            axis,
        })
    };
    let video_up = video.layers.first().map(|l| &l.up.w);
    let text_up = text.layers.first().map(|l| &l.up.w);
    let pins = [
        pin("video.hidden_size", v.hidden_size, Some(&video.cls), 0),
        pin(
            "video.channels × video.tubelet",
            v.tubelet_dim(),
            Some(&video.patch.w),
            0,
        ),
        pin(
            "video.frames / video.tubelet[0]",
            gt,
            Some(&video.pos_time.table),
            0,
        ),
        pin(
            "video.height × video.width / tubelet",
            gh * gw,
            Some(&video.pos_space.table),
            0,
        ),
        pin(
            "video.hidden_size × video.mlp_ratio",
            v.hidden_size * v.mlp_ratio,
            video_up,
            1,
        ),
        pin("text.vocab_size", t.vocab_size, Some(&text.word.table), 0),
        pin("text.hidden_size", t.hidden_size, Some(&text.word.table), 1),
        pin(
            "text.max_position_embeddings",
            t.max_position_embeddings,
            Some(&text.position.table),
            0,
        ),
        pin(
            "text.type_vocab_size",
            t.type_vocab_size,
            Some(&text.token_type.table),
            0,
        ),
        pin("text.intermediate_size", t.intermediate_size, text_up, 1),
        pin(
            "heads.embed_dim",
            m.heads.embed_dim,
            Some(&heads.video_proj.w),
            1,
        ),
    ];
    Ok(pins.into_iter().flatten().collect())
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
    for p in pins(m)? {
        let Some(shape) = shapes.get(&p.tensor) else {
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
    // Weights with a video encoder hold its norm over the embeddings exactly when the
    // config asks for one.
    let ln_pre = shapes.keys().any(|n| n.starts_with("video.ln_pre."));
    if shapes.contains_key("video.cls") && ln_pre != m.video.pre_norm {
        let held = if ln_pre { "hold" } else { "have no" };
        bail!(
            "video.pre_norm is {}, but the weights {held} video.ln_pre",
            m.video.pre_norm
        );
    }
    Ok(())
}
