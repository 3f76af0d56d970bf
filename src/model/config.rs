//! The video-language model's configuration: video encoder, BERT text encoder, cross-modal
//! encoder, heads and loss weights, with the `tiny` / `small` / `base` presets. Saved as JSON;
//! every load is validated and an error names the offending field.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

use crate::nn::Activation;

/// The whole model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// The video encoder (a pre-LN ViT over tubelets).
    pub video: VideoEncoderConfig,
    /// The text encoder: exactly BERT, so Hugging Face BERT-family weights load into it.
    pub text: BertConfig,
    /// The cross-modal encoder (BERT layers with cross-attention to the video tokens).
    pub cross: CrossEncoderConfig,
    /// The VTC / VTM / MLM heads.
    pub heads: HeadsConfig,
    /// Weights of the three objectives in the total loss.
    #[serde(default)]
    pub loss_weights: LossWeights,
}

/// The video encoder: tubelet embedding, learned space and time positions, a [CLS] token and
/// a pre-LN transformer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoEncoderConfig {
    /// Frames per clip T.
    pub frames: usize,
    /// Frame height H in pixels.
    pub height: usize,
    /// Frame width W in pixels.
    pub width: usize,
    /// Colour channels (3 for RGB).
    #[serde(default = "three")]
    pub channels: usize,
    /// Tubelet size (frames, height, width); must divide (T, H, W).
    pub tubelet: [usize; 3],
    /// Hidden size.
    pub hidden_size: usize,
    /// Transformer layers.
    pub num_layers: usize,
    /// Attention heads; must divide `hidden_size`.
    pub num_heads: usize,
    /// MLP hidden size as a multiple of `hidden_size`.
    #[serde(default = "four")]
    pub mlp_ratio: usize,
    /// Layer-norm epsilon.
    #[serde(default = "ln_eps_vit")]
    pub layer_norm_eps: f64,
    /// Every frame after the first enters as its difference from the previous frame (TSN's
    /// "RGB difference" motion input; the first frame keeps the appearance, and the map is
    /// invertible, so nothing is lost). Measured with `locomotion probe motion`: see
    /// BENCHMARKS.md, "Learning motion". Off in configs that do not name it.
    #[serde(default)]
    pub frame_differences: bool,
    /// The MLP activation, as Hugging Face's `hidden_act`: "gelu" (erf; ViT) by default, or
    /// "quick_gelu" (CLIP).
    #[serde(default)]
    pub hidden_act: Activation,
    /// A layer norm `video.ln_pre` over the embeddings, [CLS] included (CLIP's
    /// `pre_layrnorm`). Off in configs that do not name it.
    #[serde(default)]
    pub pre_norm: bool,
}

/// BERT's hyper-parameters under Hugging Face's field names, so a `config.json` of a BERT
/// model reads straight into it (unknown fields such as dropout are ignored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    /// Word-piece vocabulary size.
    pub vocab_size: usize,
    /// Hidden size.
    pub hidden_size: usize,
    /// Transformer layers.
    pub num_hidden_layers: usize,
    /// Attention heads; must divide `hidden_size`.
    pub num_attention_heads: usize,
    /// Feed-forward hidden size.
    pub intermediate_size: usize,
    /// Learned absolute positions (the longest text).
    pub max_position_embeddings: usize,
    /// Segment (token type) vocabulary.
    #[serde(default = "two")]
    pub type_vocab_size: usize,
    /// Layer-norm epsilon.
    #[serde(default = "ln_eps_bert")]
    pub layer_norm_eps: f64,
    /// The activation; only "gelu" (the erf form) is BERT's.
    #[serde(default = "gelu")]
    pub hidden_act: String,
}

/// The cross-modal encoder: BERT layers over the text states that also attend to the video
/// tokens (ALBEF / BLIP / VindLU); its width is the text encoder's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrossEncoderConfig {
    /// Layers.
    pub num_layers: usize,
    /// Cross-attention in every n-th layer (1 = every layer, BLIP's `cross_attention_freq`).
    #[serde(default = "one")]
    pub cross_attention_freq: usize,
}

/// The heads on top of the encoders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadsConfig {
    /// VTC projection size (both modalities project to it, then L2-normalise).
    pub embed_dim: usize,
    /// Initial InfoNCE temperature (learnable; ALBEF starts at 0.07).
    #[serde(default = "temp")]
    pub temperature: f64,
    /// Hard negatives per pair for VTM, sampled from the VTC similarities.
    #[serde(default = "one")]
    pub vtm_hard_negatives: usize,
    /// Centre each modality's VTC projections on the batch mean before L2-normalising
    /// (retrieval centres on the evaluated set's mean). From scratch, the [CLS] of a small
    /// object on a busy background barely moves at first, and without centring VTC
    /// collapses to one embedding per modality (loss ln B, no gradient) before it finds the
    /// objects; centring makes every embedding a difference from the batch, so it cannot.
    /// Off in configs that do not name it (checkpoints from before it existed).
    #[serde(default)]
    pub center: bool,
}

/// Weights of the objectives in the total loss (LocoMotion / VindLU use 1 / 1 / 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossWeights {
    /// Video-text contrastive (InfoNCE, both directions).
    pub vtc: f64,
    /// Video-text matching (2-way classification).
    pub vtm: f64,
    /// Masked language modelling on the cross encoder.
    pub mlm: f64,
}

impl Default for LossWeights {
    fn default() -> Self {
        Self {
            vtc: 1.0,
            vtm: 1.0,
            mlm: 1.0,
        }
    }
}

fn one() -> usize {
    1
}
fn two() -> usize {
    2
}
fn three() -> usize {
    3
}
fn four() -> usize {
    4
}
fn ln_eps_vit() -> f64 {
    1e-6
}
fn ln_eps_bert() -> f64 {
    1e-12
}
fn gelu() -> String {
    "gelu".into()
}
fn temp() -> f64 {
    0.07
}

pub use super::limits;

/// The preset names, smallest first.
pub const PRESETS: [&str; 3] = ["tiny", "small", "base"];

impl ModelConfig {
    /// A named preset: `tiny` (tests, lavapipe), `small`, `base` (GPUs).
    pub fn preset(name: &str) -> Result<Self> {
        let (video, text, cross, embed_dim) = match name {
            // 8 frames of 32², tubelets 2×8×8: 64 video tokens + [CLS].
            // Frames after the first enter as differences (measured: the motion probe's
            // direction accuracy rises from chance to ~3× chance; BENCHMARKS.md).
            "tiny" => (
                VideoEncoderConfig {
                    frame_differences: true,
                    ..VideoEncoderConfig::new(8, 32, [2, 8, 8], 64, 2, 2)
                },
                BertConfig::new(1024, 64, 2, 2, 256, 32),
                1,
                32,
            ),
            // The text encoder is all-MiniLM-L6-v2's shape, so `--init-text` can load it.
            // Frame differences as in `tiny` (the recipe; no measurement on a GPU yet).
            "small" => (
                VideoEncoderConfig {
                    frame_differences: true,
                    ..VideoEncoderConfig::new(16, 112, [2, 16, 16], 384, 6, 6)
                },
                BertConfig::new(30522, 384, 6, 12, 1536, 512),
                2,
                256,
            ),
            // BERT-base text and ViT-B video, VindLU's 3 cross layers.
            "base" => (
                VideoEncoderConfig {
                    frame_differences: true,
                    ..VideoEncoderConfig::new(16, 224, [2, 16, 16], 768, 12, 12)
                },
                BertConfig::new(30522, 768, 12, 12, 3072, 512),
                3,
                256,
            ),
            _ => bail!(
                "unknown model preset {name:?} (choose one of {})",
                PRESETS.join(", ")
            ),
        };
        Ok(Self {
            video,
            text,
            cross: CrossEncoderConfig {
                num_layers: cross,
                cross_attention_freq: 1,
            },
            heads: HeadsConfig {
                embed_dim,
                temperature: temp(),
                vtm_hard_negatives: 1,
                center: true,
            },
            loss_weights: LossWeights::default(),
        })
    }

    /// Read and validate a JSON config file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read model config {}", path.display()))?;
        Self::from_json(&text).with_context(|| format!("model config {}", path.display()))
    }

    /// Parse and validate JSON.
    pub fn from_json(text: &str) -> Result<Self> {
        let cfg: Self = serde_json::from_str(text).map_err(|e| anyhow!("{e}"))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Save as pretty JSON (atomically).
    pub fn save(&self, path: &Path) -> Result<()> {
        self.validate()?;
        let json = serde_json::to_string_pretty(self)?;
        crate::data::write_atomically(path, json.as_bytes())
    }

    /// Check every constraint the kernels rely on; the error names the field.
    pub fn validate(&self) -> Result<()> {
        self.video.validate()?;
        self.text.validate("text")?;
        within(
            "cross.num_layers",
            self.cross.num_layers,
            limits::MAX_LAYERS,
        )?;
        within(
            "cross.cross_attention_freq",
            self.cross.cross_attention_freq,
            limits::MAX_LAYERS,
        )?;
        within("heads.embed_dim", self.heads.embed_dim, limits::MAX_HIDDEN)?;
        within(
            "heads.vtm_hard_negatives",
            self.heads.vtm_hard_negatives,
            limits::MAX_HARD_NEGATIVES,
        )?;
        let t = self.heads.temperature;
        if !(t.is_finite() && t > 0.0 && t <= 1.0) {
            bail!("heads.temperature must be in (0, 1], got {t}");
        }
        for (name, w) in [
            ("loss_weights.vtc", self.loss_weights.vtc),
            ("loss_weights.vtm", self.loss_weights.vtm),
            ("loss_weights.mlm", self.loss_weights.mlm),
        ] {
            if !(w.is_finite() && w >= 0.0) {
                bail!("{name} must be a finite non-negative number, got {w}");
            }
        }
        // Every size is bounded above, so the count cannot overflow; it bounds the total.
        let n = self.parameter_count() as u64;
        if n > limits::MAX_PARAMETERS {
            bail!(
                "the model has {n} parameters, over the limit of {}: lower a width or a layer count",
                limits::MAX_PARAMETERS
            );
        }
        Ok(())
    }
}

impl VideoEncoderConfig {
    fn new(
        frames: usize,
        size: usize,
        tubelet: [usize; 3],
        hidden: usize,
        layers: usize,
        heads: usize,
    ) -> Self {
        Self {
            frames,
            height: size,
            width: size,
            channels: 3,
            tubelet,
            hidden_size: hidden,
            num_layers: layers,
            num_heads: heads,
            mlp_ratio: 4,
            layer_norm_eps: ln_eps_vit(),
            frame_differences: false,
            hidden_act: Activation::Gelu,
            pre_norm: false,
        }
    }

    /// Tubelets along (time, height, width).
    pub fn grid(&self) -> [usize; 3] {
        [
            self.frames / self.tubelet[0],
            self.height / self.tubelet[1],
            self.width / self.tubelet[2],
        ]
    }

    /// Values in one flattened tubelet (the patch-embedding input width).
    pub fn tubelet_dim(&self) -> usize {
        self.channels * self.tubelet.iter().product::<usize>()
    }

    /// Check the encoder's sizes; the error names the field.
    pub fn validate(&self) -> Result<()> {
        for (name, v, max) in [
            ("video.frames", self.frames, limits::MAX_FRAMES),
            ("video.height", self.height, limits::MAX_SIDE),
            ("video.width", self.width, limits::MAX_SIDE),
            ("video.channels", self.channels, limits::MAX_CHANNELS),
            ("video.hidden_size", self.hidden_size, limits::MAX_HIDDEN),
            ("video.num_layers", self.num_layers, limits::MAX_LAYERS),
            ("video.num_heads", self.num_heads, limits::MAX_HEADS),
            (
                "video.mlp_ratio",
                self.mlp_ratio,
                limits::MAX_INTERMEDIATE / self.hidden_size.max(1),
            ),
        ] {
            within(name, v, max)?;
        }
        let dims = [
            ("frames", self.frames),
            ("height", self.height),
            ("width", self.width),
        ];
        for ((name, size), t) in dims.iter().zip(self.tubelet) {
            if t == 0 || !size.is_multiple_of(t) {
                bail!("video.tubelet ({t}) must divide video.{name} ({size})");
            }
        }
        divides(
            "video",
            "hidden_size",
            self.hidden_size,
            "num_heads",
            self.num_heads,
        )?;
        eps("video.layer_norm_eps", self.layer_norm_eps)
    }
}

impl BertConfig {
    /// A BERT config with the usual defaults (2 token types, eps 1e-12, erf GELU).
    pub fn new(
        vocab: usize,
        hidden: usize,
        layers: usize,
        heads: usize,
        intermediate: usize,
        max_positions: usize,
    ) -> Self {
        Self {
            vocab_size: vocab,
            hidden_size: hidden,
            num_hidden_layers: layers,
            num_attention_heads: heads,
            intermediate_size: intermediate,
            max_position_embeddings: max_positions,
            type_vocab_size: 2,
            layer_norm_eps: ln_eps_bert(),
            hidden_act: gelu(),
        }
    }

    /// Check the fields; `prefix` names where the config came from ("text", a file).
    pub fn validate(&self, prefix: &str) -> Result<()> {
        for (name, v, max) in [
            ("vocab_size", self.vocab_size, limits::MAX_VOCAB),
            ("hidden_size", self.hidden_size, limits::MAX_HIDDEN),
            (
                "num_hidden_layers",
                self.num_hidden_layers,
                limits::MAX_LAYERS,
            ),
            (
                "num_attention_heads",
                self.num_attention_heads,
                limits::MAX_HEADS,
            ),
            (
                "intermediate_size",
                self.intermediate_size,
                limits::MAX_INTERMEDIATE,
            ),
            (
                "max_position_embeddings",
                self.max_position_embeddings,
                limits::MAX_POSITIONS,
            ),
            (
                "type_vocab_size",
                self.type_vocab_size,
                limits::MAX_TOKEN_TYPES,
            ),
        ] {
            within(&format!("{prefix}.{name}"), v, max)?;
        }
        divides(
            prefix,
            "hidden_size",
            self.hidden_size,
            "num_attention_heads",
            self.num_attention_heads,
        )?;
        if self.hidden_act != "gelu" {
            bail!(
                "{prefix}.hidden_act is {:?}; only \"gelu\" (BERT's erf GELU) is supported",
                self.hidden_act
            );
        }
        eps(&format!("{prefix}.layer_norm_eps"), self.layer_norm_eps)
    }

    /// Size of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

fn positive(name: &str, v: usize) -> Result<()> {
    if v == 0 {
        bail!("{name} must be at least 1, got 0");
    }
    Ok(())
}

/// `v` must be 1 to `max` (a stated limit of [`limits`]).
fn within(name: &str, v: usize, max: usize) -> Result<()> {
    positive(name, v)?;
    if v > max {
        bail!("{name} is {v}, over the limit of {max}");
    }
    Ok(())
}

fn divides(prefix: &str, a: &str, av: usize, b: &str, bv: usize) -> Result<()> {
    if !av.is_multiple_of(bv) {
        bail!("{prefix}.{a} ({av}) must be divisible by {prefix}.{b} ({bv})");
    }
    Ok(())
}

fn eps(name: &str, v: f64) -> Result<()> {
    if !(v.is_finite() && v > 0.0 && v < 1.0) {
        bail!("{name} must be in (0, 1), got {v}");
    }
    Ok(())
}
