//! The folder source: a dataset written by `locomotion generate` (manifest.jsonl, GIFs under
//! clips/, captions.jsonl when present), decoded on the CPU, fitted to the model's frame size
//! and uploaded. `--fraction` keeps a deterministic subset (for low-data fine-tuning); each
//! epoch visits it in a seeded shuffle.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::{Batch, CaptionChoice, TextPipeline, mix_seed, upload_decoded};
use crate::caption::CaptionKind;
use crate::caption::records::{CaptionRecord, read_manifest};
use crate::data::tokenizer::Truncation;
use crate::gpu::Gpu;
use crate::motion::backgrounds::load_video;
use crate::motion::composite::{IMAGENET_MEAN, IMAGENET_STD};
use crate::motion::params::ManifestEntry;

/// What the folder source reads and how.
#[derive(Debug, Clone)]
pub struct FolderConfig {
    /// Seed of the subset, the shuffles, the caption choices and the masks.
    pub seed: u64,
    /// Samples per batch B.
    pub batch_size: usize,
    /// Share of the clips to use, in (0, 1].
    pub fraction: f64,
    /// The model's clip size: frames, height, width.
    pub frames: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frame width in pixels.
    pub width: u32,
}

/// A `generate` folder as a stream of batches.
pub struct FolderSource {
    gpu: Gpu,
    dir: PathBuf,
    cfg: FolderConfig,
    text: TextPipeline,
    entries: Vec<ManifestEntry>,
    captions: HashMap<String, Vec<CaptionRecord>>,
    shard: Option<std::ops::Range<usize>>,
}

const SUBSET_SALT: u64 = 0x7375_6273_6574;
const SHUFFLE_SALT: u64 = 0x0073_6875_6666_6c65;
const SAMPLE_SALT: u64 = 0x7361_6d70_6c65;

impl FolderSource {
    /// Open `dir`: reads the manifest (and captions.jsonl if present) and keeps the
    /// `cfg.fraction` subset; GIFs are decoded batch by batch.
    pub fn open(gpu: &Gpu, dir: &Path, text: TextPipeline, cfg: FolderConfig) -> Result<Self> {
        if !(cfg.fraction > 0.0 && cfg.fraction <= 1.0) {
            bail!("--fraction must be in (0, 1], got {}", cfg.fraction);
        }
        anyhow::ensure!(cfg.batch_size > 0, "--batch-size must be at least 1");
        let manifest = dir.join("manifest.jsonl");
        if !manifest.is_file() {
            bail!(
                "{} not found: is {} a folder made by `locomotion generate`?",
                manifest.display(),
                dir.display()
            );
        }
        let all = read_manifest(&manifest)?;
        if all.is_empty() {
            bail!("{} lists no clips", manifest.display());
        }
        let cap_path = dir.join("captions.jsonl");
        let captions = if cap_path.is_file() {
            read_captions(&cap_path)?
        } else {
            HashMap::new()
        };
        let entries = subset(all, cfg.fraction, cfg.seed);
        Ok(Self {
            gpu: gpu.clone(),
            dir: dir.to_path_buf(),
            cfg,
            text,
            entries,
            captions,
            shard: None,
        })
    }

    /// Decode and upload only samples `range` of every batch from now on (a data-parallel
    /// replica's share); the batch's [`Batch::global`] keeps the whole batch's text.
    pub fn set_shard(&mut self, range: Option<std::ops::Range<usize>>) {
        self.shard = range;
    }

    /// Clips in the subset.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the subset is empty (never, after a successful open).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The subset's clip ids, in manifest order.
    pub fn clip_ids(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.id.as_str()).collect()
    }

    /// Batches per epoch (the last batch of an epoch runs into the next epoch's order).
    pub fn steps_per_epoch(&self) -> u64 {
        (self.len() as u64).div_ceil(self.cfg.batch_size as u64)
    }

    /// The visiting order of `epoch`: a seeded shuffle of the subset.
    pub fn epoch_order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(mix_seed(
            self.cfg.seed,
            epoch,
            SHUFFLE_SALT,
        )));
        order
    }

    /// Batch `step`: sample `i` is position `step·B + i` of the concatenated epoch orders.
    pub fn batch(&self, step: u64) -> Result<Batch> {
        let b = self.cfg.batch_size as u64;
        let n = self.len() as u64;
        let mut picks = Vec::new();
        let mut order = (u64::MAX, Vec::new());
        for pos in step * b..(step + 1) * b {
            let epoch = pos / n;
            if order.0 != epoch {
                order = (epoch, self.epoch_order(epoch));
            }
            picks.push((order.1[(pos % n) as usize], epoch));
        }
        self.assemble(step, &picks)
    }

    /// The subset's clips `range` in manifest order, captioned as in the first epoch (for
    /// evaluation: every clip once, no shuffle).
    pub fn in_order(&self, range: std::ops::Range<usize>) -> Result<Batch> {
        anyhow::ensure!(
            !range.is_empty() && range.end <= self.len(),
            "folder batch {range:?} is empty or outside the {} clips",
            self.len()
        );
        let picks: Vec<(usize, u64)> = range.clone().map(|i| (i, 0)).collect();
        self.assemble(range.start as u64, &picks)
    }

    /// True when the folder has captions.jsonl (made by `generate --captions`).
    pub fn has_captions(&self) -> bool {
        !self.captions.is_empty()
    }

    /// The batch of `picks` (subset index, epoch), labelled `step`.
    fn assemble(&self, step: u64, picks: &[(usize, u64)]) -> Result<Batch> {
        let mut clips = Vec::new();
        let mut seeds = Vec::new();
        let mut pixels = Vec::new();
        for (k, &(i, epoch)) in picks.iter().enumerate() {
            let e = &self.entries[i];
            // A data-parallel replica decodes only its share.
            if self.shard.as_ref().is_none_or(|r| r.contains(&k)) {
                pixels.extend(self.decode(e)?);
            }
            // A new caption draw each epoch: paraphrase mixtures then vary across epochs.
            seeds.push(mix_seed(e.params.seed, epoch, SAMPLE_SALT));
            clips.push(e.params.clone());
        }
        let (choices, captions) = self.captions_of(&clips, &seeds);
        let mut host = self.text.host_batch(
            step,
            clips,
            choices,
            captions,
            mix_seed(self.cfg.seed, step, 0x006d_6c6d),
        )?;
        host.pixels = Some(pixels);
        upload_decoded(
            &self.gpu,
            host,
            (self.cfg.frames, self.cfg.height, self.cfg.width),
            self.shard.as_ref(),
        )
    }

    /// The caption each clip gets (sample `i` drawing from `seeds[i]`): the stored one when
    /// captions.jsonl has it, else made now.
    fn captions_of(
        &self,
        clips: &[crate::motion::params::ClipParams],
        seeds: &[u64],
    ) -> (Vec<CaptionChoice>, Vec<String>) {
        clips
            .iter()
            .zip(seeds)
            .map(|(c, &s)| {
                let choice = self.text.mix.draw(s);
                let stored = self.stored_caption(&c.id, choice, s);
                let text = stored.unwrap_or_else(|| {
                    self.text
                        .captions(std::slice::from_ref(c), &[s])
                        .1
                        .remove(0)
                });
                (choice, text)
            })
            .unzip()
    }

    /// How many of the first `n` clips' captions (as the first epoch draws them) are
    /// longer than the text length, without decoding any video.
    pub fn caption_truncation(&self, n: usize) -> Result<Truncation> {
        let picked = &self.entries[..n.min(self.len())];
        let clips: Vec<_> = picked.iter().map(|e| e.params.clone()).collect();
        let seeds: Vec<u64> = picked
            .iter()
            .map(|e| mix_seed(e.params.seed, 0, SAMPLE_SALT))
            .collect();
        self.text
            .tokenizer
            .truncation(&self.captions_of(&clips, &seeds).1)
    }

    /// The caption captions.jsonl holds for `id` under `choice`, if any.
    fn stored_caption(&self, id: &str, choice: CaptionChoice, seed: u64) -> Option<String> {
        let rec = self
            .captions
            .get(id)?
            .iter()
            .find(|r| r.kind == choice.kind())?;
        if choice == CaptionChoice::Paraphrase && rec.kind == CaptionKind::Motion {
            if rec.paraphrases.is_empty() {
                return Some(rec.caption.clone());
            }
            return Some(rec.paraphrases[(seed % rec.paraphrases.len() as u64) as usize].clone());
        }
        Some(rec.caption.clone())
    }

    /// One clip's frames, fitted and normalised: `[T, 3, H, W]`.
    fn decode(&self, e: &ManifestEntry) -> Result<Vec<f32>> {
        let Some(gif) = &e.gif else {
            bail!("manifest entry {} has no GIF (\"gif\": null)", e.id);
        };
        let path = self.dir.join(gif);
        if !path.is_file() {
            bail!("clip GIF {} is missing", path.display());
        }
        let (f, h, w) = (self.cfg.frames, self.cfg.height, self.cfg.width);
        let video = load_video(&path, h, w, f)
            .with_context(|| format!("clip GIF {} is corrupt", path.display()))?;
        let plane = (h * w) as usize;
        let mut out = vec![0f32; f as usize * 3 * plane];
        for t in 0..f as usize {
            // A shorter GIF loops, as backgrounds do.
            let frame = &video.frames[t % video.frames.len()];
            for p in 0..plane {
                for c in 0..3 {
                    let v = frame[4 * p + c] as f32 / 255.0;
                    out[(t * 3 + c) * plane + p] = (v - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
                }
            }
        }
        Ok(out)
    }
}

/// The `fraction` subset: clips ranked by a seeded hash of their id, the first
/// round(fraction·n) (at least one) kept, in manifest order. A smaller fraction's subset is
/// inside a larger one's.
pub fn subset(entries: Vec<ManifestEntry>, fraction: f64, seed: u64) -> Vec<ManifestEntry> {
    let n = entries.len();
    let keep = ((fraction * n as f64).round() as usize).clamp(1, n);
    let mut rank: Vec<(u64, usize)> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (mix_seed(seed, fnv(&e.id), SUBSET_SALT), i))
        .collect();
    rank.sort();
    let mut chosen: Vec<usize> = rank[..keep].iter().map(|r| r.1).collect();
    chosen.sort();
    let mut entries: Vec<Option<ManifestEntry>> = entries.into_iter().map(Some).collect();
    chosen
        .into_iter()
        .map(|i| entries[i].take().expect("each index once"))
        .collect()
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Read captions.jsonl into clip id → records; errors name the file and line.
fn read_captions(path: &Path) -> Result<HashMap<String, Vec<CaptionRecord>>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut out: HashMap<String, Vec<CaptionRecord>> = HashMap::new();
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let r: CaptionRecord = serde_json::from_str(&line)
            .with_context(|| format!("{}:{}: not a caption record", path.display(), i + 1))?;
        out.entry(r.id.clone()).or_default().push(r);
    }
    Ok(out)
}
