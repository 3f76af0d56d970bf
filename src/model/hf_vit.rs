//! Import of Hugging Face vision transformers as the video encoder (`--init-video DIR`):
//! `ViTModel` / `ViTForImageClassification` folders (DeiT in ViT layout too) and the vision
//! tower of `CLIPModel` / `CLIPVisionModel` folders (`config.json` + `model.safetensors`).
//! The encoder's shape comes from the checkpoint; its names map onto the engine's `video.*`
//! (see [`crate::model::params`]); linear weights go from `[out, in]` to `[in, out]`.
//!
//! | ViT (optionally `vit.`)                           | CLIP (optionally `vision_model.`)     | engine                    |
//! |---------------------------------------------------|---------------------------------------|---------------------------|
//! | `embeddings.patch_embeddings.projection.*`        | `embeddings.patch_embedding.weight`   | `video.patch.*` (inflated)|
//! | `embeddings.cls_token` + position row 0           | `embeddings.class_embedding` + row 0  | `video.cls`               |
//! | `embeddings.position_embeddings` rows 1..         | `embeddings.position_embedding.weight`| `video.pos.space`         |
//! | —                                                 | `pre_layrnorm`                        | `video.ln_pre`            |
//! | `encoder.layer.N.layernorm_before`                | `encoder.layers.N.layer_norm1`        | `video.layers.N.ln1`      |
//! | `….attention.attention.{query,key,value}`         | `….self_attn.{q,k,v}_proj`            | `….attn.{q,k,v}`          |
//! | `….attention.output.dense`                        | `….self_attn.out_proj`                | `….attn.out`              |
//! | `encoder.layer.N.layernorm_after`                 | `encoder.layers.N.layer_norm2`        | `video.layers.N.ln2`      |
//! | `….intermediate.dense` / `….output.dense`         | `….mlp.fc1` / `….mlp.fc2`             | `….mlp.up` / `….mlp.down` |
//! | `layernorm`                                       | `post_layernorm`                      | `video.ln_final`          |
//!
//! The engine's [CLS] carries no position, so the checkpoint's position row 0 is added to it
//! (the embedding is the same). `video.pos.time` starts at zero. CLIP's `post_layernorm`
//! normalises every token in the engine (Hugging Face applies it to the pooled [CLS] only):
//! the [CLS] output is CLIP's pooled output, and the cross encoder sees normalised tokens.
//! Ignored, and listed: ViT's pooler and classifier, CLIP's visual projection (the VTC heads
//! project into a space shared with the engine's text encoder), its text tower,
//! `text_projection`, `logit_scale` and buffers such as `position_ids`.
//! A folder's `preprocessor_config.json` pixel statistics can be folded into the patch
//! embedding (`pixels`), so the engine's ImageNet-normalised input embeds as the
//! checkpoint's own normalisation did.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};

mod pixels;
pub use pixels::{PixelStats, read_pixel_stats};

use super::checkpoint::{HostTensor, TensorMap};
use super::config::VideoEncoderConfig;
use super::hf_bert::{check_imported, transpose};
use super::hf_vit_config::{Family, HfVisionConfig};
use super::pos_resize::resize_bicubic;
use super::safetensors_read::read_safetensors_checked;
use super::video::VideoEncoder;

/// How the 2-D patch embedding becomes the tubelet embedding (`--init-video-inflate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Inflate {
    /// ViViT's central-frame initialisation: frame ⌊t/2⌋ of each tubelet gets the image
    /// kernel, the others zero.
    #[default]
    Central,
    /// The image kernel divided by t on every frame (I3D's inflation).
    Average,
}

impl Inflate {
    /// `central` or `average`; another value is an error naming the flag.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "central" => Ok(Self::Central),
            "average" => Ok(Self::Average),
            _ => bail!("--init-video-inflate {s:?}: choose central or average"),
        }
    }
}

/// Where a checkpoint tensor goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Role {
    /// The 2-D patch kernel `[H, C, p, p]` or its bias.
    PatchWeight,
    PatchBias,
    /// The class token (`[H]` or `[1, 1, H]`).
    Cls,
    /// The position table (`[1 + N, H]` or `[1, 1 + N, H]`).
    Positions,
    /// An engine parameter as it is, or a linear weight transposed.
    Param {
        name: String,
        transpose: bool,
    },
}

/// The engine role of `name` (its model prefix stripped) in a checkpoint of `family`;
/// `Ok(None)` for tensors deliberately ignored, an error for tensors not understood.
fn role(family: Family, name: &str) -> Result<Option<Role>, ()> {
    use Role::*;
    let ln = |pre: &str, p: &str| match p {
        "weight" => Ok(Some(Param {
            name: format!("{pre}.gamma"),
            transpose: false,
        })),
        "bias" => Ok(Some(Param {
            name: format!("{pre}.beta"),
            transpose: false,
        })),
        _ => Err(()),
    };
    let linear = |pre: &str, p: &str| match p {
        "weight" | "bias" => Ok(Some(Param {
            name: format!("{pre}.{p}"),
            transpose: p == "weight",
        })),
        _ => Err(()),
    };
    let (module, p) = name.rsplit_once('.').unwrap_or((name, ""));
    let layer = |prefix: &str| -> Option<(usize, &str)> {
        let (n, rest) = module.strip_prefix(prefix)?.split_once('.')?;
        Some((n.parse().ok()?, rest))
    };
    match family {
        Family::Vit => match name {
            "embeddings.cls_token" => Ok(Some(Cls)),
            "embeddings.position_embeddings" => Ok(Some(Positions)),
            "embeddings.patch_embeddings.projection.weight" => Ok(Some(PatchWeight)),
            "embeddings.patch_embeddings.projection.bias" => Ok(Some(PatchBias)),
            "embeddings.mask_token" => Ok(None),
            _ if module == "layernorm" => ln("video.ln_final", p),
            _ if module.starts_with("pooler.") || module.starts_with("classifier") => Ok(None),
            _ => {
                let (n, part) = layer("encoder.layer.").ok_or(())?;
                let pre = format!("video.layers.{n}");
                match part {
                    "layernorm_before" => ln(&format!("{pre}.ln1"), p),
                    "layernorm_after" => ln(&format!("{pre}.ln2"), p),
                    "attention.attention.query" => linear(&format!("{pre}.attn.q"), p),
                    "attention.attention.key" => linear(&format!("{pre}.attn.k"), p),
                    "attention.attention.value" => linear(&format!("{pre}.attn.v"), p),
                    "attention.output.dense" => linear(&format!("{pre}.attn.out"), p),
                    "intermediate.dense" => linear(&format!("{pre}.mlp.up"), p),
                    "output.dense" => linear(&format!("{pre}.mlp.down"), p),
                    _ => Err(()),
                }
            }
        },
        Family::Clip => match name {
            "embeddings.class_embedding" => Ok(Some(Cls)),
            "embeddings.position_embedding.weight" => Ok(Some(Positions)),
            "embeddings.patch_embedding.weight" => Ok(Some(PatchWeight)),
            "embeddings.position_ids"
            | "visual_projection.weight"
            | "text_projection.weight"
            | "logit_scale" => Ok(None),
            _ if name.starts_with("text_model.") => Ok(None),
            _ if module == "pre_layrnorm" => ln("video.ln_pre", p),
            _ if module == "post_layernorm" => ln("video.ln_final", p),
            _ => {
                let (n, part) = layer("encoder.layers.").ok_or(())?;
                let pre = format!("video.layers.{n}");
                match part {
                    "layer_norm1" => ln(&format!("{pre}.ln1"), p),
                    "layer_norm2" => ln(&format!("{pre}.ln2"), p),
                    "self_attn.q_proj" => linear(&format!("{pre}.attn.q"), p),
                    "self_attn.k_proj" => linear(&format!("{pre}.attn.k"), p),
                    "self_attn.v_proj" => linear(&format!("{pre}.attn.v"), p),
                    "self_attn.out_proj" => linear(&format!("{pre}.attn.out"), p),
                    "mlp.fc1" => linear(&format!("{pre}.mlp.up"), p),
                    "mlp.fc2" => linear(&format!("{pre}.mlp.down"), p),
                    _ => Err(()),
                }
            }
        },
    }
}

/// A Hugging Face ViT or CLIP vision tower, read and sorted by role.
#[derive(Debug, Clone)]
pub struct HfVision {
    /// The vision config from `config.json`.
    pub config: HfVisionConfig,
    /// Checkpoint tensors that are not used (pooler, classifier, projection, text tower).
    pub ignored: Vec<String>,
    /// The input normalisation of `preprocessor_config.json`, if the folder has one.
    pub pixel_stats: Option<PixelStats>,
    patch: HostTensor,
    patch_bias: Option<HostTensor>,
    cls: HostTensor,
    positions: HostTensor,
    /// Engine-named parameters (layers, norms), already in engine layout.
    params: TensorMap,
    file: String,
}

impl HfVision {
    /// Read `dir/config.json` and `dir/model.safetensors`; every tensor is used or ignored
    /// by name, and a tensor the import does not know is an error naming it.
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            bail!("Hugging Face model folder {} not found", dir.display());
        }
        let config = HfVisionConfig::read(&dir.join("config.json"))?;
        let path = dir.join("model.safetensors");
        if !path.is_file() {
            bail!(
                "{} not found (only safetensors weights are read; convert pytorch_model.bin first)",
                path.display()
            );
        }
        let file = path.display().to_string();
        let strip = |n: &str| -> String {
            let prefix = match config.family {
                Family::Vit => ["vit.", "deit."].iter().find(|p| n.starts_with(**p)),
                Family::Clip => ["vision_model."].iter().find(|p| n.starts_with(**p)),
            };
            prefix.map_or(n, |p| &n[p.len()..]).to_string()
        };
        let used = |n: &str| matches!(role(config.family, &strip(n)), Ok(Some(_)));
        let mut ignored = Vec::new();
        let mut unknown = Vec::new();
        // The header's names sort every tensor before any is converted (ignored ones never are).
        let raw = read_safetensors_checked(&path, true, used, |shapes| {
            for name in shapes.keys() {
                match role(config.family, &strip(name)) {
                    Ok(Some(_)) => {}
                    Ok(None) => ignored.push(name.clone()),
                    Err(()) => unknown.push(name.clone()),
                }
            }
            Ok(())
        })?;
        if let Some(n) = unknown.first() {
            bail!(
                "{file}: tensor {n} is not part of a {} vision model the import knows ({} such tensors)",
                config.family.name(),
                unknown.len()
            );
        }
        let (mut patch, mut patch_bias, mut cls, mut positions) = (None, None, None, None);
        let mut params = TensorMap::new();
        for (name, t) in raw {
            match role(config.family, &strip(&name)).ok().flatten() {
                Some(Role::PatchWeight) => patch = Some(t),
                Some(Role::PatchBias) => patch_bias = Some(t),
                Some(Role::Cls) => cls = Some(t),
                Some(Role::Positions) => positions = Some(t),
                Some(Role::Param {
                    name: engine,
                    transpose: tr,
                }) => {
                    let t = if tr { transpose(&name, t)? } else { t };
                    if params.insert(engine.clone(), t).is_some() {
                        bail!("{file}: two tensors map to {engine}");
                    }
                }
                None => {}
            }
        }
        let need = |t: Option<HostTensor>, what: &str| {
            t.ok_or_else(|| anyhow!("{file}: no {what} tensor"))
        };
        let names = config.family.names();
        Ok(Self {
            patch: need(patch, names[0])?,
            patch_bias,
            cls: need(cls, names[1])?,
            positions: need(positions, names[2])?,
            config,
            ignored,
            pixel_stats: read_pixel_stats(dir)?,
            params,
            file,
        })
    }

    /// The video encoder this checkpoint becomes: its width, depth, heads, MLP, patch, eps,
    /// activation and norms; `frames` and the tubelet depth from the preset; frames of
    /// `size`² pixels (positions resized when it is not the checkpoint's image size). Frame
    /// differences are off: the image model was trained on frames.
    pub fn video_config(
        &self,
        frames: usize,
        depth: usize,
        size: usize,
    ) -> Result<VideoEncoderConfig> {
        let c = &self.config;
        let cfg = VideoEncoderConfig {
            frames,
            height: size,
            width: size,
            channels: c.num_channels,
            tubelet: [depth, c.patch_size, c.patch_size],
            hidden_size: c.hidden_size,
            num_layers: c.num_hidden_layers,
            num_heads: c.num_attention_heads,
            mlp_ratio: c.mlp_ratio()?,
            layer_norm_eps: c.layer_norm_eps,
            frame_differences: false,
            hidden_act: c.hidden_act,
            pre_norm: c.family == Family::Clip,
        };
        cfg.validate()
            .with_context(|| format!("the video encoder of {}", self.file))?;
        Ok(cfg)
    }

    /// Every `video.*` parameter of `cfg` (from [`HfVision::video_config`]): the imported
    /// ones, the patch kernel inflated over the tubelet's frames, the positions resized to
    /// `cfg`'s grid, zero time positions. A missing or misshapen tensor is an error naming it.
    pub fn video_weights(&self, cfg: &VideoEncoderConfig, inflate: Inflate) -> Result<TensorMap> {
        let file = &self.file;
        let (hv, ch, p) = (cfg.hidden_size, cfg.channels, cfg.tubelet[1]);
        let [gt, gh, gw] = cfg.grid();
        let names = self.config.family.names();
        let shaped = |t: &HostTensor, what: &str, want: &[usize]| -> Result<()> {
            if t.shape.iter().product::<usize>() != want.iter().product::<usize>()
                || t.shape
                    .iter()
                    .filter(|&&d| d != 1)
                    .ne(want.iter().filter(|&&d| d != 1))
            {
                bail!(
                    "{file}: {what} has shape {:?}, config.json implies {want:?}",
                    t.shape
                );
            }
            Ok(())
        };
        let mut out = self.params.clone();
        if !self.config.qkv_bias {
            // ViT with qkv_bias = false: the engine's projections keep a bias, at zero.
            for n in 0..cfg.num_layers {
                for q in ["q", "k", "v"] {
                    let name = format!("video.layers.{n}.attn.{q}.bias");
                    out.entry(name)
                        .or_insert_with(|| HostTensor::new(vec![hv], vec![0.0; hv]));
                }
            }
        }
        shaped(&self.patch, names[0], &[hv, ch, p, p])?;
        out.insert(
            "video.patch.weight".into(),
            inflate_patch(&self.patch, cfg, inflate),
        );
        let bias = match &self.patch_bias {
            Some(b) => {
                shaped(b, names[3], &[hv])?;
                b.data.clone()
            }
            None if self.config.family == Family::Vit => bail!("{file}: no {} tensor", names[3]),
            None => vec![0.0; hv],
        };
        out.insert("video.patch.bias".into(), HostTensor::new(vec![hv], bias));
        let g = self.config.image_size / p;
        shaped(&self.positions, names[2], &[1 + g * g, hv])?;
        shaped(&self.cls, names[1], &[hv])?;
        let pos = &self.positions.data;
        let cls = self.cls.data.iter().zip(pos).map(|(c, q)| c + q).collect();
        out.insert("video.cls".into(), HostTensor::new(vec![hv], cls));
        let space = resize_bicubic(&pos[hv..], (g, g), (gh, gw), hv);
        out.insert(
            "video.pos.space".into(),
            HostTensor::new(vec![gh * gw, hv], space),
        );
        out.insert(
            "video.pos.time".into(),
            HostTensor::new(vec![gt, hv], vec![0.0; gt * hv]),
        );
        let wanted = VideoEncoder::shapes(cfg);
        check_imported(file, &wanted, &out)?;
        let extra = out.keys().find(|k| !wanted.iter().any(|(n, _)| n == *k));
        if let Some(k) = extra {
            bail!("{file}: {k} is beyond what config.json describes (num_hidden_layers?)");
        }
        Ok(out)
    }
}

/// The tubelet kernel `[C·t·p·p, H]` (values ordered channel, frame, row, column) from the
/// image kernel `[H, C, p, p]`.
fn inflate_patch(img: &HostTensor, cfg: &VideoEncoderConfig, inflate: Inflate) -> HostTensor {
    let (hv, ch, [tt, p, _]) = (cfg.hidden_size, cfg.channels, cfg.tubelet);
    let weight = |f: usize| match inflate {
        Inflate::Central => f32::from(u8::from(f == tt / 2)),
        Inflate::Average => 1.0 / tt as f32,
    };
    let d = ch * tt * p * p;
    let mut data = vec![0.0f32; d * hv];
    for c in 0..ch {
        for f in 0..tt {
            for yx in 0..p * p {
                let row = (c * tt + f) * p * p + yx;
                for h in 0..hv {
                    data[row * hv + h] = weight(f) * img.data[(h * ch + c) * p * p + yx];
                }
            }
        }
    }
    HostTensor::new(vec![d, hv], data)
}
