//! The pre-training loop: online (or folder) batches → LocoModel losses → backward → AdamW,
//! with metrics JSONL, atomic checkpoints, resume, Ctrl-C and NaN/Inf stops.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;

pub use super::config::{CHECKPOINT_DIR, METRICS_FILE, TOKENIZER_FILE, TrainConfig};
use super::data::CaptionMix;
use super::metrics::MetricsLog;
pub use super::motion_options::generation;
use super::optim::AdamW;
use super::schedule::LrSchedule;
pub use super::setup::train_tokenizer;
use super::setup::{Source, Start};
pub use super::state::snapshot;
use super::state::{train_step, training_means};
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
    /// True when Ctrl-C or `stop_after` ended it early.
    pub interrupted: bool,
}

static STOP: AtomicBool = AtomicBool::new(false);

fn install_ctrlc() {
    // set_handler fails when already installed (a second run in one process): keep the first.
    let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst));
}

/// What a checkpoint records about the run beyond the model and schedule.
fn run_extra(cfg: &TrainConfig) -> serde_json::Map<String, serde_json::Value> {
    let mut extra = serde_json::Map::new();
    extra.insert("captions".into(), cfg.captions.clone().into());
    super::resume::store_flags(cfg, &mut extra);
    if let Some(dir) = &cfg.init_text {
        extra.insert("init_text".into(), dir.display().to_string().into());
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
    Ok(())
}

/// Run (or resume) pre-training as `cfg` says; returns where it stopped.
pub fn train(gpu: &Gpu, cfg: &TrainConfig) -> Result<TrainSummary> {
    check(cfg)?;
    std::fs::create_dir_all(&cfg.out)
        .with_context(|| format!("cannot create --out {}", cfg.out.display()))?;
    let Start {
        model_cfg,
        mut model,
        mut optim,
        tokenizer,
        mut step,
    } = super::setup::start(gpu, cfg)?;
    let sched = schedule(cfg);
    let mut source = Source::open(gpu, cfg, &model_cfg, tokenizer)?;
    let metrics = cfg.out.join(METRICS_FILE);
    if cfg.resume {
        // Steps logged after the checkpoint will be run (and logged) again.
        super::metrics::cut_after(&metrics, step)?;
    }
    let mut log = MetricsLog::open(&metrics, cfg.resume)?;
    let save = |model: &LocoModel, optim: &AdamW, step: u64| {
        save_checkpoint(gpu, cfg, &model_cfg, model, optim, step)
    };

    install_ctrlc();
    STOP.store(false, Ordering::SeqCst);
    let stage = if cfg.init_checkpoint.is_some() {
        "fine-tune"
    } else {
        "pre-train"
    };
    let bar = crate::util::progress::bar(cfg.progress, cfg.steps, stage, "steps");
    bar.set_position(step);
    let start = Instant::now();
    let (first, mut last, mut interrupted) = (step, None, false);
    while step < cfg.steps {
        let lr = sched.lr(step);
        let out = train_step(
            gpu,
            &model,
            &mut optim,
            source.batch(step)?,
            (cfg.seed, step),
            lr as f32,
        )?;
        step += 1;
        bar.set_position(step);
        if step % cfg.log_every == 0 || step == cfg.steps {
            let wall = start.elapsed().as_secs_f64().max(1e-9);
            let losses = read_losses(&out.losses, cfg, step)?;
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
            };
            bar.set_message(trained_losses(
                &model_cfg.loss_weights,
                [vtc, vtm, mlm],
                rec.clips_per_s,
            ));
            log.write(&rec)?;
            last = Some(rec);
        }
        if cfg.save_every > 0 && step % cfg.save_every == 0 && step < cfg.steps {
            save(&model, &optim, step)?;
        }
        if STOP.load(Ordering::SeqCst) || cfg.stop_after == Some(step) {
            interrupted = step < cfg.steps;
            break;
        }
    }
    if model.cfg.heads.center {
        let means = training_means(gpu, &model, |s| source.batch(s), cfg.steps.max(step))?;
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
    })
}

/// The step's VTC, VTM, MLM and total losses read back; a loss that is not finite stops the
/// run with a hint.
fn read_losses(losses: &Losses, cfg: &TrainConfig, step: u64) -> Result<[f32; 4]> {
    let read = |t: &crate::tensor::Tensor| -> Result<f32> { Ok(t.to_vec()?[0]) };
    let values = [
        read(&losses.vtc)?,
        read(&losses.vtm)?,
        read(&losses.mlm)?,
        read(&losses.total)?,
    ];
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
        extra: run_extra(cfg),
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
