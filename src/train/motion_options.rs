//! How the online source makes its clips, beyond the model's clip size: which backgrounds
//! (built-in procedural scenes, plain black, or the user's videos) and whether trajectories
//! may curve. These are the paper's open questions that `locomotion experiment` asks.

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::data::LibrarySplit;
use crate::model::config::ModelConfig;
use crate::motion::{BackgroundLibrary, GenConfig, ObjectLibrary};

/// Where the online clips' backgrounds come from.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum BackgroundChoice {
    /// The built-in procedural scenes (the training part of the split).
    #[default]
    Procedural,
    /// One plain black frame: motion with no scene at all.
    Black,
    /// The user's background videos (a GIF, a video, a frame folder or a folder of those).
    Path(PathBuf),
}

impl BackgroundChoice {
    /// Parse `--backgrounds black|procedural|DIR`.
    pub fn parse(flag: &str) -> Result<Self> {
        Ok(match flag {
            "procedural" | "builtin" => Self::Procedural,
            "black" => Self::Black,
            "" => anyhow::bail!("--backgrounds is empty: give black, procedural or a path"),
            path => {
                let p = PathBuf::from(path);
                anyhow::ensure!(
                    p.exists(),
                    "--backgrounds {path}: no such file or folder (black, procedural or a path)"
                );
                Self::Path(p)
            }
        })
    }

    /// A short name for reports.
    pub fn name(&self) -> String {
        match self {
            Self::Procedural => "procedural".into(),
            Self::Black => "black".into(),
            Self::Path(p) => p.display().to_string(),
        }
    }
}

/// The generation options of the online source (the model's config gives the clip size).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MotionOptions {
    /// The training backgrounds.
    pub backgrounds: BackgroundChoice,
    /// Arcs and circles besides straight segments.
    pub nonlinear: bool,
    /// The user's RGBA PNG objects to train on (`--objects-dir`) instead of the built-in
    /// training shapes; evaluation keeps the built-in held-out objects.
    pub objects: Option<PathBuf>,
}

impl MotionOptions {
    /// The clip shape of `model` with these options on.
    pub fn generation(&self, model: &ModelConfig) -> GenConfig {
        GenConfig {
            nonlinear: self.nonlinear,
            ..generation(model)
        }
    }

    /// The libraries to train on. Evaluation always uses the built-in held-out part, so a
    /// black or user background library is used whole for training.
    pub fn split(&self, g: &GenConfig) -> Result<LibrarySplit> {
        let mut split = LibrarySplit::builtin(g);
        if let Some(dir) = &self.objects {
            split.train_objects = ObjectLibrary::from_dir(dir)
                .with_context(|| format!("--objects-dir {}", dir.display()))?;
        }
        match &self.backgrounds {
            BackgroundChoice::Procedural => {}
            BackgroundChoice::Black => {
                split.train_backgrounds = BackgroundLibrary::black(g.height, g.width)
            }
            BackgroundChoice::Path(p) => {
                split.train_backgrounds =
                    BackgroundLibrary::from_path(p, g.height, g.width, g.frames)?;
            }
        }
        Ok(split)
    }
}

/// The clip shape the model's config asks for.
pub fn generation(cfg: &ModelConfig) -> GenConfig {
    GenConfig {
        frames: cfg.video.frames as u32,
        height: cfg.video.height as u32,
        width: cfg.video.width as u32,
        ..GenConfig::default()
    }
}
