//! The online source: a fresh synthetic clip for every sample, composited on the GPU straight
//! into the video tensor (nothing on disk, no readback).
//!
//! Batch `s`, sample `i` is clip `s·B + i` of the run's seed, and its caption choice, caption
//! and MLM mask are drawn from that clip's seed and the step, so the batch at step `s` is a
//! pure function of (seed, s): a resumed run sees exactly the batches it would have seen.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::{Batch, HostBatch, TextPipeline, mix_seed, to_gpu};
use crate::gpu::Gpu;
use crate::motion::{BackgroundLibrary, Compositor, GenConfig, ObjectLibrary, sample_clip};

/// What the online source makes.
#[derive(Debug, Clone)]
pub struct OnlineConfig {
    /// The run's seed: every clip, caption and mask flows from it.
    pub seed: u64,
    /// Samples per batch B.
    pub batch_size: usize,
    /// Clip size and motion options (frames, height and width are the model's input size).
    pub generation: GenConfig,
    /// Prepare the next batch's CPU half on a worker thread while the current one trains.
    pub prefetch: bool,
    /// Fade the background in over the first N steps (0: full backgrounds from the start):
    /// black for the first third, then a linear ramp to full strength at step N. Motion
    /// captions never name the background, yet it is the largest difference between two
    /// random clips; from scratch, a model that meets it at full strength collapses before it
    /// finds the objects (measured: VTC stays at ln B), one that meets the objects first
    /// keeps them as the background fades in.
    pub background_fade_steps: u64,
    /// Clips per motion group (1: every clip independent). With G > 1 the batch is B / G
    /// groups of G clips that share object and background and differ only in motion
    /// ([`super::motion_group`]), so appearance cannot solve the contrastive task.
    pub group_size: usize,
}

// What the CPU half needs, shared with the prefetch thread.
struct Shared {
    cfg: OnlineConfig,
    objects: ObjectLibrary,
    backgrounds: BackgroundLibrary,
    text: TextPipeline,
}

const MLM_SALT: u64 = 0x6d6c_6d5f_6d61_736b;
const PAD_SALT: u64 = 0x7061_645f_636c_6970;

impl Shared {
    fn host(&self, step: u64) -> Result<HostBatch> {
        let b = self.cfg.batch_size as u64;
        let g = self.cfg.group_size.max(1);
        let mut clips = Vec::with_capacity(b as usize);
        if g > 1 {
            let per_batch = b / g as u64;
            for k in 0..per_batch {
                clips.extend(super::motion_group(
                    self.cfg.seed,
                    step * per_batch + k,
                    g,
                    &self.cfg.generation,
                    &self.objects,
                    &self.backgrounds,
                ));
            }
        }
        // Independent clips (and, rarely, the places a group too small to fill left).
        for i in clips.len() as u64..b {
            clips.push(sample_clip(
                self.cfg.seed ^ if g > 1 { PAD_SALT } else { 0 },
                step * b + i,
                &self.cfg.generation,
                &self.objects,
                &self.backgrounds,
            ));
        }
        let seeds: Vec<u64> = clips.iter().map(|c| c.seed).collect();
        let (choices, captions) = self.text.captions(&clips, &seeds);
        self.text.host_batch(
            step,
            clips,
            choices,
            captions,
            mix_seed(self.cfg.seed, step, MLM_SALT),
        )
    }
}

impl OnlineConfig {
    /// The background gain of batch `step` (see [`OnlineConfig::background_fade_steps`]).
    pub fn background_gain(&self, step: u64) -> f32 {
        match self.background_fade_steps {
            0 => 1.0,
            n => ((3.0 * step as f64 / n as f64 - 1.0) / 2.0).clamp(0.0, 1.0) as f32,
        }
    }
}

/// Synthetic clips and captions made on the fly, batch by batch.
pub struct OnlineSource {
    gpu: Gpu,
    compositor: Compositor,
    shared: Arc<Shared>,
    pending: Option<(u64, JoinHandle<Result<HostBatch>>)>,
    data_time: Duration,
    shard: Option<std::ops::Range<usize>>,
}

impl OnlineSource {
    /// A source drawing from `objects` and `backgrounds` (pass the training part of a
    /// [`super::LibrarySplit`] so that held-out ones never appear); uploads both once.
    pub fn new(
        gpu: &Gpu,
        objects: ObjectLibrary,
        backgrounds: BackgroundLibrary,
        text: TextPipeline,
        cfg: OnlineConfig,
    ) -> Result<Self> {
        cfg.generation.validate()?;
        anyhow::ensure!(cfg.batch_size > 0, "--batch-size must be at least 1");
        anyhow::ensure!(
            cfg.group_size >= 1 && cfg.batch_size.is_multiple_of(cfg.group_size),
            "--group-size {} must be at least 1 and divide --batch {}",
            cfg.group_size,
            cfg.batch_size
        );
        anyhow::ensure!(
            (backgrounds.height, backgrounds.width)
                == (cfg.generation.height, cfg.generation.width),
            "the backgrounds were loaded at {}x{} but clips are {}x{}",
            backgrounds.width,
            backgrounds.height,
            cfg.generation.width,
            cfg.generation.height
        );
        let compositor = Compositor::new(gpu, &objects, &backgrounds)?;
        Ok(Self {
            gpu: gpu.clone(),
            compositor,
            shared: Arc::new(Shared {
                cfg,
                objects,
                backgrounds,
                text,
            }),
            pending: None,
            data_time: Duration::ZERO,
            shard: None,
        })
    }

    /// Composite only samples `range` of every batch from now on (a data-parallel replica's
    /// share); the batch's [`Batch::global`] keeps the whole batch's text for the losses.
    pub fn set_shard(&mut self, range: Option<std::ops::Range<usize>>) {
        self.shard = range;
    }

    /// The configuration.
    pub fn config(&self) -> &OnlineConfig {
        &self.shared.cfg
    }

    /// The CPU half of the batch at `step` (sampling, captioning, tokenising, masking).
    pub fn host_batch(&self, step: u64) -> Result<HostBatch> {
        self.shared.host(step)
    }

    /// Record batch `step` into `batch`: the clips are composited by the GPU when `batch` is
    /// submitted. With prefetch on, the next step's CPU half starts on a worker thread.
    pub fn record(&mut self, batch: &mut crate::gpu::CommandBatch, step: u64) -> Result<Batch> {
        let start = Instant::now();
        let host = match self.pending.take() {
            Some((s, handle)) if s == step => handle
                .join()
                .map_err(|_| anyhow::anyhow!("the data prefetch thread panicked"))?
                .with_context(|| format!("preparing batch {step}"))?,
            // A prefetch for another step (a jump, e.g. a resume) is dropped unread.
            _ => self.shared.host(step)?,
        };
        if self.shared.cfg.prefetch {
            let shared = Arc::clone(&self.shared);
            let next = step + 1;
            self.pending = Some((next, std::thread::spawn(move || shared.host(next))));
        }
        let g = &self.shared.cfg.generation;
        let g_gain = self.shared.cfg.background_gain(step);
        let out = to_gpu(
            &self.gpu,
            batch,
            Some((&self.compositor, g_gain)),
            host,
            (g.frames, g.height, g.width),
            self.shard.as_ref(),
        );
        self.data_time += start.elapsed();
        out
    }

    /// Host time the training loop has spent inside [`OnlineSource::record`] so far (waiting
    /// for the CPU half, building and uploading tables): the data path's share of step time
    /// is this over the loop's wall time. GPU compositing runs in the caller's submission.
    pub fn data_time(&self) -> Duration {
        self.data_time
    }

    /// Batch `step`, composited in a batch of its own, queued for the GPU (not waited for).
    pub fn batch(&mut self, step: u64) -> Result<Batch> {
        let gpu = self.gpu.clone();
        let mut gb = crate::gpu::CommandBatch::new(&gpu);
        let out = self.record(&mut gb, step)?;
        gb.submit();
        Ok(out)
    }
}
