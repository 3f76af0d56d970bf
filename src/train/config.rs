//! What a training run is asked to do ([`TrainConfig`]) and where it writes, shared by the
//! trainer, its setup and the resume checks.

use std::path::PathBuf;

use super::motion_options::MotionOptions;
use crate::model::config::ModelConfig;

/// The checkpoint folder inside `--out`.
pub const CHECKPOINT_DIR: &str = "checkpoint";
/// The tokenizer file inside `--out` (trained on captions when there is no `--init-text`).
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// The metrics log inside `--out`.
pub const METRICS_FILE: &str = "metrics.jsonl";

/// Everything a pre-training (or fine-tuning) run needs.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// The model's configuration (a preset).
    pub model: ModelConfig,
    /// Total optimizer steps.
    pub steps: u64,
    /// Pairs per batch.
    pub batch: usize,
    /// Run each batch in this many micro-batches (`--accumulate`, GradCache: the losses
    /// stay the whole batch's, activation memory is one micro-batch's; 1: all at once).
    pub accumulate: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f64,
    /// Linear warm-up steps before the cosine decay.
    pub warmup: u64,
    /// Global gradient-norm clip (0: no clipping).
    pub clip_norm: f64,
    /// The caption mixture (`--captions`).
    pub captions: String,
    /// The seed every random choice flows from.
    pub seed: u64,
    /// A `generate` folder instead of online clips.
    pub data: Option<PathBuf>,
    /// Train on annotated real videos instead (`finetune --annotations`); `fraction` applies.
    pub annotations: Option<super::data::AnnotationData>,
    /// The share of the folder's clips to use.
    pub fraction: f64,
    /// Start from this checkpoint's weights with a fresh optimizer (fine-tuning).
    pub init_checkpoint: Option<PathBuf>,
    /// A Hugging Face BERT folder (`--init-text`): its config, weights and tokenizer become
    /// the text encoder's; the preset's video encoder, cross encoder and heads stay. It may
    /// be cut to its first layers (`--text-layers`) and frozen (`--freeze-text`).
    pub init_text: Option<super::init_text::InitText>,
    /// A Hugging Face ViT or CLIP vision folder (`--init-video`): its shape and weights become
    /// the video encoder's (the preset keeps the frames and tubelet depth).
    pub init_video: Option<super::init_video::InitVideo>,
    /// Where checkpoints, metrics and the tokenizer go.
    pub out: PathBuf,
    /// Save a checkpoint every N steps (0: only at the end).
    pub save_every: u64,
    /// Read and log the losses every N steps.
    pub log_every: u64,
    /// Continue the run in `out`.
    pub resume: bool,
    /// Stop (with a checkpoint) after this many steps, as an interruption would.
    pub stop_after: Option<u64>,
    /// Show a progress bar.
    pub progress: bool,
    /// Online clips: fade the backgrounds in over the first N steps (see
    /// [`OnlineConfig::background_fade_steps`]; 0: full backgrounds from the start).
    pub background_fade_steps: u64,
    /// How online clips are made (backgrounds, curved paths); unused with `data`.
    pub motion: MotionOptions,
    /// Online clips: clips per motion group (1: independent clips; see
    /// [`OnlineConfig::group_size`]).
    pub group_size: usize,
    /// Train even when more than [`MAX_TRUNCATED_SHARE`] of the captions are longer than
    /// the text length and lose their end (`--allow-truncated-captions`).
    pub allow_truncated_captions: bool,
}

/// The share of captions longer than the model's text length above which a run is refused
/// unless [`TrainConfig::allow_truncated_captions`]: the cut end of a motion caption is
/// often its last segment's direction and rotation.
pub const MAX_TRUNCATED_SHARE: f64 = 0.05;

/// Captions sampled from a run's first batches (or its folder's first clips) to count the
/// cut ones before it trains.
pub const CAPTION_SAMPLE: usize = 256;
