//! `--init-video DIR`: a Hugging Face ViT or CLIP vision folder becomes the run's video
//! encoder (see [`crate::model::hf_vit`]): its shape replaces the preset's video section (the
//! preset keeps the frames and the tubelet depth), its weights the random ones.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::model::checkpoint::TensorMap;
use crate::model::config::{ModelConfig, VideoEncoderConfig};
use crate::model::hf_vit::{HfVision, Inflate};
use crate::motion::composite::{IMAGENET_MEAN, IMAGENET_STD};

/// `--init-video DIR` with its options.
#[derive(Debug, Clone, PartialEq)]
pub struct InitVideo {
    /// The Hugging Face folder.
    pub dir: PathBuf,
    /// `--init-video-inflate`: how the patch kernel spreads over a tubelet's frames.
    pub inflate: Inflate,
    /// `--init-video-size N`: train on N × N frames (the checkpoint's image size when
    /// `None`); the position table is resized bicubically.
    pub size: Option<usize>,
}

impl InitVideo {
    /// DIR with the defaults: central inflation, the checkpoint's image size.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            inflate: Inflate::Central,
            size: None,
        }
    }
}

/// What an import gives the run.
pub struct ImportedVideo {
    /// The video encoder's config.
    pub config: VideoEncoderConfig,
    /// Its `video.*` weights.
    pub weights: TensorMap,
    /// The checkpoint's tensors that were not used.
    pub ignored: Vec<String>,
    /// Whether `preprocessor_config.json`'s pixel statistics were folded into the patch
    /// embedding.
    pub folded_pixel_stats: bool,
}

/// Import `init.dir` and make `model`'s video section its shape (`model` keeps its frames
/// and tubelet depth); the whole model config is validated.
pub fn load_init_video(init: &InitVideo, model: &mut ModelConfig) -> Result<ImportedVideo> {
    let what = || format!("--init-video {}", init.dir.display());
    let mut hf = HfVision::load(&init.dir).with_context(what)?;
    // The engine's pixels are ImageNet-normalised; the checkpoint's own statistics (if its
    // folder states them) go into the patch embedding.
    let folded = hf
        .fold_pixel_stats((IMAGENET_MEAN, IMAGENET_STD))
        .with_context(what)?;
    let size = init.size.unwrap_or(hf.config.image_size);
    let config = hf
        .video_config(model.video.frames, model.video.tubelet[0], size)
        .with_context(what)?;
    let weights = hf.video_weights(&config, init.inflate).with_context(what)?;
    model.video = config.clone();
    model.validate().with_context(|| {
        format!(
            "{}: the model config with the imported video encoder",
            what()
        )
    })?;
    Ok(ImportedVideo {
        config,
        weights,
        ignored: hf.ignored,
        folded_pixel_stats: folded,
    })
}

impl ImportedVideo {
    /// The line a run prints: what was imported from `init`, folded and ignored.
    pub fn summary(&self, init: &InitVideo) -> String {
        format!(
            "--init-video {}: {} tensors imported{}; ignored: {}",
            init.dir.display(),
            self.weights.len(),
            if self.folded_pixel_stats {
                " (preprocessor_config.json's pixel statistics folded into the patch embedding)"
            } else {
                ""
            },
            ignored_summary(&self.ignored)
        )
    }
}

/// One line naming the ignored tensors, grouped by their first two name parts.
pub fn ignored_summary(ignored: &[String]) -> String {
    let mut groups: Vec<(String, usize)> = Vec::new();
    for name in ignored {
        let key: String = name.splitn(3, '.').take(2).collect::<Vec<_>>().join(".");
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => groups.push((key, 1)),
        }
    }
    let parts: Vec<String> = groups
        .iter()
        .map(|(k, n)| {
            if *n == 1 {
                k.clone()
            } else {
                format!("{k}.* ({n})")
            }
        })
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}
