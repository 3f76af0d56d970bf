//! The supervised motion probe (`locomotion probe motion`): can the video encoder see the
//! motion at all? It trains a fresh video encoder with three linear heads on its [CLS]
//! state to classify the first segment's direction (8-way), speed class (3) and rotation
//! (3) of online clips from the training libraries, then reports the accuracy on clips of a
//! held-out seed with held-out objects and backgrounds, beside chance (the majority class
//! of the evaluated labels). If a supervised probe cannot tell the motions apart, no
//! caption objective will: the input is the problem.
//!
//! It also measures what the sampler hands the model ([`InputStats`]: how far segments
//! travel in pixels) and what a contrastive batch asks of it ([`batch_appearance_stats`]).

use anyhow::{Context, Result};
use serde::Serialize;

use crate::gpu::{CommandBatch, Gpu};
use crate::model::config::VideoEncoderConfig;
use crate::model::video::VideoEncoder;
use crate::motion::params::{ClipParams, Direction, Rotation, Speed};
use crate::motion::path::segment_offset;
use crate::motion::shapes::COLOURS;
use crate::motion::{Compositor, GenConfig, sample_clip};
use crate::nn::{Builder, Linear, Source, Upload, by_name, random_weights, shapes_of};
use crate::tensor::ops::adamw;
use crate::tensor::ops::elementwise::add;
use crate::tensor::ops::loss::IGNORE_INDEX;
use crate::tensor::ops::loss::cross_entropy;
use crate::tensor::{Shape, Tape, Tensor};
use crate::train::data::{LibrarySplit, VIDEO_NORMALIZATION, mix_seed, motion_group};
use crate::train::optim::AdamW;
use crate::train::schedule::LrSchedule;

/// What the probe trains and evaluates.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeConfig {
    /// The video encoder (a preset's, possibly with other frames or tubelets).
    pub video: VideoEncoderConfig,
    /// The sampler (its frames and size must be the encoder's).
    #[serde(skip)]
    pub generation: GenConfig,
    /// Optimizer steps.
    pub steps: u64,
    /// Clips per batch.
    pub batch: usize,
    /// Peak learning rate (cosine decay after 20 warm-up steps).
    pub lr: f64,
    /// Backgrounds fade in from black over this many steps (as pre-training does).
    pub background_fade: u64,
    /// The seed of the encoder, the heads and the training clips.
    pub seed: u64,
    /// Held-out clips evaluated.
    pub eval_clips: usize,
}

/// One probed property.
#[derive(Debug, Clone, Serialize)]
pub struct TaskResult {
    /// "direction", "speed" or "rotation".
    pub name: String,
    /// Classes.
    pub classes: usize,
    /// Held-out clips with a label (a still first segment has no direction or speed).
    pub labelled: usize,
    /// Held-out accuracy, percent.
    pub accuracy: f64,
    /// The majority class's share of the held-out labels, percent.
    pub chance: f64,
}

/// The probe's result.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeResult {
    /// One row per task.
    pub tasks: Vec<TaskResult>,
    /// The last logged training loss (sum of the three cross-entropies).
    pub final_loss: f32,
    /// Training wall time in seconds.
    pub train_seconds: f64,
}

/// The probed properties and their classes; `colour` is the control (appearance, which a
/// single frame shows): a probe that learns it but not the motion sees the clip, not its
/// motion.
const TASKS: [(&str, usize); 4] = [
    ("direction", 8),
    ("speed", 3),
    ("rotation", 3),
    ("colour", 8),
];

/// The labels of a clip's first segment (first object): direction, speed, rotation, and the
/// object's colour; [`IGNORE_INDEX`] for the direction and speed of a still segment and the
/// colour of an object that is not a built-in shape.
pub fn first_segment_labels(clip: &ClipParams) -> [u32; 4] {
    let o = &clip.objects[0];
    let colour = o
        .object
        .name
        .split(' ')
        .next()
        .and_then(|c| COLOURS.iter().position(|(name, _)| *name == c))
        .map_or(IGNORE_INDEX, |i| i as u32);
    let s = &o.segments[0];
    let dir = Direction::ALL
        .iter()
        .position(|&d| d == s.direction)
        .unwrap_or(0) as u32;
    let speed = match s.speed {
        Speed::Slow => 0,
        Speed::Medium => 1,
        Speed::Fast => 2,
    };
    let rot = match s.rotation {
        Rotation::None => 0,
        Rotation::Clockwise => 1,
        Rotation::CounterClockwise => 2,
    };
    if s.still {
        [IGNORE_INDEX, IGNORE_INDEX, rot, colour]
    } else {
        [dir, speed, rot, colour]
    }
}

/// One linear head `probe.{task}` `[hidden, classes]` per task of [`TASKS`], in its order.
fn probe_heads<S: Source>(root: &Builder<S>, hidden: usize) -> Result<Vec<Linear<S::Param>>> {
    let vb = root.pp("probe");
    TASKS
        .iter()
        .map(|&(name, k)| Linear::new(vb.pp(name), hidden, k))
        .collect()
}

/// Composite `clips` into a fresh video tensor `[B, T, 3, H, W]` (submitted).
fn video(gpu: &Gpu, comp: &Compositor, clips: &[ClipParams], gain: f32) -> Result<Tensor> {
    let c = &clips[0];
    let n = clips.len();
    let out = gpu.pool.storage(
        VIDEO_NORMALIZATION.bytes((n as u32 * c.frames) as u64, c.height, c.width),
        "probe video",
    )?;
    let mut gb = CommandBatch::new(gpu);
    let _staged = comp.record_faded(&mut gb, clips, &out, VIDEO_NORMALIZATION, gain)?;
    gb.submit();
    let shape = Shape::new(&[n, c.frames as usize, 3, c.height as usize, c.width as usize]);
    Ok(Tensor::from_buffer(gpu, out, shape, false))
}

/// Train the probe as `cfg` says and evaluate it on held-out clips.
pub fn probe_motion(gpu: &Gpu, cfg: &ProbeConfig, progress: bool) -> Result<ProbeResult> {
    cfg.video.validate().context("probe video encoder")?;
    cfg.generation.validate()?;
    anyhow::ensure!(cfg.steps >= 1, "--steps must be at least 1");
    anyhow::ensure!(cfg.batch >= 1, "--batch must be at least 1");
    anyhow::ensure!(cfg.eval_clips >= 1, "--eval-clips must be at least 1");
    let g = &cfg.generation;
    let split = LibrarySplit::builtin(g);
    let train_comp = Compositor::new(gpu, &split.train_objects, &split.train_backgrounds)?;
    let eval_comp = Compositor::new(gpu, &split.heldout_objects, &split.heldout_backgrounds)?;
    let encoder = VideoEncoder::random(gpu, &cfg.video, cfg.seed ^ 0x7669_6465)?;
    let hidden = cfg.video.hidden_size;
    let heads_w = random_weights(&shapes_of(|root| probe_heads(root, hidden)), cfg.seed);
    let root = Builder::new(Upload::new(gpu, "probe", &heads_w));
    let heads = probe_heads(&root, hidden)?;
    let mut params = encoder.parameters();
    params.extend(by_name(root.parameters()));
    let hyper = adamw::AdamWHyper {
        lr: cfg.lr as f32,
        weight_decay: 0.02,
        ..adamw::AdamWHyper::default()
    };
    let mut optim = AdamW::new(gpu, params, hyper, 1.0)?;
    let sched = LrSchedule {
        base_lr: cfg.lr,
        final_lr: 0.0,
        warmup_steps: 20.min(cfg.steps - 1),
        total_steps: cfg.steps,
    };
    let fade = crate::train::data::OnlineConfig {
        seed: cfg.seed,
        batch_size: cfg.batch,
        generation: g.clone(),
        prefetch: false,
        background_fade_steps: cfg.background_fade,
        group_size: 1,
    };
    let bar = if progress {
        indicatif::ProgressBar::new(cfg.steps)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("probe: train {bar:30} {pos}/{len} steps {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let start = std::time::Instant::now();
    let mut final_loss = f32::NAN;
    for step in 0..cfg.steps {
        let clips: Vec<ClipParams> = (0..cfg.batch as u64)
            .map(|i| {
                let idx = step * cfg.batch as u64 + i;
                sample_clip(
                    cfg.seed,
                    idx,
                    g,
                    &split.train_objects,
                    &split.train_backgrounds,
                )
            })
            .collect();
        let x = video(gpu, &train_comp, &clips, fade.background_gain(step))?;
        let labels: Vec<[u32; 4]> = clips.iter().map(first_segment_labels).collect();
        let tape = Tape::new(gpu);
        let cls = encoder.forward(&tape, &x)?.cls;
        let mut loss: Option<Tensor> = None;
        for (t, head) in heads.iter().enumerate() {
            let logits = head.forward(&tape, &cls)?;
            let y: Vec<u32> = labels.iter().map(|l| l[t]).collect();
            if y.iter().all(|&v| v == IGNORE_INDEX) {
                continue;
            }
            let ce = cross_entropy(&tape, &logits, &y, IGNORE_INDEX)?;
            loss = Some(match loss {
                Some(l) => add(&tape, &l, &ce)?,
                None => ce,
            });
        }
        if let Some(loss) = loss {
            optim.zero_grad();
            tape.backward(&loss)?;
            optim.step(sched.lr(step) as f32)?;
            if (step + 1) % 25 == 0 || step + 1 == cfg.steps {
                final_loss = loss.to_vec()?[0];
                anyhow::ensure!(
                    final_loss.is_finite(),
                    "the probe's loss is {final_loss} at step {}: try a lower --lr",
                    step + 1
                );
                bar.set_message(format!("loss {final_loss:.3}"));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let train_seconds = start.elapsed().as_secs_f64();

    // Held-out: another seed, held-out objects and backgrounds, at the background strength
    // training ended with (full once the fade is over).
    let eval_gain = fade.background_gain(cfg.steps);
    let hs = mix_seed(cfg.seed, 1, 0x0070_726f_6265);
    let eval: Vec<ClipParams> = (0..cfg.eval_clips as u64)
        .map(|i| sample_clip(hs, i, g, &split.heldout_objects, &split.heldout_backgrounds))
        .collect();
    let mut hits = [0usize; TASKS.len()];
    let mut counts = vec![vec![0usize; 8]; TASKS.len()];
    for chunk in eval.chunks(cfg.batch.max(8)) {
        let x = video(gpu, &eval_comp, chunk, eval_gain)?;
        let tape = Tape::new(gpu);
        let _g = tape.no_grad();
        let cls = encoder.forward(&tape, &x)?.cls;
        for (t, (head, &(_, k))) in heads.iter().zip(&TASKS).enumerate() {
            let logits = head.forward(&tape, &cls)?.to_vec()?;
            for (row, clip) in logits.chunks_exact(k).zip(chunk) {
                let y = first_segment_labels(clip)[t];
                if y == IGNORE_INDEX {
                    continue;
                }
                counts[t][y as usize] += 1;
                let pred = (0..k)
                    .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                    .unwrap_or(0);
                hits[t] += usize::from(pred as u32 == y);
            }
        }
    }
    let tasks = TASKS
        .iter()
        .enumerate()
        .map(|(t, &(name, k))| {
            let labelled: usize = counts[t].iter().sum();
            let top = counts[t].iter().copied().max().unwrap_or(0);
            let pct = |a: usize| 100.0 * a as f64 / labelled.max(1) as f64;
            TaskResult {
                name: name.into(),
                classes: k,
                labelled,
                accuracy: pct(hits[t]),
                chance: pct(top),
            }
        })
        .collect();
    Ok(ProbeResult {
        tasks,
        final_loss,
        train_seconds,
    })
}

/// How far the sampler's segments travel, in pixels of the clip.
#[derive(Debug, Clone, Serialize)]
pub struct InputStats {
    /// Moving segments looked at.
    pub segments: usize,
    /// Share of moving segments that travel less than 2 pixels, percent.
    pub under_2px: f64,
    /// Median travel of slow, medium and fast segments, pixels.
    pub median_px: [f64; 3],
    /// Share of all segments that travel under 2 px and turn under 10°, percent.
    pub invisible: f64,
}

/// Travel statistics of the first object's segments over `clips` clips of `g`.
pub fn input_stats(g: &GenConfig, clips: u64, seed: u64) -> InputStats {
    let split = LibrarySplit::builtin(g);
    let mut by_class: [Vec<f64>; 3] = Default::default();
    let (mut all, mut invisible) = (0usize, 0usize);
    for i in 0..clips {
        let c = sample_clip(seed, i, g, &split.train_objects, &split.train_backgrounds);
        for s in &c.objects[0].segments {
            all += 1;
            let (dx, dy) = segment_offset(s, 1.0);
            let px = (dx * dx + dy * dy).sqrt() * g.width as f64;
            let turn = s.degrees_per_frame as f64 * (s.end_frame - s.start_frame) as f64;
            let turned = s.rotation != Rotation::None && turn >= 10.0;
            if (s.still || px < 2.0) && !turned {
                invisible += 1;
            }
            if !s.still {
                let k = match s.speed {
                    Speed::Slow => 0,
                    Speed::Medium => 1,
                    Speed::Fast => 2,
                };
                by_class[k].push(px);
            }
        }
    }
    let moving: usize = by_class.iter().map(Vec::len).sum();
    let under: usize = by_class.iter().flatten().filter(|&&p| p < 2.0).count();
    let median = |v: &mut Vec<f64>| -> f64 {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let [mut a, mut b, mut c] = by_class;
    InputStats {
        segments: moving,
        under_2px: 100.0 * under as f64 / moving.max(1) as f64,
        median_px: [median(&mut a), median(&mut b), median(&mut c)],
        invisible: 100.0 * invisible as f64 / all.max(1) as f64,
    }
}

/// What a contrastive batch asks of the model.
#[derive(Debug, Clone, Serialize)]
pub struct BatchStats {
    /// Batches looked at.
    pub batches: u64,
    /// Share of the batch's pairs (i ≠ j) that share object and background, percent.
    pub same_appearance_pairs: f64,
    /// Expected in-batch text→video top-1 of a model that sees only appearance: it picks
    /// uniformly among the clips that look like the right one, percent.
    pub appearance_only_top1: f64,
}

/// [`BatchStats`] of `batches` training batches of `batch` clips in groups of
/// `group_size` (1: independent clips).
pub fn batch_appearance_stats(
    g: &GenConfig,
    batch: usize,
    group_size: usize,
    batches: u64,
    seed: u64,
) -> BatchStats {
    let split = LibrarySplit::builtin(g);
    let (mut pairs, mut same, mut top1) = (0usize, 0usize, 0.0f64);
    for s in 0..batches {
        let clips: Vec<ClipParams> = if group_size > 1 {
            let per = (batch / group_size) as u64;
            (0..per)
                .flat_map(|k| {
                    motion_group(
                        seed,
                        s * per + k,
                        group_size,
                        g,
                        &split.train_objects,
                        &split.train_backgrounds,
                    )
                })
                .collect()
        } else {
            (0..batch as u64)
                .map(|i| {
                    let idx = s * batch as u64 + i;
                    sample_clip(seed, idx, g, &split.train_objects, &split.train_backgrounds)
                })
                .collect()
        };
        let groups: Vec<u64> = clips
            .iter()
            .map(crate::train::data::appearance_group)
            .collect();
        for gi in &groups {
            let alike = groups.iter().filter(|gj| *gj == gi).count();
            same += alike - 1;
            pairs += groups.len() - 1;
            top1 += 1.0 / alike as f64;
        }
    }
    let n = (batches as usize * batch).max(1) as f64;
    BatchStats {
        batches,
        same_appearance_pairs: 100.0 * same as f64 / pairs.max(1) as f64,
        appearance_only_top1: 100.0 * top1 / n,
    }
}
