//! Compositor benchmark: clips/s and frames/s of the GPU compositor (RGBA8 export and the
//! normalised training tensor) and of the single-threaded CPU reference, with their ratio.

use std::time::Instant;

use serde::Serialize;

use crate::gpu::{Batch, Gpu};
use crate::motion::composite::{IMAGENET_MEAN, IMAGENET_STD};
use crate::motion::params::ClipParams;
use crate::motion::{
    BackgroundLibrary, Compositor, GenConfig, ObjectLibrary, Output, reference, sample_clip,
};

/// What to measure.
#[derive(Debug, Clone)]
pub struct CompositeBench {
    /// (side, objects) configurations; clips are 16 frames of side².
    pub configs: Vec<(u32, u32)>,
    pub frames: u32,
    /// Clips per GPU batch.
    pub clips: usize,
    /// Clips the CPU reference renders.
    pub cpu_clips: usize,
    /// Timed GPU batches.
    pub iters: u32,
}

impl Default for CompositeBench {
    fn default() -> Self {
        Self {
            configs: vec![(112, 1), (112, 2), (224, 1), (224, 2)],
            frames: 16,
            clips: 8,
            cpu_clips: 2,
            iters: 3,
        }
    }
}

/// One configuration's figures.
#[derive(Debug, Clone, Serialize)]
pub struct CompositeRow {
    pub frames: u32,
    pub side: u32,
    pub objects: u32,
    pub gpu_rgba8_clips_per_s: f64,
    pub gpu_normalized_clips_per_s: f64,
    pub cpu_clips_per_s: f64,
    /// GPU RGBA8 over CPU reference.
    pub speedup: f64,
}

impl CompositeRow {
    /// GPU RGBA8 frames per second.
    pub fn gpu_frames_per_s(&self) -> f64 {
        self.gpu_rgba8_clips_per_s * self.frames as f64
    }
}

fn gpu_clips_per_s(
    gpu: &Gpu,
    comp: &Compositor,
    clips: &[ClipParams],
    output: Output,
    iters: u32,
) -> anyhow::Result<f64> {
    let tables = comp.atlas.tables(clips)?;
    let frames = tables.frame_info.len() as u64;
    let out = gpu.pool.storage(
        output.bytes(frames, comp.atlas.height, comp.atlas.width),
        "bench output",
    )?;
    // Warm-up: pipeline compilation and first touch of the atlas.
    let mut batch = Batch::new(gpu);
    let staged = comp.record_tables(&mut batch, &tables, &out, output)?;
    batch.submit_and_wait()?;
    drop(staged);
    // Wall clock around record + submit + wait: what a caller of the compositor waits for.
    let t0 = Instant::now();
    for _ in 0..iters {
        let mut batch = Batch::new(gpu);
        let staged = comp.record_tables(&mut batch, &tables, &out, output)?;
        batch.submit_and_wait()?;
        drop(staged);
    }
    Ok(clips.len() as f64 * iters as f64 / t0.elapsed().as_secs_f64())
}

/// Measure every configuration of `opts`, showing progress.
pub fn run(gpu: &Gpu, opts: &CompositeBench) -> anyhow::Result<Vec<CompositeRow>> {
    let bar = indicatif::ProgressBar::new(opts.configs.len() as u64);
    bar.set_prefix("bench composite");
    let objects = ObjectLibrary::builtin();
    let mut rows = Vec::new();
    for &(side, n_obj) in &opts.configs {
        let cfg = GenConfig {
            frames: opts.frames,
            height: side,
            width: side,
            objects: n_obj,
            ..GenConfig::default()
        };
        cfg.validate()?;
        let backgrounds = BackgroundLibrary::builtin(side, side, opts.frames);
        let comp = Compositor::new(gpu, &objects, &backgrounds)?;
        let clips: Vec<ClipParams> = (0..opts.clips.max(1) as u64)
            .map(|i| sample_clip(2024, i, &cfg, &objects, &backgrounds))
            .collect();
        let rgba = gpu_clips_per_s(gpu, &comp, &clips, Output::Rgba8, opts.iters.max(1))?;
        let norm = Output::Normalized {
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
        };
        let normalized = gpu_clips_per_s(gpu, &comp, &clips, norm, opts.iters.max(1))?;
        let cpu_set = &clips[..opts.cpu_clips.clamp(1, clips.len())];
        let tables = comp.atlas.tables(cpu_set)?;
        let t0 = Instant::now();
        let px = reference::composite_rgba8(&comp.atlas, &tables);
        let cpu = cpu_set.len() as f64 / t0.elapsed().as_secs_f64();
        std::hint::black_box(px);
        rows.push(CompositeRow {
            frames: opts.frames,
            side,
            objects: n_obj,
            gpu_rgba8_clips_per_s: rgba,
            gpu_normalized_clips_per_s: normalized,
            cpu_clips_per_s: cpu,
            speedup: rgba / cpu,
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(rows)
}

/// The rows as a Markdown table headed by the adapter name.
pub fn table(adapter: &str, rows: &[CompositeRow]) -> String {
    let mut s = format!(
        "compositor on {adapter}\n\n| clip | objects | GPU RGBA8 clips/s | GPU RGBA8 frames/s | GPU tensor clips/s | CPU ref clips/s | CPU ref frames/s | GPU / CPU |\n|---|---|---|---|---|---|---|---|\n"
    );
    for r in rows {
        s += &format!(
            "| {}×{}² | {} | {:.1} | {:.0} | {:.1} | {:.2} | {:.1} | {:.1}× |\n",
            r.frames,
            r.side,
            r.objects,
            r.gpu_rgba8_clips_per_s,
            r.gpu_frames_per_s(),
            r.gpu_normalized_clips_per_s,
            r.cpu_clips_per_s,
            r.cpu_clips_per_s * r.frames as f64,
            r.speedup
        );
    }
    s
}
