//! The two pair objectives over states already computed: VTM over chosen (video, text) rows
//! of a batch's final states, MLM over a batch's masked captions fused with its clips. One
//! step ([`LocoModel::forward_losses`]) and the GradCache step ([`super::grad_cache`]) share
//! them.

use std::ops::Range;

use anyhow::Result;

use super::{LocoModel, PairBatch};
use crate::gpu::{Gpu, GpuBuffer};
use crate::tensor::ops::attention::KeyMask;
use crate::tensor::ops::embedding::embedding;
use crate::tensor::ops::gather::{gather_rows, gather_rows_u32};
use crate::tensor::{Tape, Tensor};

impl LocoModel {
    /// VTM's mean cross-entropy over `3·b` pair rows: `rows` (text, video) index the final
    /// states of the whole batch `states` (text `[B, L·H]`, video `[B, Lv·Hv]`), whose text
    /// mask `mask` is `[B, L]`; the first `b` rows are the matched pairs.
    pub(super) fn vtm_rows(
        &self,
        tape: &Tape,
        (text_all, video_all): (&Tensor, &Tensor),
        (text_rows, video_rows): (&GpuBuffer, &GpuBuffer),
        mask: &[u32],
        b: usize,
    ) -> Result<Tensor> {
        let (h, hv) = (self.cfg.text.hidden_size, self.cfg.video.hidden_size);
        let bt = text_all.shape().dims()[0];
        let l = text_all.numel() / (bt * h);
        let lv = video_all.numel() / (bt * hv);
        let t_rows = gather_rows(tape, text_all, text_rows, 3 * b)?;
        let v_rows = gather_rows(tape, video_all, video_rows, 3 * b)?;
        let mask = self.gpu.upload(mask, "text mask")?;
        let mask3 = gather_rows_u32(&self.gpu, &mask, text_rows, [3 * b, bt, l])?;
        let fused = self.cross.forward_masked(
            tape,
            &tape.reshape(&t_rows, [3 * b, l, h])?,
            KeyMask::Gpu(&mask3),
            &tape.reshape(&v_rows, [3 * b, lv, hv])?,
        )?;
        let cls_rows: Vec<u32> = (0..3 * b).map(|i| (i * l) as u32).collect();
        let cls = embedding(tape, &tape.reshape(&fused, [3 * b * l, h])?, &cls_rows)?;
        let labels: Vec<u32> = (0..3 * b).map(|i| u32::from(i < b)).collect();
        self.heads.vtm(tape, &cls, &labels)
    }

    /// MLM's mean cross-entropy over `batch`'s masked tokens: each masked caption fused with
    /// its own clip's final states `video_hidden` `[b, Lv, Hv]`.
    pub(super) fn mlm_loss(
        &self,
        tape: &Tape,
        batch: &PairBatch,
        video_hidden: &Tensor,
    ) -> Result<Tensor> {
        let masked = self.text.forward(tape, batch.text(batch.mlm_ids))?;
        let fused = self
            .cross
            .forward(tape, &masked.hidden, batch.mask, video_hidden)?;
        self.heads
            .mlm(tape, &fused, self.text.word_table(), batch.mlm_labels)
    }
}

/// The rows of samples `range` (of a batch of `total`) among the 3·B VTM pair rows `rows`
/// (positives, then video with hard text, then hard video with text): 3·|range| rows in the
/// same three blocks (a data-parallel replica's pairs, or a micro-batch's).
pub(super) fn own_pairs(
    gpu: &Gpu,
    rows: &GpuBuffer,
    range: &Range<usize>,
    total: usize,
) -> Result<GpuBuffer> {
    let all = gpu.read::<u32>(rows)?;
    Ok(gpu.upload(
        &own_rows(&all, range, total),
        "VTM pair rows of a part of the batch",
    )?)
}

/// [`own_pairs`] on host rows.
pub(super) fn own_rows(all: &[u32], range: &Range<usize>, total: usize) -> Vec<u32> {
    (0..3)
        .flat_map(|k| range.clone().map(move |i| k * total + i))
        .map(|i| all[i])
        .collect()
}
