//! Held-out evaluation data: the libraries split by index into training and held-out parts
//! (training never sees a held-out object or background), clips from a held-out seed, and
//! the motion benchmark (groups of clips that share object and background and differ only in
//! motion, with `template` captions: the SSv2-Template stand-in).

use anyhow::Result;

use super::{Batch, CaptionChoice, TextPipeline, mix_seed, to_gpu};
use crate::caption::{CaptionKind, describe};
use crate::gpu::Gpu;
use crate::motion::params::ClipParams;
use crate::motion::{BackgroundLibrary, Compositor, GenConfig, ObjectLibrary, sample_clip};

/// A quarter of the objects are held out: index i when (i + i / 8) ≡ stride − 1 (mod
/// stride). The built-in library is 8 shapes × 8 colours (i = 8·shape + colour), so the
/// stagger holds out shape–colour *combinations*: every shape and every colour word still
/// occurs in training, and evaluation asks for unseen pairings, not unseen words.
pub const OBJECT_STRIDE: usize = 4;
/// Every `BACKGROUND_STRIDE`-th background is held out: a fifth of them.
pub const BACKGROUND_STRIDE: usize = 5;

/// A library pair cut into a training part and a held-out part.
#[derive(Debug, Clone)]
pub struct LibrarySplit {
    /// Objects training may use.
    pub train_objects: ObjectLibrary,
    /// Objects only evaluation uses.
    pub heldout_objects: ObjectLibrary,
    /// Backgrounds training may use.
    pub train_backgrounds: BackgroundLibrary,
    /// Backgrounds only evaluation uses.
    pub heldout_backgrounds: BackgroundLibrary,
}

fn held_out(index: usize, stride: usize, len: usize) -> bool {
    // A library too small to split keeps everything for training (and evaluation reuses it).
    len >= stride && index % stride == stride - 1
}

fn held_out_object(index: usize, len: usize) -> bool {
    held_out(index + index / 8, OBJECT_STRIDE, len)
}

impl LibrarySplit {
    /// Split by index, the same way for the same libraries on every machine.
    pub fn new(objects: &ObjectLibrary, backgrounds: &BackgroundLibrary) -> Self {
        let (mut to, mut ho) = (Vec::new(), Vec::new());
        for (i, o) in objects.objects.iter().enumerate() {
            if held_out_object(i, objects.len()) {
                ho.push(o.clone());
            } else {
                to.push(o.clone());
            }
        }
        let (mut tb, mut hb) = (Vec::new(), Vec::new());
        for (i, v) in backgrounds.videos.iter().enumerate() {
            if held_out(i, BACKGROUND_STRIDE, backgrounds.len()) {
                hb.push(v.clone());
            } else {
                tb.push(v.clone());
            }
        }
        if ho.is_empty() {
            ho = to.clone();
        }
        if hb.is_empty() {
            hb = tb.clone();
        }
        let bg = |videos| BackgroundLibrary {
            height: backgrounds.height,
            width: backgrounds.width,
            videos,
        };
        Self {
            train_objects: ObjectLibrary { objects: to },
            heldout_objects: ObjectLibrary { objects: ho },
            train_backgrounds: bg(tb),
            heldout_backgrounds: bg(hb),
        }
    }

    /// The built-in libraries at the clip size of `generation`, split.
    pub fn builtin(generation: &GenConfig) -> Self {
        Self::new(
            &ObjectLibrary::builtin(),
            &BackgroundLibrary::builtin(generation.height, generation.width, generation.frames),
        )
    }
}

/// The seed of the held-out clips of a run with `seed` (never a training clip's seed).
pub fn heldout_seed(seed: u64) -> u64 {
    mix_seed(seed, 0, 0x6865_6c64_6f75_7421)
}

/// Evaluation clips with their captions and groups.
#[derive(Debug, Clone)]
pub struct EvalSet {
    /// The clips.
    pub clips: Vec<ClipParams>,
    /// Group of each clip: appearance group for retrieval, benchmark group for the motion
    /// benchmark (clips in one group differ only in motion).
    pub groups: Vec<u64>,
    /// Caption choice of each clip.
    pub choices: Vec<CaptionChoice>,
    /// Caption of each clip.
    pub captions: Vec<String>,
}

impl EvalSet {
    /// `n` held-out retrieval clips (held-out seed, objects and backgrounds), captioned by
    /// `text`'s mixture.
    pub fn retrieval(
        seed: u64,
        n: usize,
        generation: &GenConfig,
        split: &LibrarySplit,
        text: &TextPipeline,
    ) -> Self {
        let hs = heldout_seed(seed);
        let clips: Vec<ClipParams> = (0..n as u64)
            .map(|i| {
                sample_clip(
                    hs,
                    i,
                    generation,
                    &split.heldout_objects,
                    &split.heldout_backgrounds,
                )
            })
            .collect();
        let seeds: Vec<u64> = clips.iter().map(|c| c.seed).collect();
        let (choices, captions) = text.captions(&clips, &seeds);
        Self {
            groups: clips.iter().map(super::appearance_group).collect(),
            clips,
            choices,
            captions,
        }
    }

    /// The motion benchmark: `groups` groups of `per_group` held-out clips; in a group every
    /// clip has the same object and background and a different `template` caption.
    pub fn motion_benchmark(
        seed: u64,
        groups: usize,
        per_group: usize,
        generation: &GenConfig,
        split: &LibrarySplit,
    ) -> Self {
        let hs = heldout_seed(seed ^ 0x0062_656e_6368);
        let mut out = Self {
            clips: Vec::new(),
            groups: Vec::new(),
            choices: Vec::new(),
            captions: Vec::new(),
        };
        for g in 0..groups as u64 {
            let clips = super::groups::motion_group(
                hs,
                g,
                per_group,
                generation,
                &split.heldout_objects,
                &split.heldout_backgrounds,
            );
            for (k, mut clip) in clips.into_iter().enumerate() {
                clip.id = format!("bench-{g:04}-{k:02}");
                out.captions.push(describe(&clip, CaptionKind::Template));
                out.clips.push(clip);
                out.groups.push(g);
                out.choices.push(CaptionChoice::Template);
            }
        }
        out
    }

    /// Clips `range` as one GPU batch, composited by `compositor` (built on the held-out
    /// libraries) and submitted; MLM masks are drawn from `seed`.
    pub fn batch(
        &self,
        gpu: &Gpu,
        compositor: &Compositor,
        text: &TextPipeline,
        range: std::ops::Range<usize>,
        seed: u64,
    ) -> Result<Batch> {
        anyhow::ensure!(
            !range.is_empty() && range.end <= self.clips.len(),
            "evaluation batch {range:?} is empty or outside the {} clips",
            self.clips.len()
        );
        let clips = self.clips[range.clone()].to_vec();
        let (f, h, w) = (clips[0].frames, clips[0].height, clips[0].width);
        let mut host = text.host_batch(
            range.start as u64,
            clips,
            self.choices[range.clone()].to_vec(),
            self.captions[range.clone()].to_vec(),
            mix_seed(seed, range.start as u64, 0x6576_616c),
        )?;
        host.groups = self.groups[range].to_vec();
        let mut gb = crate::gpu::CommandBatch::new(gpu);
        let out = to_gpu(gpu, &mut gb, Some((compositor, 1.0)), host, (f, h, w), None)?;
        gb.submit();
        Ok(out)
    }
}
