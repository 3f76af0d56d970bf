//! Swapping in an imported video encoder (`--init-video`): the model is built for the
//! imported shape, then its random video encoder is replaced.

use anyhow::{Result, bail};

use super::LocoModel;
use crate::model::video::VideoEncoder;

impl LocoModel {
    /// Replace the video encoder with `video`, which must have the model's video config.
    pub fn replace_video(&mut self, video: VideoEncoder) -> Result<()> {
        if video.config() != &self.cfg.video {
            bail!("the imported video encoder's config is not the model's video config");
        }
        self.video = video;
        Ok(())
    }
}
