//! The training data pipeline: synthetic clips and their captions become GPU batches.
//!
//! Two sources share one text path ([`TextPipeline`]: caption choice, tokenising, MLM masking)
//! and one batch layout ([`Batch`]):
//! - [`OnlineSource`]: a fresh clip for every sample, composited on the GPU straight into the
//!   video tensor, nothing on disk; batch `s`, sample `i` is clip `s·B + i` of the run's seed,
//!   so a resumed run sees exactly the batches it would have seen.
//! - [`FolderSource`]: a folder written by `locomotion generate`, GIFs decoded on the CPU,
//!   with a deterministic `--fraction` subset and a seeded shuffle per epoch.
//!
//! [`split`] keeps held-out objects and backgrounds away from training and builds the
//! evaluation sets (held-out retrieval, and the motion benchmark of clips that differ only in
//! motion).

pub mod annotated;
pub mod folder;
pub mod groups;
pub mod mix;
pub mod online;
pub mod split;

pub use annotated::{AnnotatedSource, AnnotationData};
pub use folder::{FolderConfig, FolderSource};
pub use groups::motion_group;
pub use mix::{CaptionChoice, CaptionMix};
pub use online::{OnlineConfig, OnlineSource};
pub use split::{EvalSet, LibrarySplit};

use anyhow::Result;

use crate::caption::{Describer, Lexicon, Paraphraser};
use crate::data::mlm::{MlmConfig, mask_tokens};
use crate::data::tokenizer::{EncodedBatch, TextTokenizer, Truncation};
use crate::gpu::{Gpu, GpuBuffer};
use crate::motion::Compositor;
use crate::motion::composite::{IMAGENET_MEAN, IMAGENET_STD, Output, Staged};
use crate::motion::params::ClipParams;
use crate::tensor::ops::loss::IGNORE_INDEX;

/// The CPU half of a batch: which clips, their captions, token ids and MLM masks.
#[derive(Debug, Clone, PartialEq)]
pub struct HostBatch {
    /// The step this batch belongs to.
    pub step: u64,
    /// The clips' parameters (the online source composites them; all sources caption them).
    pub clips: Vec<ClipParams>,
    /// Appearance group of each sample: clips with the same objects and background share
    /// it (for hard negatives and per-group evaluation).
    pub groups: Vec<u64>,
    /// Which caption each sample got.
    pub choices: Vec<CaptionChoice>,
    /// The captions as text, for logging.
    pub captions: Vec<String>,
    /// Token ids, attention mask and token types, `[B, L]`.
    pub text: EncodedBatch,
    /// How many of the captions were cut to the text length L (the whole batch's; empty
    /// in a data-parallel replica's part).
    pub truncation: Truncation,
    /// MLM input ids `[B, L]`.
    pub mlm_ids: Vec<u32>,
    /// MLM targets `[B, L]`: the original id where masked, [`IGNORE_INDEX`] elsewhere (the
    /// convention of `tensor::ops::loss::cross_entropy_forward`).
    pub mlm_labels: Vec<u32>,
    /// Normalised video `[B, T, 3, H, W]` when decoded on the CPU (folder source); `None`
    /// when the GPU composites it.
    pub pixels: Option<Vec<f32>>,
}

impl HostBatch {
    /// Samples in the batch.
    pub fn len(&self) -> usize {
        self.clips.len()
    }

    /// True for an empty batch.
    pub fn is_empty(&self) -> bool {
        self.clips.is_empty()
    }

    /// The clips' ids.
    pub fn clip_ids(&self) -> Vec<&str> {
        self.clips.iter().map(|c| c.id.as_str()).collect()
    }

    /// Samples `range` of the batch (same step, same padded length), and what is left of the
    /// whole batch for the losses of a data-parallel step (its captions, token arrays and
    /// masks). Pixels, where there are any, are the range's already and move to the part.
    pub fn split_shard(mut self, range: std::ops::Range<usize>) -> (HostBatch, HostBatch) {
        let l = self.text.max_len;
        let rows = |v: &[u32]| v[range.start * l..range.end * l].to_vec();
        let part = HostBatch {
            step: self.step,
            clips: self.clips[range.clone()].to_vec(),
            groups: self.groups[range.clone()].to_vec(),
            choices: self.choices[range.clone()].to_vec(),
            captions: self.captions[range.clone()].to_vec(),
            text: EncodedBatch {
                batch: range.len(),
                max_len: l,
                ids: rows(&self.text.ids),
                attention_mask: rows(&self.text.attention_mask),
                token_types: rows(&self.text.token_types),
                special_mask: rows(&self.text.special_mask),
            },
            truncation: Truncation::default(),
            mlm_ids: rows(&self.mlm_ids),
            mlm_labels: rows(&self.mlm_labels),
            pixels: self.pixels.take(),
        };
        (part, self)
    }
}

/// A training batch on the GPU, with its CPU half for logging and checks.
pub struct Batch {
    /// Video `[B, T, 3, H, W]` f32, normalised with the ImageNet mean and std.
    pub video: GpuBuffer,
    /// Token ids `[B, L]` u32.
    pub ids: GpuBuffer,
    /// Attention mask `[B, L]` u32 (1 real, 0 padding).
    pub attention_mask: GpuBuffer,
    /// Token types `[B, L]` u32.
    pub token_types: GpuBuffer,
    /// MLM input ids `[B, L]` u32.
    pub mlm_ids: GpuBuffer,
    /// MLM targets `[B, L]` u32, [`IGNORE_INDEX`] where no loss is taken.
    pub mlm_labels: GpuBuffer,
    /// Frames, height and width of each clip.
    pub frames: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frame width in pixels.
    pub width: u32,
    /// The CPU half (captions, clip ids, groups, host copies of the text arrays): the
    /// replica's share of the batch in a data-parallel run.
    pub host: HostBatch,
    /// In a data-parallel run, the whole batch's CPU half (without pixels): the losses need
    /// every caption, mask and MLM label; None otherwise.
    pub global: Option<HostBatch>,
    // The compositor's per-batch tables: alive until the batch that reads them is submitted.
    _staged: Option<Staged>,
}

/// The video normalisation every source uses (the compositor's).
pub const VIDEO_NORMALIZATION: Output = Output::Normalized {
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
};

/// Captions → MLM-ready token arrays, every draw from the run's seed.
#[derive(Debug, Clone)]
pub struct TextPipeline {
    /// The tokenizer (its max length is L).
    pub tokenizer: TextTokenizer,
    /// Which captions to use.
    pub mix: CaptionMix,
    /// MLM masking probabilities.
    pub mlm: MlmConfig,
    describer: Describer,
    paraphraser: Paraphraser,
}

impl TextPipeline {
    /// A pipeline with the built-in lexicon.
    pub fn new(tokenizer: TextTokenizer, mix: CaptionMix, mlm: MlmConfig) -> Self {
        let lex = Lexicon::builtin();
        Self {
            tokenizer,
            mix,
            mlm,
            describer: Describer::new(lex.clone()),
            paraphraser: Paraphraser::new(lex),
        }
    }

    /// Caption `clips` (sample `i` drawing from `sample_seeds[i]`).
    pub fn captions(
        &self,
        clips: &[ClipParams],
        sample_seeds: &[u64],
    ) -> (Vec<CaptionChoice>, Vec<String>) {
        clips
            .iter()
            .zip(sample_seeds)
            .map(|(c, &s)| {
                let choice = self.mix.draw(s);
                let text = self
                    .mix
                    .caption(c, choice, s, &self.describer, &self.paraphraser);
                (choice, text)
            })
            .unzip()
    }

    /// Tokenise and mask `captions` into the CPU half of a batch; `mlm_seed` fixes the masks.
    pub fn host_batch(
        &self,
        step: u64,
        clips: Vec<ClipParams>,
        choices: Vec<CaptionChoice>,
        captions: Vec<String>,
        mlm_seed: u64,
    ) -> Result<HostBatch> {
        let (text, truncation) = self.tokenizer.encode_batch_counted(&captions)?;
        let masked = mask_tokens(
            &text,
            &self.tokenizer.special_ids(),
            self.tokenizer.vocab_size(),
            &self.mlm,
            mlm_seed,
        )?;
        let mlm_labels = masked
            .labels
            .iter()
            .map(|&l| if l < 0 { IGNORE_INDEX } else { l as u32 })
            .collect();
        Ok(HostBatch {
            step,
            groups: clips.iter().map(appearance_group).collect(),
            clips,
            choices,
            captions,
            text,
            truncation,
            mlm_ids: masked.ids,
            mlm_labels,
            pixels: None,
        })
    }
}

/// Upload a CPU half (only the samples in `shard`, when given: a data-parallel replica's
/// share, whose `pixels` must already be the share's); the video comes from `pixels` or, when
/// there are none, is composited by `compositor` into `batch` (recorded, not submitted).
pub(crate) fn to_gpu(
    gpu: &Gpu,
    batch: &mut crate::gpu::CommandBatch,
    compositor: Option<(&Compositor, f32)>,
    host: HostBatch,
    (frames, height, width): (u32, u32, u32),
    shard: Option<&std::ops::Range<usize>>,
) -> Result<Batch> {
    let (host, global) = match shard {
        Some(r) => {
            anyhow::ensure!(
                r.end <= host.len() && !r.is_empty(),
                "the replica's share {r:?} is not within the batch of {}",
                host.len()
            );
            let (part, whole) = host.split_shard(r.clone());
            (part, Some(whole))
        }
        None => (host, None),
    };
    let video_frames: u64 = host.clips.len() as u64 * frames as u64;
    let (video, staged) = match (&host.pixels, compositor) {
        (Some(px), _) => (gpu.upload(px, "video batch")?, None),
        (None, Some((comp, gain))) => {
            let out = gpu.pool.storage(
                VIDEO_NORMALIZATION.bytes(video_frames, height, width),
                "video batch",
            )?;
            let staged = comp.record_faded(batch, &host.clips, &out, VIDEO_NORMALIZATION, gain)?;
            (out, Some(staged))
        }
        (None, None) => anyhow::bail!("a batch without pixels needs a compositor"),
    };
    Ok(Batch {
        video,
        ids: gpu.upload(&host.text.ids, "token ids")?,
        attention_mask: gpu.upload(&host.text.attention_mask, "attention mask")?,
        token_types: gpu.upload(&host.text.token_types, "token types")?,
        mlm_ids: gpu.upload(&host.mlm_ids, "MLM ids")?,
        mlm_labels: gpu.upload(&host.mlm_labels, "MLM labels")?,
        frames,
        height,
        width,
        host,
        global,
        _staged: staged,
    })
}

/// Upload a CPU half whose pixels were decoded on the CPU (a folder's GIFs, annotated
/// videos) and submit it.
pub(crate) fn upload_decoded(
    gpu: &Gpu,
    host: HostBatch,
    dims: (u32, u32, u32),
    shard: Option<&std::ops::Range<usize>>,
) -> Result<Batch> {
    let mut gb = crate::gpu::CommandBatch::new(gpu);
    let out = to_gpu(gpu, &mut gb, None, host, dims, shard)?;
    gb.submit();
    Ok(out)
}

/// The appearance group of a clip: a stable hash (FNV-1a) of its background and object ids,
/// so clips that look alike share it on every machine.
pub fn appearance_group(clip: &ClipParams) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut eat = |s: &str| {
        for b in s.bytes().chain([0xff]) {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(&clip.background.id);
    for o in &clip.objects {
        eat(&o.object.id);
    }
    h
}

/// Mix a seed with a counter and a salt (SplitMix64), for independent per-step streams.
pub fn mix_seed(seed: u64, counter: u64, salt: u64) -> u64 {
    crate::motion::trajectory::clip_seed(seed ^ salt, counter)
}
