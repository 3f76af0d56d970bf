//! `locomotion probe motion`: can the video encoder see the motion? A supervised probe of
//! direction, speed and rotation, the sampler's travel statistics and what a contrastive
//! batch asks for (see [`crate::eval::probe`]).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use crate::eval::probe::{ProbeConfig, batch_appearance_stats, input_stats, probe_motion};
use crate::gpu::{AdapterRequest, Gpu};
use crate::model::config::ModelConfig;
use crate::train::motion_options::generation;

/// The probes.
#[derive(Debug, Subcommand)]
pub enum ProbeCommand {
    /// Train the video encoder to classify the first segment's direction, speed and
    /// rotation, and the object's colour as the appearance control; report held-out
    /// accuracy beside chance.
    Motion(ProbeArgs),
}

/// `probe motion` flags.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Model preset whose video encoder is probed.
    #[arg(long, default_value = "tiny")]
    pub preset: String,
    /// Frames per clip (default: the preset's).
    #[arg(long)]
    pub frames: Option<usize>,
    /// Tubelet as TxHxW (default: the preset's, 2x8x8 for tiny).
    #[arg(long, value_name = "TxHxW")]
    pub tubelet: Option<String>,
    /// Feed frames after the first as differences from the previous frame (see the
    /// config's video.frame_differences); default: the preset's.
    #[arg(long)]
    pub frame_differences: Option<bool>,
    /// Every moving segment travels at least this many pixels (0: the paper's speeds only).
    #[arg(long, default_value_t = 3.0, value_name = "PX")]
    pub min_travel: f32,
    /// Shortest segment in frames (0: half the frames, at least 2 and at most 4, so an
    /// 8-frame clip holds one segment and a 16-frame clip up to three).
    #[arg(long, default_value_t = 0, value_name = "FRAMES")]
    pub min_segment_frames: u32,
    /// Optimizer steps.
    #[arg(long, default_value_t = 300)]
    pub steps: u64,
    /// Clips per batch.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Backgrounds fade in from black over this many steps (default: half of --steps).
    #[arg(long, value_name = "STEPS")]
    pub background_fade: Option<u64>,
    /// Seed of the encoder and the training clips.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Held-out clips evaluated.
    #[arg(long, default_value_t = 256)]
    pub eval_clips: usize,
    /// Also write the results as JSON here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

fn parse_tubelet(s: &str) -> Result<[usize; 3]> {
    let v: Vec<usize> = s
        .split(['x', 'X'])
        .map(|p| p.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .ok()
        .filter(|v: &Vec<usize>| v.len() == 3)
        .with_context(|| format!("--tubelet {s:?} is not TxHxW (e.g. 1x8x8)"))?;
    Ok([v[0], v[1], v[2]])
}

impl ProbeArgs {
    /// The probe's configuration.
    pub fn config(&self) -> Result<ProbeConfig> {
        let mut model = ModelConfig::preset(&self.preset).context("--preset")?;
        if let Some(f) = self.frames {
            model.video.frames = f;
        }
        if let Some(t) = &self.tubelet {
            model.video.tubelet = parse_tubelet(t)?;
        }
        if let Some(d) = self.frame_differences {
            model.video.frame_differences = d;
        }
        model.video.validate().context("--frames / --tubelet")?;
        let generation = crate::motion::GenConfig {
            min_travel_px: self.min_travel,
            min_segment_frames: self.min_segment_frames,
            ..generation(&model)
        };
        generation.validate()?;
        Ok(ProbeConfig {
            video: model.video,
            generation,
            steps: self.steps,
            batch: self.batch,
            lr: self.lr,
            background_fade: self.background_fade.unwrap_or(self.steps / 2),
            seed: self.seed,
            eval_clips: self.eval_clips,
        })
    }
}

/// Run a probe.
pub fn run(req: &AdapterRequest, cmd: &ProbeCommand) -> Result<()> {
    let ProbeCommand::Motion(args) = cmd;
    let cfg = args.config()?;
    let g = &cfg.generation;
    let input = input_stats(g, 300, cfg.seed);
    let random = batch_appearance_stats(g, cfg.batch, 1, 50, cfg.seed);
    let grouped = batch_appearance_stats(g, cfg.batch, 4.min(cfg.batch), 50, cfg.seed);
    let gpu = Gpu::new(req)?;
    eprintln!(
        "probe motion: {} frames of {}x{}, tubelet {:?}, frame differences {}, {} steps at batch {}, lr {}, on {}",
        g.frames,
        g.width,
        g.height,
        cfg.video.tubelet,
        cfg.video.frame_differences,
        cfg.steps,
        cfg.batch,
        cfg.lr,
        gpu.summary.name
    );
    let result = probe_motion(&gpu, &cfg, !args.quiet)?;
    println!(
        "input (300 clips): {:.1} % of moving segments travel under 2 px; median travel slow {:.1} / medium {:.1} / fast {:.1} px; {:.1} % of segments move under 2 px and turn under 10°",
        input.under_2px,
        input.median_px[0],
        input.median_px[1],
        input.median_px[2],
        input.invisible
    );
    println!(
        "contrastive batch of {}: random clips share appearance in {:.1} % of pairs (appearance alone: in-batch top-1 {:.1} %); groups of 4: {:.1} % ({:.1} %)",
        cfg.batch,
        random.same_appearance_pairs,
        random.appearance_only_top1,
        grouped.same_appearance_pairs,
        grouped.appearance_only_top1
    );
    println!(
        "held-out first-segment accuracy (%), {} s of training:",
        result.train_seconds.round()
    );
    println!(
        "  {:<10} {:>8} {:>8} {:>8}",
        "task", "clips", "probe", "chance"
    );
    for t in &result.tasks {
        println!(
            "  {:<10} {:>8} {:>8.1} {:>8.1}",
            t.name, t.labelled, t.accuracy, t.chance
        );
    }
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "config": cfg,
            "input": input,
            "batch_random": random,
            "batch_groups_of_4": grouped,
            "result": result,
        });
        crate::data::write_atomically(path, serde_json::to_string_pretty(&json)?.as_bytes())
            .with_context(|| format!("--json {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
