//! The pre-training loop: online (or folder) batches → LocoModel losses → backward → AdamW,
//! with metrics JSONL, atomic checkpoints, resume, Ctrl-C and NaN/Inf stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::accumulate::train_step_accumulated;
use super::config::{CAPTION_SAMPLE, MAX_TRUNCATED_SHARE};
use super::config::{CHECKPOINT_DIR, METRICS_FILE, TrainConfig};
use super::data::CaptionMix;
use super::metrics_log::MetricsLog;
use super::optim::AdamW;
use super::schedule::LrSchedule;
use super::setup::{Source, Start};
use super::state::snapshot;
use super::state::{Replica, train_step, training_means};
use crate::data::tokenizer::Truncation;
use crate::dist::{Collective, Shard};
use crate::gpu::Gpu;
use crate::model::checkpoint::{Checkpoint, CheckpointConfig, FORMAT_VERSION, TrainingState};
use crate::model::config::ModelConfig;
use crate::model::locomotion::{LocoModel, Losses};

/// One line of metrics.jsonl.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct StepRecord {
    /// Steps done.
    pub step: u64,
    /// Learning rate of this step.
    pub lr: f64,
    /// VTC loss.
    pub vtc: f32,
    /// VTM loss.
    pub vtm: f32,
    /// MLM loss.
    pub mlm: f32,
    /// Weighted total.
    pub total: f32,
    /// Global gradient norm before clipping.
    pub grad_norm: f32,
    /// Clips per second since the run (or resume) started.
    pub clips_per_s: f64,
    /// Share of wall time spent preparing data on the host.
    pub data_time_share: f64,
    /// Share of the captions trained on so far (since the run or resume started) that were
    /// longer than the text length and cut.
    #[serde(default)]
    pub truncated_share: f64,
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    /// Steps done in total.
    pub step: u64,
    /// The last logged record.
    pub last: Option<StepRecord>,
    /// Clips per second of this invocation.
    pub clips_per_s: f64,
    /// The buffer pool's peak bytes.
    pub peak_bytes: u64,
    /// The captions this invocation trained on that were cut to the text length.
    pub truncation: Truncation,
    /// True when Ctrl-C or `stop_after` ended it early.
    pub interrupted: bool,
    /// Share of this invocation's wall time spent summing gradients across replicas (0 on
    /// one device).
    pub allreduce_share: f64,
    /// How the frozen text encoder's per-caption cache served (all zero when unused).
    pub text_cache: crate::model::locomotion::TextCacheStats,
}

static STOP: AtomicBool = AtomicBool::new(false);

fn install_ctrlc() {
    // set_handler fails when already installed (a second run in one process): keep the first.
    let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst));
}

/// What a checkpoint records about the run beyond the model and schedule.
fn run_extra(cfg: &TrainConfig, model: &LocoModel) -> serde_json::Map<String, serde_json::Value> {
    let mut extra = serde_json::Map::new();
    extra.insert("captions".into(), cfg.captions.clone().into());
    super::resume::store_flags(cfg, &mut extra);
    if let Some(t) = &cfg.init_text {
        extra.insert("init_text".into(), t.dir.display().to_string().into());
    }
    if let Some(v) = &cfg.init_video {
        extra.insert("init_video".into(), v.dir.display().to_string().into());
    }
    // The model's state, not the flag: a resumed frozen run stays frozen without it.
    if model.text_frozen() {
        extra.insert(super::resume::FREEZE_TEXT.into(), true.into());
    }
    extra
}

fn schedule(cfg: &TrainConfig) -> LrSchedule {
    LrSchedule {
        base_lr: cfg.lr,
        final_lr: 0.0,
        warmup_steps: cfg.warmup,
        total_steps: cfg.steps,
    }
}

fn check(cfg: &TrainConfig) -> Result<()> {
    if cfg.steps == 0 {
        bail!("--steps must be at least 1");
    }
    if cfg.batch < 2 {
        bail!(
            "--batch must be at least 2 (VTC and VTM contrast each pair with the others), got {}",
            cfg.batch
        );
    }
    if !(cfg.lr.is_finite() && cfg.lr > 0.0) {
        bail!("--lr must be a positive number, got {}", cfg.lr);
    }
    if !(cfg.weight_decay.is_finite() && cfg.weight_decay >= 0.0) {
        bail!("--weight-decay must be 0 or more, got {}", cfg.weight_decay);
    }
    if !(cfg.clip_norm.is_finite() && cfg.clip_norm >= 0.0) {
        bail!("--clip-norm must be 0 or more, got {}", cfg.clip_norm);
    }
    super::accumulate::check_accumulate(cfg.accumulate, cfg.batch)?;
    if cfg.log_every == 0 {
        bail!("--log-every must be at least 1");
    }
    if !(cfg.fraction > 0.0 && cfg.fraction <= 1.0) {
        bail!("--fraction must be in (0, 1], got {}", cfg.fraction);
    }
    CaptionMix::parse(&cfg.captions).with_context(|| format!("--captions {}", cfg.captions))?;
    if cfg.init_text.is_some() && cfg.init_checkpoint.is_some() {
        bail!("--init-text and a fine-tuning checkpoint both set the text encoder: give one");
    }
    if cfg.init_video.is_some() && cfg.init_checkpoint.is_some() {
        bail!("--init-video and a fine-tuning checkpoint both set the video encoder: give one");
    }
    Ok(())
}

/// Run (or resume) pre-training as `cfg` says; returns where it stopped.
pub fn train(gpu: &Gpu, cfg: &TrainConfig) -> Result<TrainSummary> {
    train_replica(gpu, cfg, None)
}

/// Run `cfg` data-parallel on `gpus` (one replica per device, each on its own thread; see
/// [`crate::dist`]): the global `--batch` is split by `weights` (None: evenly), gradients are
/// summed every step, and replica 0 writes the metrics and checkpoints. A replica that fails
/// stops the others; the error returned is the first failure's.
pub fn train_devices(
    gpus: &[Gpu],
    cfg: &TrainConfig,
    weights: Option<&[f64]>,
) -> Result<TrainSummary> {
    train_devices_across(gpus, cfg, weights, None)
}

/// [`train_devices`] as one process of a multi-process run: this process's replicas meet
/// in-process and `world` (one member per process, e.g. MPI) joins the processes; replica
/// `rank · gpus.len() + i` is device i here, and `weights` covers every replica of the run.
pub fn train_devices_across(
    gpus: &[Gpu],
    cfg: &TrainConfig,
    weights: Option<&[f64]>,
    world: Option<Arc<dyn Collective>>,
) -> Result<TrainSummary> {
    if gpus.len() <= 1 && weights.is_none() && world.is_none() {
        let gpu = gpus.first().context("no device to train on")?;
        return train(gpu, cfg);
    }
    check(cfg)?;
    if cfg.accumulate > 1 {
        bail!(
            "--accumulate {} runs on one device: give it without --devices (each replica's share is already a smaller batch)",
            cfg.accumulate
        );
    }
    let timeout = crate::dist::timeout_from_env()?;
    let groups = crate::dist::ThreadGroup::new(gpus.len(), timeout);
    let replicas = gpus.len() * world.as_ref().map_or(1, |w| w.size());
    // Check the split before any thread starts.
    crate::dist::shares(cfg.batch, replicas, weights)?;
    let comms: Vec<Arc<dyn Collective>> = groups
        .into_iter()
        .map(|group| -> Arc<dyn Collective> {
            match &world {
                Some(w) => Arc::new(crate::dist::hybrid::Hybrid::new(group, Arc::clone(w))),
                None => Arc::new(group),
            }
        })
        .collect();
    let results = crate::dist::run_replicas(gpus, comms, |gpu, comm| {
        let shard = Shard::new(Arc::clone(comm), cfg.batch, weights)?;
        train_replica(gpu, cfg, Some(shard))
    });
    first_failure(results)
}

/// Replica 0's summary, or the error of the replica that failed first (the others fail
/// with "stopped" errors that quote it).
pub fn first_failure(results: Vec<Result<TrainSummary>>) -> Result<TrainSummary> {
    let mut results = results.into_iter();
    let first = results.next().context("no replica ran")?;
    let rest: Vec<_> = results.collect();
    let stopped = |e: &anyhow::Error| format!("{e:#}").contains(" stopped: ");
    match first {
        Ok(s) => match rest.into_iter().find_map(|r| r.err()) {
            None => Ok(s),
            Some(e) => Err(e),
        },
        Err(e0) => match rest
            .into_iter()
            .filter_map(|r| r.err())
            .find(|e| !stopped(e))
        {
            Some(e) if stopped(&e0) => Err(e),
            _ => Err(e0),
        },
    }
}

/// One replica of a run (`shard` None: the only one). Replica 0 (or the only one) writes
/// the tokenizer, metrics and checkpoints; every replica trains on its share.
/// A memory error names the preset and batch and says what to lower.
pub fn train_replica(gpu: &Gpu, cfg: &TrainConfig, shard: Option<Shard>) -> Result<TrainSummary> {
    run_replica(gpu, cfg, shard)
        .map_err(|e| super::memory::explain(e, &cfg.model, cfg.batch, &gpu.summary.name))
}

fn run_replica(gpu: &Gpu, cfg: &TrainConfig, shard: Option<Shard>) -> Result<TrainSummary> {
    check(cfg)?;
    let writer = shard.as_ref().is_none_or(|s| s.comm.rank() == 0);
    if writer {
        std::fs::create_dir_all(&cfg.out)
            .with_context(|| format!("cannot create --out {}", cfg.out.display()))?;
    }
    let Start {
        model_cfg,
        mut model,
        mut optim,
        tokenizer,
        mut step,
    } = super::setup::start(gpu, cfg, writer)?;
    let sched = schedule(cfg);
    let mut source = Source::open(gpu, cfg, &model_cfg, tokenizer)?;
    source.set_shard(shard.as_ref().map(|s| s.range.clone()));
    check_truncation(
        cfg,
        &source.caption_truncation(step, CAPTION_SAMPLE)?,
        writer,
    )?;
    let mut cut = Truncation::default();
    let metrics = cfg.out.join(METRICS_FILE);
    let mut log = if writer {
        if cfg.resume {
            // Steps logged after the checkpoint will be run (and logged) again.
            super::metrics_log::cut_after(&metrics, step)?;
        }
        Some(MetricsLog::open(&metrics, cfg.resume)?)
    } else {
        None
    };
    let save = |model: &LocoModel, optim: &AdamW, step: u64| match writer {
        true => save_checkpoint(gpu, cfg, &model_cfg, model, optim, step),
        false => Ok(()),
    };

    install_ctrlc();
    STOP.store(false, Ordering::SeqCst);
    let stage = if cfg.init_checkpoint.is_some() {
        "fine-tune"
    } else {
        "pre-train"
    };
    let bar = crate::util::progress::bar(cfg.progress && writer, cfg.steps, stage, "steps");
    bar.set_position(step);
    let start = Instant::now();
    let (first, mut last, mut interrupted) = (step, None, false);
    let mut allreduce = 0.0;
    while step < cfg.steps {
        let lr = sched.lr(step);
        // Every replica stops at the same step: the stop flag is summed with the gradients.
        let stop_flag = [f32::from(u8::from(STOP.load(Ordering::SeqCst)))];
        let replica = shard.as_ref().map(|s| Replica {
            shard: s,
            extra: &stop_flag,
        });
        let batch = source.batch(step)?;
        cut.add(&batch.global.as_ref().unwrap_or(&batch.host).truncation);
        let (seeds, lr32) = ((cfg.seed, step), lr as f32);
        // A data-parallel replica takes its share at once (`--accumulate` is refused there).
        let out = match replica {
            Some(_) => train_step(gpu, &model, &mut optim, batch, seeds, lr32, replica)?,
            None => {
                let n = cfg.accumulate;
                train_step_accumulated(gpu, &model, &mut optim, batch, seeds, lr32, n)?
            }
        };
        allreduce += out.allreduce_seconds;
        let stop = match out.extra.first() {
            Some(&flag) => flag > 0.0,
            None => STOP.load(Ordering::SeqCst),
        };
        step += 1;
        bar.set_position(step);
        if step % cfg.log_every == 0 || step == cfg.steps {
            let wall = start.elapsed().as_secs_f64().max(1e-9);
            let losses = read_losses(&out.losses, cfg, step, shard.as_ref())?;
            let [vtc, vtm, mlm, total] = losses;
            let rec = StepRecord {
                step,
                lr,
                vtc,
                vtm,
                mlm,
                total,
                grad_norm: optim.grad_norm()?,
                clips_per_s: ((step - first) as usize * cfg.batch) as f64 / wall,
                data_time_share: (source.data_seconds() / wall).min(1.0),
                truncated_share: cut.share(),
            };
            bar.set_message(trained_losses(
                &model_cfg.loss_weights,
                [vtc, vtm, mlm],
                rec.clips_per_s,
            ));
            if let Some(log) = &mut log {
                log.write(&rec)?;
            }
            last = Some(rec);
        }
        if cfg.save_every > 0 && step % cfg.save_every == 0 && step < cfg.steps {
            save(&model, &optim, step)?;
        }
        if stop || cfg.stop_after == Some(step) {
            interrupted = step < cfg.steps;
            break;
        }
    }
    if model.cfg.heads.center {
        let from = cfg.steps.max(step);
        let means = training_means(gpu, &model, |s| source.batch(s), from, shard.as_ref())?;
        model.set_vtc_means(means)?;
    }
    save(&model, &optim, step)?;
    bar.finish_and_clear();
    let wall = start.elapsed().as_secs_f64().max(1e-9);
    Ok(TrainSummary {
        step,
        last,
        clips_per_s: ((step - first) as usize * cfg.batch) as f64 / wall,
        peak_bytes: gpu.pool.stats().peak_bytes,
        interrupted,
        allreduce_share: allreduce / wall,
        truncation: cut,
        text_cache: model.text_cache_stats(),
    })
}

/// Warn (the writer) when sampled captions are longer than the text length, and refuse when
/// more than [`MAX_TRUNCATED_SHARE`] are, unless the run accepts it.
fn check_truncation(cfg: &TrainConfig, t: &Truncation, writer: bool) -> Result<()> {
    if t.truncated == 0 {
        return Ok(());
    }
    let said = format!(
        "{} of {} captions sampled before training ({:.1} %) are longer than the {} tokens the model reads (the longest is {} tokens): their ends are cut",
        t.truncated,
        t.texts,
        100.0 * t.share(),
        t.max_len,
        t.longest
    );
    if t.share() > MAX_TRUNCATED_SHARE && !cfg.allow_truncated_captions {
        bail!(
            "{said}, over the {:.0} % a run accepts: choose shorter --captions or a preset with a longer text, or add --allow-truncated-captions",
            100.0 * MAX_TRUNCATED_SHARE
        );
    }
    if writer {
        eprintln!("warning: {said}; metrics.jsonl counts them (truncated_share)");
    }
    Ok(())
}

/// The step's VTC, VTM, MLM and total losses read back; a loss that is not finite stops the
/// run with a hint.
fn read_losses(
    losses: &Losses,
    cfg: &TrainConfig,
    step: u64,
    shard: Option<&Shard>,
) -> Result<[f32; 4]> {
    let read = |t: &crate::tensor::Tensor| -> Result<f32> { Ok(t.to_vec()?[0]) };
    let mut values = [
        read(&losses.vtc)?,
        read(&losses.vtm)?,
        read(&losses.mlm)?,
        read(&losses.total)?,
    ];
    // A replica's losses are its contributions: the whole batch's are their sums.
    if let Some(s) = shard {
        s.comm.all_reduce_sum(&mut values)?;
    }
    for (name, v) in ["VTC", "VTM", "MLM"].into_iter().zip(values) {
        if !v.is_finite() {
            let clip = if cfg.clip_norm == 0.0 || cfg.clip_norm > 1.0 {
                "or --clip-norm 1".to_string()
            } else {
                format!("or a --clip-norm below {}", cfg.clip_norm)
            };
            bail!("the {name} loss is {v} at step {step}: stopping (try a lower --lr {clip})");
        }
    }
    Ok(values)
}

/// Save the run's checkpoint at `step` (model, AdamW moments, schedule and flags).
fn save_checkpoint(
    gpu: &Gpu,
    cfg: &TrainConfig,
    model_cfg: &ModelConfig,
    model: &LocoModel,
    optim: &AdamW,
    step: u64,
) -> Result<()> {
    let state = TrainingState {
        step,
        optimizer_step: optim.steps() as u64,
        seed: cfg.seed,
        data_position: step * cfg.batch as u64,
        schedule: schedule(cfg),
        extra: run_extra(cfg, model),
    };
    let ck = Checkpoint {
        config: CheckpointConfig {
            format_version: FORMAT_VERSION,
            model: model_cfg.clone(),
            state,
        },
        tensors: snapshot(gpu, model, Some(optim))?,
    };
    ck.save(&cfg.out.join(CHECKPOINT_DIR))
}

/// The progress bar's live numbers: only the objectives being trained (weight > 0).
fn trained_losses(
    w: &crate::model::config::LossWeights,
    losses: [f32; 3],
    clips_per_s: f64,
) -> String {
    let parts: Vec<String> = [("vtc", w.vtc), ("vtm", w.vtm), ("mlm", w.mlm)]
        .into_iter()
        .zip(losses)
        .filter(|((_, weight), _)| *weight > 0.0)
        .map(|((name, _), loss)| format!("{name} {loss:.3}"))
        .collect();
    format!("{} · {clips_per_s:.1} clips/s", parts.join(" "))
}
