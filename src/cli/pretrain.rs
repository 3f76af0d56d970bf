//! `locomotion pretrain` and `locomotion finetune`: flags → [`TrainConfig`] → the trainer.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use super::launch::{Launch, adapters, launch, run_training};
use crate::gpu::AdapterRequest;
use crate::model::config::ModelConfig;
use crate::model::hf_vit::Inflate;
use crate::train::config::TrainConfig;
use crate::train::init_text::InitText;
use crate::train::init_video::InitVideo;
use crate::train::recipe;
use crate::util::run_lock::RunLock;

/// Flags shared by pretrain and finetune.
#[derive(Debug, Clone, Args)]
pub struct TrainConfigArgs {
    /// Model preset: tiny, small or base (default tiny). Fine-tuning and resuming keep the
    /// checkpoint's model: a --preset that differs is refused.
    #[arg(long)]
    pub preset: Option<String>,
    /// Total optimizer steps.
    #[arg(long, default_value_t = recipe::STEPS)]
    pub steps: u64,
    /// Video-caption pairs per batch.
    #[arg(long, default_value_t = recipe::BATCH)]
    pub batch: usize,
    /// Run each batch in N micro-batches (GradCache): VTC, VTM's negatives and MLM's mean
    /// stay the whole batch's, activation memory is about one micro-batch's; the encoders
    /// run twice. From 1 (all at once) to --batch.
    #[arg(long, default_value_t = 1)]
    pub accumulate: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = recipe::LR)]
    pub lr: f64,
    /// AdamW weight decay.
    #[arg(long, default_value_t = recipe::WEIGHT_DECAY)]
    pub weight_decay: f64,
    /// Linear warm-up steps.
    #[arg(long, default_value_t = recipe::WARMUP)]
    pub warmup: u64,
    /// Clip the global gradient norm to this (0: no clipping).
    #[arg(long, default_value_t = recipe::CLIP_NORM)]
    pub clip_norm: f64,
    /// Captions: motion, spatial, template, paraphrase or a mixture like motion:0.5,paraphrase:0.5.
    #[arg(long, default_value = recipe::CAPTIONS)]
    pub captions: String,
    /// The seed every random choice flows from.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Train on a `generate` folder instead of fresh online clips.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Online clips: paste onto these backgrounds: procedural (the built-in scenes), black,
    /// or a path (video files through ffmpeg, GIFs, frame folders, or a folder of them, as
    /// `generate --backgrounds`), decoded once and kept on the GPU. Evaluation keeps the
    /// built-in held-out scenes.
    #[arg(long, value_name = "procedural|black|PATH")]
    pub backgrounds: Option<String>,
    /// Online clips: paste these RGBA PNG objects (as `generate --objects-dir`) instead of
    /// the built-in training shapes. Evaluation keeps the built-in held-out objects.
    #[arg(long, value_name = "DIR")]
    pub objects_dir: Option<PathBuf>,
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
    #[arg(long, default_value = recipe::WEIGHTS)]
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
    /// Online clips: build each batch from motion groups of G clips that share object and
    /// background and differ only in motion, so only motion tells a group apart (1: every
    /// clip independent). Must divide --batch. Default: the recipe's 2 when it divides
    /// --batch, else 1.
    #[arg(long, value_name = "G")]
    pub group_size: Option<usize>,
    /// Data-parallel training, one model replica per device: N devices on the chosen adapter
    /// (several on one adapter work), a list of adapters by index in `locomotion info` or by
    /// name (0,1 or nvidia,amd), or all GPU adapters. --batch is the global batch, split
    /// evenly (first devices take the remainder); the losses are those of one device with
    /// the same --batch.
    #[arg(long, value_name = "N|LIST|all", default_value = "1")]
    pub devices: String,
    /// Split --batch among the --devices in proportion to these weights (e.g. 3,1 for a card
    /// three times as fast as the other); every device gets at least one clip.
    #[arg(long, value_name = "W,W,..")]
    pub device_weights: Option<String>,
    /// Data-parallel over processes: mpi runs one replica per rank under `mpirun -np N` (or
    /// srun), rank 0 writing; needs a build with `--features mpi`. Every rank on a machine
    /// with several GPUs takes the one its local rank names (unless --adapter says which);
    /// with --devices, every rank runs a replica on each of the devices it names.
    #[arg(long, value_name = "none|mpi", default_value = "none")]
    pub distributed: String,
    /// Train even when many captions are longer than the model's text length (their ends,
    /// often the last segment's direction, are cut). Without it a run where more than 5 % of
    /// the captions sampled before training are cut is refused.
    #[arg(long)]
    pub allow_truncated_captions: bool,
}

/// `locomotion pretrain` flags.
#[derive(Debug, Clone, Args)]
pub struct PretrainArgs {
    #[command(flatten)]
    /// The training flags.
    pub train: TrainConfigArgs,
    /// Initialise the text encoder from a Hugging Face BERT folder (config.json,
    /// model.safetensors, tokenizer.json); its tokenizer becomes the run's.
    #[arg(long, value_name = "DIR")]
    pub init_text: Option<PathBuf>,
    /// With --init-text: train no part of the imported text encoder (embeddings and layers
    /// get no gradient and no optimizer state; VTC's text projection and the cross encoder
    /// still train). Needs an MLM weight of 0 (e.g. --weights 1,1,0). A resumed run keeps it.
    #[arg(long)]
    pub freeze_text: bool,
    /// With --init-text: keep only the first K transformer layers of the imported model.
    #[arg(long, value_name = "K")]
    pub text_layers: Option<usize>,
    /// Initialise the video encoder from a Hugging Face ViT or CLIP vision folder
    /// (config.json, model.safetensors): its width, layers, heads, MLP, patch and image
    /// size, eps and activation replace the preset's; the preset keeps frames and tubelet
    /// depth. See docs/training.md.
    #[arg(long, value_name = "DIR")]
    pub init_video: Option<PathBuf>,
    /// With --init-video: how the 2-D patch kernel becomes the tubelet kernel: central
    /// (ViViT: the tubelet's middle frame gets it, the others zero; default) or average
    /// (divided evenly over the frames).
    #[arg(long, value_name = "central|average")]
    pub init_video_inflate: Option<String>,
    /// With --init-video: frame side in pixels (default the checkpoint's image size); the
    /// position embeddings are resized bicubically, as Hugging Face's
    /// interpolate_pos_encoding does.
    #[arg(long, value_name = "N")]
    pub init_video_size: Option<usize>,
    /// The model from a JSON file instead of --preset: a model config (a preset's fields:
    /// video, text, cross, heads, loss_weights) or a checkpoint's config.json, whose "model"
    /// is taken. Validated before anything runs (an error names the field); --weights
    /// replaces its loss weights.
    #[arg(long, value_name = "FILE", conflicts_with = "preset")]
    pub config: Option<PathBuf>,
}

/// The model config in `path`: a bare model config or a checkpoint's config.json.
fn model_config_file(path: &std::path::Path) -> Result<ModelConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--config: cannot read {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("--config {} is not JSON", path.display()))?;
    let model = match value.get("model") {
        Some(m) => m.to_string(),
        None => text,
    };
    ModelConfig::from_json(&model).with_context(|| format!("--config {}", path.display()))
}

/// `locomotion finetune` flags.
#[derive(Debug, Clone, Args)]
pub struct FinetuneArgs {
    /// The pre-trained run (its --out) or its checkpoint/ folder.
    #[arg(long, value_name = "DIR")]
    pub checkpoint: PathBuf,
    #[command(flatten)]
    /// The training flags.
    pub train: TrainConfigArgs,
    /// Fine-tune on annotated real videos instead (--annotations, --videos, ...): see
    /// docs/data.md.
    #[command(flatten)]
    pub real: super::annotated::AnnotationArgs,
}

impl TrainConfigArgs {
    /// The trainer's configuration.
    pub fn config(&self, init: Option<PathBuf>) -> Result<TrainConfig> {
        let preset = self.preset.as_deref().unwrap_or(recipe::PRESET);
        let mut model = ModelConfig::preset(preset).context("--preset")?;
        let w: Vec<f64> = self
            .weights
            .split(',')
            .map(|x| x.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .ok()
            .filter(|w: &Vec<f64>| {
                w.len() == 3 && w.iter().all(|x| x.is_finite() && (0.0..=1e6).contains(x))
            })
            .with_context(|| {
                format!(
                    "--weights {:?}: give three weights VTC,VTM,MLM, each 0 to 1e6",
                    self.weights
                )
            })?;
        if w.iter().all(|&x| x == 0.0) {
            bail!(
                "--weights {}: every loss weight is 0, so nothing would be trained: give at least one above 0",
                self.weights
            );
        }
        for (flag, v, lo, hi) in [
            ("--lr", self.lr, 0.0, 1.0),
            ("--weight-decay", self.weight_decay, 0.0, 1.0),
            ("--clip-norm", self.clip_norm, 0.0, 1e6),
            ("--fraction", self.fraction, 0.0, 1.0),
        ] {
            if !(v.is_finite() && (lo..=hi).contains(&v)) {
                bail!("{flag} must be a number from {lo} to {hi}, got {v}");
            }
        }
        (
            model.loss_weights.vtc,
            model.loss_weights.vtm,
            model.loss_weights.mlm,
        ) = (w[0], w[1], w[2]);
        if self.data.is_some() && (self.backgrounds.is_some() || self.objects_dir.is_some()) {
            bail!("--backgrounds and --objects-dir are for online clips; --data brings its own");
        }
        let motion = crate::train::motion_options::MotionOptions {
            backgrounds: match &self.backgrounds {
                Some(b) => crate::train::motion_options::BackgroundChoice::parse(b)?,
                None => Default::default(),
            },
            nonlinear: false,
            objects: self.objects_dir.clone(),
        };
        let from_scratch = init.is_none() && self.data.is_none();
        Ok(TrainConfig {
            model,
            steps: self.steps,
            batch: self.batch,
            accumulate: self.accumulate,
            lr: self.lr,
            weight_decay: self.weight_decay,
            warmup: self.warmup,
            clip_norm: self.clip_norm,
            captions: self.captions.clone(),
            seed: self.seed,
            data: self.data.clone(),
            fraction: self.fraction,
            annotations: None,
            init_checkpoint: init,
            init_text: None,
            init_video: None,
            out: self.out.clone(),
            save_every: self.save_every,
            log_every: self.log_every,
            resume: self.resume,
            stop_after: self.stop_after,
            progress: !self.quiet,
            background_fade_steps: self.background_fade.unwrap_or(if from_scratch {
                recipe::background_fade(self.steps)
            } else {
                0
            }),
            motion,
            group_size: self.group_size.unwrap_or(recipe::group_size(self.batch)),
            allow_truncated_captions: self.allow_truncated_captions,
        })
    }
}

fn report(launch: Launch, cfg: &TrainConfig, preset: &str) -> Result<()> {
    let gpus = &launch.gpus;
    let writer = launch.writer();
    // One run per --out: a second is refused before it touches the first one's files.
    let lock = match writer {
        true => Some(RunLock::acquire(&cfg.out, "--out")?),
        false => None,
    };
    if cfg.progress && writer {
        let w = &cfg.model.loss_weights;
        let stage = if cfg.init_checkpoint.is_some() {
            "fine-tune"
        } else {
            "pre-train"
        };
        let data = match (&cfg.data, &cfg.annotations) {
            (_, Some(a)) => format!("{} ({} pairs)", a.file.display(), a.set.pairs.len()),
            (Some(d), None) => d.display().to_string(),
            (None, None) => format!("online ({} captions)", cfg.captions),
        };
        // Fine-tuning takes the model from the checkpoint; --weights sets its objective.
        let objectives = crate::util::progress::objectives(w.vtc, w.vtm, w.mlm);
        let preset = match &cfg.init_checkpoint {
            Some(_) => "the checkpoint's".to_string(),
            None => preset.to_string(),
        };
        let adapter = match &launch.comm {
            Some(c) => format!("{} on rank 0 of {} MPI ranks", adapters(gpus), c.size()),
            None => adapters(gpus),
        };
        crate::util::progress::print_settings(
            stage,
            &[
                ("preset", preset),
                ("steps", cfg.steps.to_string()),
                ("batch", cfg.batch.to_string()),
                ("group size", cfg.group_size.to_string()),
                ("lr", format!("{} (warm-up {})", cfg.lr, cfg.warmup)),
                ("objectives", objectives),
                ("data", data),
                ("seed", cfg.seed.to_string()),
                ("adapter", adapter),
                ("out", cfg.out.display().to_string()),
            ],
        );
    }
    let s = match run_training(&launch, cfg) {
        Ok(s) => s,
        Err(e) => {
            drop(lock);
            if writer {
                remove_failed_output(cfg);
            }
            return Err(e);
        }
    };
    if !writer {
        return Ok(());
    }
    let how = if s.interrupted { "stopped" } else { "finished" };
    let replicas = gpus.len() * launch.comm.as_ref().map_or(1, |c| c.size());
    if replicas > 1 {
        println!(
            "gradient all-reduce across {replicas} replicas: {:.1} % of the wall time",
            100.0 * s.allreduce_share
        );
    }
    println!(
        "{how} at step {} ({:.2} clips/s, pool peak {:.1} MiB); checkpoint in {}",
        s.step,
        s.clips_per_s,
        s.peak_bytes as f64 / (1 << 20) as f64,
        cfg.out.join(crate::train::config::CHECKPOINT_DIR).display()
    );
    let c = &s.text_cache;
    if c.misses > 0 {
        println!(
            "frozen text encoder: {} captions encoded, {} read from its cache",
            c.misses, c.hits
        );
    }
    let t = &s.truncation;
    if t.truncated > 0 {
        println!(
            "{} of the {} captions trained on ({:.1} %) were cut to the {} tokens the model reads",
            t.truncated,
            t.texts,
            100.0 * t.share(),
            t.max_len
        );
    }
    Ok(())
}

/// A new run that failed before its first checkpoint leaves nothing of its own: the
/// tokenizer and metrics it wrote go, and --out too when that leaves it empty. A resumed
/// run, or one with a checkpoint, keeps everything.
fn remove_failed_output(cfg: &TrainConfig) {
    use crate::train::config::{CHECKPOINT_DIR, METRICS_FILE, TOKENIZER_FILE};
    if cfg.resume || cfg.out.join(CHECKPOINT_DIR).exists() {
        return;
    }
    for f in [TOKENIZER_FILE, METRICS_FILE] {
        let _ = std::fs::remove_file(cfg.out.join(f));
    }
    let _ = std::fs::remove_dir(&cfg.out);
}

/// `--init-text` with `--freeze-text` and `--text-layers`, which need it.
fn init_text(args: &PretrainArgs) -> Result<Option<InitText>> {
    let Some(dir) = &args.init_text else {
        for (given, flag) in [
            (args.freeze_text, "--freeze-text"),
            (args.text_layers.is_some(), "--text-layers"),
        ] {
            if given {
                bail!("{flag} applies to an imported text encoder: give --init-text DIR too");
            }
        }
        return Ok(None);
    };
    Ok(Some(InitText {
        dir: dir.clone(),
        freeze: args.freeze_text,
        layers: args.text_layers,
    }))
}

/// `--init-video` with `--init-video-inflate` and `--init-video-size`, which need it.
fn init_video(args: &PretrainArgs) -> Result<Option<InitVideo>> {
    let Some(dir) = &args.init_video else {
        for (given, flag) in [
            (args.init_video_inflate.is_some(), "--init-video-inflate"),
            (args.init_video_size.is_some(), "--init-video-size"),
        ] {
            if given {
                bail!("{flag} applies to an imported video encoder: give --init-video DIR too");
            }
        }
        return Ok(None);
    };
    let inflate = match &args.init_video_inflate {
        Some(s) => Inflate::parse(s)?,
        None => Inflate::Central,
    };
    if args.init_video_size == Some(0) {
        bail!("--init-video-size must be at least 1");
    }
    Ok(Some(InitVideo {
        dir: dir.clone(),
        inflate,
        size: args.init_video_size,
    }))
}

/// Run `pretrain`.
pub fn run_pretrain(req: &AdapterRequest, args: &PretrainArgs) -> Result<()> {
    let mut cfg = args.train.config(None)?;
    cfg.init_text = init_text(args)?;
    cfg.init_video = init_video(args)?;
    let preset = match &args.config {
        Some(path) => {
            let weights = cfg.model.loss_weights;
            cfg.model = model_config_file(path)?;
            cfg.model.loss_weights = weights;
            path.display().to_string()
        }
        None => args
            .train
            .preset
            .as_deref()
            .unwrap_or(recipe::PRESET)
            .into(),
    };
    report(launch(req, &args.train)?, &cfg, &preset)
}

/// Run `finetune`: the checkpoint's weights, a fresh optimizer and schedule.
pub fn run_finetune(req: &AdapterRequest, args: &FinetuneArgs) -> Result<()> {
    let (ckpt, _) = crate::eval::retrieval::checkpoint_dirs(&args.checkpoint);
    let mut cfg = args.train.config(Some(ckpt.clone()))?;
    cfg.annotations = super::annotated::training_data(&args.real, &args.train)?;
    // Fine-tuning continues the checkpoint's model: a --preset naming another is refused
    // rather than ignored (--weights is honoured: it sets the fine-tuning objective).
    if let Some(p) = &args.train.preset {
        let stored = crate::model::checkpoint::Checkpoint::locate(&ckpt)
            .and_then(|dir| crate::model::checkpoint::Checkpoint::read_config(&dir))
            .context("--checkpoint")?;
        let mut arch = cfg.model.clone();
        arch.loss_weights = stored.model.loss_weights;
        arch.text.vocab_size = stored.model.text.vocab_size;
        if arch.video != stored.model.video
            || arch.cross != stored.model.cross
            || arch.heads != stored.model.heads
        {
            bail!(
                "--preset {p} is not the model in {}: fine-tuning keeps the checkpoint's model, so drop --preset",
                ckpt.display()
            );
        }
    }
    let preset = args.train.preset.as_deref().unwrap_or(recipe::PRESET);
    report(launch(req, &args.train)?, &cfg, preset)
}
