//! The annotated-videos source (`finetune --annotations FILE --videos DIR`): every
//! (caption, video) pair of a retrieval annotation file is a sample; videos are decoded through
//! ffmpeg with middle sampling and cached ([`ClipReader`]). `--fraction` keeps a nested,
//! deterministic share of the videos (all pairs of a kept video stay); each epoch visits the
//! pairs in a seeded shuffle. Videos that share a caption carry the same text, so the
//! trainer's duplicate-caption mask keeps them from being each other's VTC negatives.

use std::path::PathBuf;

use anyhow::{Result, bail};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::{Batch, CaptionChoice, TextPipeline, mix_seed, upload_decoded};
use crate::data::annotations::RetrievalSet;
use crate::data::clips::ClipReader;
use crate::eval::annotated::{SkippedVideo, one_line};
use crate::gpu::Gpu;
use crate::motion::params::{BackgroundRef, ClipParams};

const SUBSET_SALT: u64 = 0x0061_6e6e_6f73_7562;
const SHUFFLE_SALT: u64 = 0x0061_6e6e_6f73_6875;

/// Annotated videos as a stream of training batches.
pub struct AnnotatedSource {
    gpu: Gpu,
    set: RetrievalSet,
    dir: PathBuf,
    reader: ClipReader,
    text: TextPipeline,
    /// The (caption, video) pairs trained on.
    pairs: Vec<(usize, usize)>,
    seed: u64,
    batch_size: usize,
    shard: Option<std::ops::Range<usize>>,
    /// Videos that did not decode (with `skip_bad`), their pairs dropped.
    pub skipped: Vec<SkippedVideo>,
}

impl AnnotatedSource {
    /// The pairs of `set` whose videos are in the `fraction` subset (nested: a smaller
    /// fraction's videos are inside a larger one's), videos under `dir`. Every kept video is
    /// decoded once now (filling the clip cache the epochs read): one that fails is an error
    /// naming it, or with `skip_bad` dropped with its pairs and listed in `skipped`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        gpu: &Gpu,
        set: RetrievalSet,
        dir: PathBuf,
        reader: ClipReader,
        text: TextPipeline,
        (seed, batch_size, fraction): (u64, usize, f64),
        skip_bad: bool,
        progress: bool,
    ) -> Result<Self> {
        if !(fraction > 0.0 && fraction <= 1.0) {
            bail!("--fraction must be in (0, 1], got {fraction}");
        }
        anyhow::ensure!(batch_size > 0, "--batch must be at least 1");
        let n = set.videos.len();
        let keep = ((fraction * n as f64).round() as usize).clamp(1, n);
        let mut rank: Vec<(u64, usize)> = (0..n)
            .map(|v| (mix_seed(seed, fnv(&set.videos[v]), SUBSET_SALT), v))
            .collect();
        rank.sort();
        let mut kept = vec![false; n];
        rank[..keep].iter().for_each(|r| kept[r.1] = true);
        let mut skipped = Vec::new();
        let bar = crate::util::progress::bar(progress, keep as u64, "decode", "videos");
        for (keep, name) in kept.iter_mut().zip(&set.videos) {
            if !*keep {
                continue;
            }
            if let Err(e) = reader.rgb(&dir.join(name)) {
                if !skip_bad {
                    bail!("{} (or pass --skip-bad-videos)", one_line(&e));
                }
                *keep = false;
                skipped.push(SkippedVideo {
                    video: name.clone(),
                    error: one_line(&e),
                });
            }
            bar.inc(1);
        }
        bar.finish_and_clear();
        let pairs: Vec<(usize, usize)> = set.pairs.iter().copied().filter(|p| kept[p.1]).collect();
        if pairs.len() < 2 {
            bail!(
                "--annotations: {} (caption, video) pairs after --fraction {fraction}; training needs at least 2",
                pairs.len()
            );
        }
        Ok(Self {
            gpu: gpu.clone(),
            set,
            dir,
            reader,
            text,
            pairs,
            seed,
            batch_size,
            shard: None,
            skipped,
        })
    }

    /// Pairs trained on.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when there are none (never, after `new`).
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Decode and upload only samples `range` of every batch (a data-parallel replica's share).
    pub fn set_shard(&mut self, range: Option<std::ops::Range<usize>>) {
        self.shard = range;
    }

    /// The clip reader (its decode and cache counts).
    pub fn reader(&self) -> &ClipReader {
        &self.reader
    }

    /// How many of the first `n` pairs' captions are longer than the text length (nothing
    /// is decoded).
    pub fn caption_truncation(&self, n: usize) -> Result<crate::data::tokenizer::Truncation> {
        let captions: Vec<&str> = self
            .pairs
            .iter()
            .take(n)
            .map(|&(c, _)| self.set.captions[c].as_str())
            .collect();
        self.text.tokenizer.truncation(&captions)
    }

    /// Batch `step`: sample `i` is position `step·B + i` of the concatenated epoch orders.
    pub fn batch(&self, step: u64) -> Result<Batch> {
        let (b, n) = (self.batch_size as u64, self.pairs.len() as u64);
        let mut picks = Vec::new();
        let mut order = (u64::MAX, Vec::new());
        for pos in step * b..(step + 1) * b {
            let epoch = pos / n;
            if order.0 != epoch {
                let mut o: Vec<usize> = (0..self.pairs.len()).collect();
                o.shuffle(&mut ChaCha8Rng::seed_from_u64(mix_seed(
                    self.seed,
                    epoch,
                    SHUFFLE_SALT,
                )));
                order = (epoch, o);
            }
            picks.push(self.pairs[order.1[(pos % n) as usize]]);
        }
        self.assemble(step, &picks)
    }

    fn assemble(&self, step: u64, picks: &[(usize, usize)]) -> Result<Batch> {
        let (f, h, w) = (self.reader.frames, self.reader.height, self.reader.width);
        let mut pixels = Vec::new();
        let (mut clips, mut captions) = (Vec::new(), Vec::new());
        for (k, &(c, v)) in picks.iter().enumerate() {
            let name = &self.set.videos[v];
            if self.shard.as_ref().is_none_or(|r| r.contains(&k)) {
                pixels.extend(self.reader.normalized(&self.dir.join(name))?);
            }
            clips.push(video_clip(name, f, h, w));
            captions.push(self.set.captions[c].clone());
        }
        let choices = vec![CaptionChoice::Motion; picks.len()];
        let mut host = self.text.host_batch(
            step,
            clips,
            choices,
            captions,
            mix_seed(self.seed, step, 0x006d_6c6d),
        )?;
        host.pixels = Some(pixels);
        upload_decoded(&self.gpu, host, (f, h, w), self.shard.as_ref())
    }
}

/// A real video's stand-in parameters: its file name is its id and its appearance group.
fn video_clip(name: &str, frames: u32, height: u32, width: u32) -> ClipParams {
    ClipParams {
        id: name.to_string(),
        seed: fnv(name),
        frames,
        height,
        width,
        background: BackgroundRef {
            id: format!("video:{name}"),
            name: name.to_string(),
        },
        objects: Vec::new(),
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Annotated real videos to train on (`finetune --annotations FILE --videos DIR`).
#[derive(Debug, Clone)]
pub struct AnnotationData {
    /// The annotation file (for the log and resume checks).
    pub file: PathBuf,
    /// Its (caption, video) pairs.
    pub set: RetrievalSet,
    /// The folder its video names are relative to.
    pub videos: PathBuf,
    /// Drop videos that fail to decode (listed) instead of stopping.
    pub skip_bad_videos: bool,
}
