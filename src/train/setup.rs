//! Where a training run starts: the model, tokenizer and optimizer from scratch, a resumed
//! run's checkpoint, a fine-tuning checkpoint, an imported BERT (`--init-text`) or vision
//! transformer (`--init-video`), and the
//! data stream (online clips or a `generate` folder).

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::config::{CHECKPOINT_DIR, TOKENIZER_FILE, TrainConfig};
use super::data::{
    AnnotatedSource, Batch, CaptionMix, FolderConfig, FolderSource, LibrarySplit, OnlineConfig,
    OnlineSource, TextPipeline, mix_seed,
};
use super::init_text::load_init_text;
use super::init_video::load_init_video;
use super::motion_options::generation;
use super::optim::AdamW;
use crate::caption::{CaptionKind, Lexicon, LexiconPart, Paraphraser, describe};
use crate::data::clips::ClipReader;
use crate::data::mlm::MlmConfig;
use crate::data::tokenizer::{TextTokenizer, Truncation};
use crate::gpu::Gpu;
use crate::model::checkpoint::{Checkpoint, WEIGHTS_FILE, adam_m_name, adam_v_name};
use crate::model::config::ModelConfig;
use crate::model::locomotion::LocoModel;
use crate::model::text::TextEncoder;
use crate::model::video::VideoEncoder;
use crate::motion::sample_clip;
use crate::tensor::ops::adamw;

/// A run ready for its first (or next) step.
pub struct Start {
    /// The model's configuration (the checkpoint's when resuming or fine-tuning).
    pub model_cfg: ModelConfig,
    /// The model.
    pub model: LocoModel,
    /// AdamW, with a resumed run's moments and step count.
    pub optim: AdamW,
    /// The tokenizer (saved in `--out`).
    pub tokenizer: TextTokenizer,
    /// Steps already done (0 unless resuming).
    pub step: u64,
}

/// Build the model, tokenizer and optimizer `cfg` asks for (its `--out` must exist). Only a
/// `writer` (the run's first replica) saves the tokenizer there.
pub fn start(gpu: &Gpu, cfg: &TrainConfig, writer: bool) -> Result<Start> {
    let ckpt_dir = cfg.out.join(CHECKPOINT_DIR);
    let resumed = if cfg.resume {
        // A save killed between its renames leaves the checkpoint beside its place.
        if !Checkpoint::recover(&ckpt_dir)? {
            bail!("--resume: no checkpoint in {}", ckpt_dir.display());
        }
        let c = Checkpoint::load(&ckpt_dir)?;
        super::resume::check_flags(cfg, &c.config).context("--resume")?;
        Some(c)
    } else {
        None
    };
    let init = match &cfg.init_checkpoint {
        Some(dir) => Some(
            Checkpoint::load_newest(dir)
                .with_context(|| format!("--checkpoint {}", dir.display()))?,
        ),
        None => None,
    };
    // A resumed run already holds the imported encoder in its checkpoint.
    let hf = match (&cfg.init_text, cfg.resume) {
        (Some(t), false) => Some(load_init_text(t, &cfg.model)?),
        _ => None,
    };
    let mut model_cfg = match (&resumed, &init, &hf) {
        (Some(c), _, _) => c.config.model.clone(),
        // Fine-tuning: the checkpoint's model with this run's objective (--weights).
        (None, Some(c), _) => ModelConfig {
            loss_weights: cfg.model.loss_weights,
            ..c.config.model.clone()
        },
        (None, None, Some((_, m, _))) => m.clone(),
        _ => cfg.model.clone(),
    };
    // A resumed run holds the imported video encoder in its checkpoint too.
    let video = match (&cfg.init_video, &resumed, &init) {
        (Some(v), None, None) => Some(load_init_video(v, &mut model_cfg)?),
        _ => None,
    };
    if let (Some(v), Some(i)) = (&video, &cfg.init_video)
        && writer
        && cfg.progress
    {
        eprintln!("{}", v.summary(i));
    }
    let tokenizer = tokenizer(cfg, &model_cfg, hf.as_ref().map(|(_, _, t)| t), writer)?;
    model_cfg.text.vocab_size = tokenizer.vocab_size();
    let mut model = match (&resumed, &init, hf) {
        (Some(c), _, _) | (None, Some(c), _) => {
            LocoModel::from_weights(gpu, &model_cfg, &c.tensors)?
        }
        (None, None, Some((bert, _, _))) => {
            let text = TextEncoder::from_hf(gpu, &bert)?;
            LocoModel::random(gpu, &model_cfg, cfg.seed, Some(text))?
        }
        _ => LocoModel::random(gpu, &model_cfg, cfg.seed, None)?,
    };
    if let Some(v) = video {
        model.replace_video(VideoEncoder::from_weights(gpu, &v.config, &v.weights)?)?;
    }
    let hyper = adamw::AdamWHyper {
        lr: cfg.lr as f32,
        weight_decay: cfg.weight_decay as f32,
        ..adamw::AdamWHyper::default()
    };
    if frozen_text(cfg, resumed.as_ref()) {
        model.freeze_text()?;
    }
    let mut optim = AdamW::new(
        gpu,
        model.trainable_parameters(),
        hyper,
        cfg.clip_norm as f32,
    )?;
    let step = match &resumed {
        Some(c) => restore_optimizer(&model, &mut optim, c, &ckpt_dir)?,
        None => 0,
    };
    Ok(Start {
        model_cfg,
        model,
        optim,
        tokenizer,
        step,
    })
}

/// The run's tokenizer: its own (resume), the imported model's, the initial checkpoint's, or
/// trained now; saved in `--out` unless it came from there.
fn tokenizer(
    cfg: &TrainConfig,
    model_cfg: &ModelConfig,
    imported: Option<&TextTokenizer>,
    writer: bool,
) -> Result<TextTokenizer> {
    let tok_path = cfg.out.join(TOKENIZER_FILE);
    let max_len = model_cfg.text.max_position_embeddings.min(64);
    if cfg.resume {
        return TextTokenizer::load(&tok_path, max_len);
    }
    let t = if let Some(t) = imported {
        t.clone()
    } else if let Some(dir) = &cfg.init_checkpoint {
        let src = dir.parent().unwrap_or(Path::new(".")).join(TOKENIZER_FILE);
        TextTokenizer::load(&src, max_len)
            .with_context(|| format!("the checkpoint's tokenizer {}", src.display()))?
    } else {
        train_tokenizer(&cfg.model, cfg.seed)?
    };
    if writer {
        t.save(&tok_path)?;
    }
    Ok(t)
}

/// Whether the run's text encoder is frozen: `--freeze-text`, or a resumed run whose
/// checkpoint says so (resume keeps it).
fn frozen_text(cfg: &TrainConfig, resumed: Option<&Checkpoint>) -> bool {
    let stored = resumed.is_some_and(|c| {
        c.config.state.extra.get(super::resume::FREEZE_TEXT) == Some(&true.into())
    });
    stored || cfg.init_text.as_ref().is_some_and(|t| t.freeze)
}

/// Load a resumed run's AdamW moments and step count (every tensor checked first); returns
/// the steps done.
fn restore_optimizer(
    model: &LocoModel,
    optim: &mut AdamW,
    c: &Checkpoint,
    ckpt_dir: &Path,
) -> Result<u64> {
    let shapes = |params: Vec<(String, crate::tensor::Tensor)>| -> Vec<_> {
        params
            .into_iter()
            .map(|(n, t)| (n, t.shape().dims().to_vec()))
            .collect()
    };
    let file = ckpt_dir.join(WEIGHTS_FILE);
    // A frozen text encoder has no moments: every parameter is checked, moments apart.
    let trainable = shapes(model.trainable_parameters());
    c.validate_for(&shapes(model.parameters()), false)
        .and_then(|()| c.check_moments(&trainable))
        .with_context(|| format!("--resume: {}", file.display()))?;
    for (name, shape) in &trainable {
        let (m, v) = (
            c.get(&adam_m_name(name), shape)?,
            c.get(&adam_v_name(name), shape)?,
        );
        optim.set_moments(name, &m.data, &v.data)?;
    }
    optim.set_steps(c.config.state.optimizer_step as u32);
    Ok(c.config.state.step)
}

/// The data stream: online clips or a generate folder, both deterministic by (seed, step).
pub enum Source {
    /// Clips composited as they are needed.
    Online(Box<OnlineSource>),
    /// A `generate` folder.
    Folder(Box<FolderSource>),
    /// Annotated real videos.
    Annotated(Box<AnnotatedSource>),
}

impl Source {
    /// Open the stream `cfg` asks for, its captions tokenized by `tokenizer`, clips of
    /// `model_cfg`'s shape.
    pub fn open(
        gpu: &Gpu,
        cfg: &TrainConfig,
        model_cfg: &ModelConfig,
        tokenizer: TextTokenizer,
    ) -> Result<Self> {
        let text = TextPipeline::new(
            tokenizer,
            CaptionMix::parse(&cfg.captions)?,
            MlmConfig::default(),
        );
        let g = cfg.motion.generation(model_cfg);
        if let Some(a) = &cfg.annotations {
            let cache = crate::data::clips::default_cache_dir();
            let reader = ClipReader::new(g.frames, g.height, g.width, cache);
            let src = AnnotatedSource::new(
                gpu,
                a.set.clone(),
                a.videos.clone(),
                reader,
                text,
                (cfg.seed, cfg.batch, cfg.fraction),
                a.skip_bad_videos,
                cfg.progress,
            )?;
            for s in &src.skipped {
                println!("skipped {}: {}", s.video, s.error);
            }
            return Ok(Source::Annotated(Box::new(src)));
        }
        Ok(match &cfg.data {
            None => {
                let split = cfg.motion.split(&g)?;
                let oc = OnlineConfig {
                    seed: cfg.seed,
                    batch_size: cfg.batch,
                    generation: g,
                    prefetch: true,
                    background_fade_steps: cfg.background_fade_steps,
                    group_size: cfg.group_size,
                };
                Source::Online(Box::new(OnlineSource::new(
                    gpu,
                    split.train_objects,
                    split.train_backgrounds,
                    text,
                    oc,
                )?))
            }
            Some(dir) => {
                let fc = FolderConfig {
                    seed: cfg.seed,
                    batch_size: cfg.batch,
                    fraction: cfg.fraction,
                    frames: g.frames,
                    height: g.height,
                    width: g.width,
                };
                Source::Folder(Box::new(FolderSource::open(gpu, dir, text, fc)?))
            }
        })
    }

    /// The batch of `step`.
    pub fn batch(&mut self, step: u64) -> Result<Batch> {
        match self {
            Source::Online(s) => s.batch(step),
            Source::Folder(s) => s.batch(step),
            Source::Annotated(s) => s.batch(step),
        }
    }

    /// Make only samples `range` of every batch (a data-parallel replica's share).
    pub fn set_shard(&mut self, range: Option<std::ops::Range<usize>>) {
        match self {
            Source::Online(s) => s.set_shard(range),
            Source::Folder(s) => s.set_shard(range),
            Source::Annotated(s) => s.set_shard(range),
        }
    }

    /// How many captions of the run's first batches (at least `n` captions, from `step` on)
    /// are longer than the text length: measured on the CPU before training, so the
    /// warning comes in the run's first lines.
    pub fn caption_truncation(&self, step: u64, n: usize) -> Result<Truncation> {
        match self {
            Source::Online(s) => {
                let b = s.config().batch_size.max(1);
                let mut t = Truncation::default();
                for k in 0..n.div_ceil(b) as u64 {
                    t.add(&s.host_batch(step + k)?.truncation);
                }
                Ok(t)
            }
            Source::Folder(s) => s.caption_truncation(n),
            Source::Annotated(s) => s.caption_truncation(n),
        }
    }

    /// Host time spent preparing online batches so far (0 for a folder).
    pub fn data_seconds(&self) -> f64 {
        match self {
            Source::Online(s) => s.data_time().as_secs_f64(),
            Source::Folder(_) | Source::Annotated(_) => 0.0,
        }
    }
}

/// Lexicon paraphrases per clip in the tokenizer's corpus.
const TOKENIZER_PARAPHRASES: usize = 3;

/// A WordPiece vocabulary trained on what pre-training captions can say: every caption kind
/// and lexicon paraphrases of clips from the training libraries, plus every phrase of the
/// lexicon's training part, so that no paraphrase word falls apart into letters (the
/// held-out part stays out: its words are new to the model, as they are meant to be).
pub fn train_tokenizer(cfg: &ModelConfig, seed: u64) -> Result<TextTokenizer> {
    let g = generation(cfg);
    let split = LibrarySplit::builtin(&g);
    let paraphraser = Paraphraser::default();
    let mut corpus = Vec::new();
    for i in 0..400 {
        let s = mix_seed(seed, i, 0x746f6b);
        let c = sample_clip(s, i, &g, &split.train_objects, &split.train_backgrounds);
        for k in CaptionKind::ALL {
            corpus.push(describe(&c, k));
        }
        corpus.extend(paraphraser.paraphrase(&c, TOKENIZER_PARAPHRASES, s));
    }
    let training = Lexicon::builtin().part(LexiconPart::Training);
    corpus.extend(training.phrases().into_iter().map(|(p, _)| p));
    corpus.extend(
        training
            .category_verbs
            .values()
            .chain([
                &training.generic_verbs,
                &training.rotation_verbs,
                &training.curve_verbs,
            ])
            .flatten()
            .flat_map(|v| [v.third.clone(), v.gerund.clone()]),
    );
    let max_len = cfg.text.max_position_embeddings.min(64);
    TextTokenizer::train(&corpus, cfg.text.vocab_size, max_len, false)
}
