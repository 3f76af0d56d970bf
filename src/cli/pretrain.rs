//! `locomotion pretrain` and `locomotion finetune`: flags → [`TrainConfig`] → the trainer.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::gpu::{AdapterRequest, Gpu};
use crate::model::config::ModelConfig;
use crate::train::trainer::{TrainConfig, train};

/// Flags shared by pretrain and finetune.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// Model preset: tiny, small or base.
    #[arg(long, default_value = "tiny")]
    pub preset: String,
    /// Total optimizer steps.
    #[arg(long, default_value_t = 1000)]
    pub steps: u64,
    /// Video-caption pairs per batch.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,
    /// AdamW weight decay.
    #[arg(long, default_value_t = 0.02)]
    pub weight_decay: f64,
    /// Linear warm-up steps.
    #[arg(long, default_value_t = 0)]
    pub warmup: u64,
    /// Clip the global gradient norm to this (0: no clipping).
    #[arg(long, default_value_t = 1.0)]
    pub clip_norm: f64,
    /// Captions: motion, spatial, template, paraphrase or a mixture like motion:0.5,paraphrase:0.5.
    #[arg(long, default_value = "motion")]
    pub captions: String,
    /// The seed every random choice flows from.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Train on a `generate` folder instead of fresh online clips.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The share of the folder's clips to use.
    #[arg(long, default_value_t = 1.0)]
    pub fraction: f64,
    /// Output folder: checkpoint/, tokenizer.json, metrics.jsonl.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Save a checkpoint every N steps (0: only at the end).
    #[arg(long, default_value_t = 0)]
    pub save_every: u64,
    /// Read and log the losses every N steps.
    #[arg(long, default_value_t = 10)]
    pub log_every: u64,
    /// Continue the run in --out with the same schedule and data order.
    #[arg(long)]
    pub resume: bool,
    /// Stop after this many steps, saving a checkpoint, as an interruption would (for tests).
    #[arg(long, hide = true)]
    pub stop_after: Option<u64>,
    /// Loss weights VTC,VTM,MLM.
    #[arg(long, default_value = "1,1,1")]
    pub weights: String,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Online clips: fade the backgrounds in from black over the first N steps, so a model
    /// trained from scratch meets the objects before the clutter motion captions never name
    /// (0: full backgrounds from the start). Default: half of --steps when pre-training from
    /// scratch on online clips, 0 otherwise.
    #[arg(long, value_name = "STEPS")]
    pub background_fade: Option<u64>,
}

/// `locomotion pretrain` flags.
#[derive(Debug, Clone, Args)]
pub struct PretrainArgs {
    #[command(flatten)]
    /// The training flags.
    pub train: TrainArgs,
    /// Initialise the text encoder from a Hugging Face BERT folder (config.json,
    /// model.safetensors, tokenizer.json); its tokenizer becomes the run's.
    #[arg(long, value_name = "DIR")]
    pub init_text: Option<PathBuf>,
}

/// `locomotion finetune` flags.
#[derive(Debug, Clone, Args)]
pub struct FinetuneArgs {
    /// The pre-trained run (its --out) or its checkpoint/ folder.
    #[arg(long, value_name = "DIR")]
    pub checkpoint: PathBuf,
    #[command(flatten)]
    /// The training flags.
    pub train: TrainArgs,
}

impl TrainArgs {
    /// The trainer's configuration.
    pub fn config(&self, init: Option<PathBuf>) -> Result<TrainConfig> {
        let mut model = ModelConfig::preset(&self.preset).context("--preset")?;
        let w: Vec<f64> = self
            .weights
            .split(',')
            .map(|x| x.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .ok()
            .filter(|w: &Vec<f64>| w.len() == 3 && w.iter().all(|x| x.is_finite() && *x >= 0.0))
            .with_context(|| {
                format!(
                    "--weights {:?}: give three weights VTC,VTM,MLM, each 0 or more",
                    self.weights
                )
            })?;
        (
            model.loss_weights.vtc,
            model.loss_weights.vtm,
            model.loss_weights.mlm,
        ) = (w[0], w[1], w[2]);
        let from_scratch = init.is_none() && self.data.is_none();
        Ok(TrainConfig {
            model,
            steps: self.steps,
            batch: self.batch,
            lr: self.lr,
            weight_decay: self.weight_decay,
            warmup: self.warmup,
            clip_norm: self.clip_norm,
            captions: self.captions.clone(),
            seed: self.seed,
            data: self.data.clone(),
            fraction: self.fraction,
            init_checkpoint: init,
            init_text: None,
            out: self.out.clone(),
            save_every: self.save_every,
            log_every: self.log_every,
            resume: self.resume,
            stop_after: self.stop_after,
            progress: !self.quiet,
            background_fade_steps: self.background_fade.unwrap_or(if from_scratch {
                self.steps / 2
            } else {
                0
            }),
            motion: Default::default(),
        })
    }
}

fn report(gpu: &Gpu, cfg: &TrainConfig, preset: &str) -> Result<()> {
    if cfg.progress {
        let w = &cfg.model.loss_weights;
        let stage = if cfg.init_checkpoint.is_some() {
            "fine-tune"
        } else {
            "pre-train"
        };
        let data = cfg.data.as_ref().map_or_else(
            || format!("online ({} captions)", cfg.captions),
            |d| d.display().to_string(),
        );
        // Fine-tuning takes the model and its loss weights from the checkpoint.
        let (preset, objectives) = match &cfg.init_checkpoint {
            Some(_) => (
                "the checkpoint's".to_string(),
                "the checkpoint's".to_string(),
            ),
            None => (
                preset.to_string(),
                crate::util::progress::objectives(w.vtc, w.vtm, w.mlm),
            ),
        };
        crate::util::progress::print_settings(
            stage,
            &[
                ("preset", preset),
                ("steps", cfg.steps.to_string()),
                ("batch", cfg.batch.to_string()),
                ("lr", format!("{} (warm-up {})", cfg.lr, cfg.warmup)),
                ("objectives", objectives),
                ("data", data),
                ("seed", cfg.seed.to_string()),
                ("adapter", gpu.summary.name.clone()),
                ("out", cfg.out.display().to_string()),
            ],
        );
    }
    let s = train(gpu, cfg)?;
    let how = if s.interrupted { "stopped" } else { "finished" };
    println!(
        "{how} at step {} ({:.2} clips/s, pool peak {:.1} MiB); checkpoint in {}",
        s.step,
        s.clips_per_s,
        s.peak_bytes as f64 / (1 << 20) as f64,
        cfg.out
            .join(crate::train::trainer::CHECKPOINT_DIR)
            .display()
    );
    Ok(())
}

/// Run `pretrain`.
pub fn run_pretrain(req: &AdapterRequest, args: &PretrainArgs) -> Result<()> {
    let mut cfg = args.train.config(None)?;
    cfg.init_text = args.init_text.clone();
    report(&Gpu::new(req)?, &cfg, &args.train.preset)
}

/// Run `finetune`: the checkpoint's weights, a fresh optimizer and schedule.
pub fn run_finetune(req: &AdapterRequest, args: &FinetuneArgs) -> Result<()> {
    let (ckpt, _) = crate::train::eval::checkpoint_dirs(&args.checkpoint);
    let cfg = args.train.config(Some(ckpt))?;
    report(&Gpu::new(req)?, &cfg, &args.train.preset)
}
