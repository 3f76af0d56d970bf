//! One modality at a time: the raw VTC projections of clips alone or captions alone, for
//! `embed`, `search` and retrieval over sets whose videos and captions differ in number.

use anyhow::Result;

use super::LocoModel;
use crate::model::text::TextBatch;
use crate::tensor::{Tape, Tensor};

impl LocoModel {
    /// Raw VTC projections `[B, embed_dim]` (row-major, host) of clips `video`
    /// `[B, T, 3, H, W]`; no gradient recorded. Retrieval ranks by them after
    /// [`crate::model::heads::unit_embeddings`].
    pub fn embed_videos(&self, tape: &Tape, video: &Tensor) -> Result<Vec<f32>> {
        let _g = tape.no_grad();
        let v = self.video.forward(tape, video)?;
        Ok(self.heads.vtc_video_projection(tape, &v.cls)?.to_vec()?)
    }

    /// Raw VTC projections `[B, embed_dim]` (row-major, host) of captions `text`; no
    /// gradient recorded.
    pub fn embed_texts(&self, tape: &Tape, text: TextBatch) -> Result<Vec<f32>> {
        let _g = tape.no_grad();
        let t = self.text.forward(tape, text)?;
        Ok(self.heads.vtc_text_projection(tape, &t.pooled)?.to_vec()?)
    }
}
