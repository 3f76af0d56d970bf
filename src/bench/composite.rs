//! Compositor benchmark: clips/s and frames/s of the GPU compositor (RGBA8 export and the
//! normalised training tensor) and of the single-threaded CPU reference, with their ratio.

use std::time::Instant;

use serde::Serialize;

use crate::gpu::{CommandBatch, Gpu};
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
    /// Frames per clip.
    pub frames: u32,
    /// Clips per GPU batch.
    pub clips: usize,
    /// Clips the CPU reference renders.
    pub cpu_clips: usize,
    /// Timed GPU batches (after one warm-up) and CPU reference runs.
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
    /// Frames per clip.
    pub frames: u32,
    /// Frame side in pixels.
    pub side: u32,
    /// Objects per clip.
    pub objects: u32,
    /// Clips in each timed GPU batch.
    pub gpu_clips: usize,
    /// Clips in each timed CPU reference run.
    pub cpu_clips: usize,
    /// Timed GPU batches and CPU reference runs.
    pub iters: u32,
    /// GPU compositor to RGBA8 frames, wall clock.
    pub gpu_rgba8_clips_per_s: f64,
    /// GPU compositor to the normalised tensor, wall clock.
    pub gpu_normalized_clips_per_s: f64,
    /// Single-threaded CPU reference, wall clock.
    pub cpu_clips_per_s: f64,
    /// GPU RGBA8 over CPU reference, wall clock.
    pub speedup: f64,
    /// Clips per second of process CPU time (all threads): on a machine shared with other
    /// work, wall-clock figures swing; these measure the work itself.
    pub gpu_rgba8_clips_per_cpu_s: Option<f64>,
    /// The CPU reference per second of process CPU time.
    pub cpu_clips_per_cpu_s: Option<f64>,
}

impl CompositeRow {
    /// GPU RGBA8 frames per second.
    pub fn gpu_frames_per_s(&self) -> f64 {
        self.gpu_rgba8_clips_per_s * self.frames as f64
    }
}

/// CPU seconds this process has used (all threads, lavapipe's included), from
/// /proc/self/stat; None where that file does not exist.
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Wall-clock and process-CPU rates of `work` run `n` times over `clips` clips each.
fn rates(
    clips: usize,
    n: u32,
    mut work: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<(f64, Option<f64>)> {
    let (t0, c0) = (Instant::now(), process_cpu_seconds());
    for _ in 0..n {
        work()?;
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = match (c0, process_cpu_seconds()) {
        (Some(a), Some(b)) if b > a => Some(clips as f64 * n as f64 / (b - a)),
        _ => None,
    };
    Ok((clips as f64 * n as f64 / wall, cpu))
}

fn gpu_rates(
    gpu: &Gpu,
    comp: &Compositor,
    clips: &[ClipParams],
    output: Output,
    iters: u32,
) -> anyhow::Result<(f64, Option<f64>)> {
    let tables = comp.atlas.tables(clips)?;
    let frames = tables.frame_info.len() as u64;
    let out = gpu.pool.storage(
        output.bytes(frames, comp.atlas.height, comp.atlas.width),
        "bench output",
    )?;
    // Wall clock around record + submit + wait: what a caller of the compositor waits for.
    let once = || -> anyhow::Result<()> {
        let mut batch = CommandBatch::new(gpu);
        let staged = comp.record_tables(&mut batch, &tables, &out, output)?;
        batch.submit_and_wait()?;
        drop(staged);
        Ok(())
    };
    // Warm-up: pipeline compilation and first touch of the atlas.
    once()?;
    rates(clips.len(), iters, once)
}

/// Measure every configuration of `opts`, showing progress.
pub fn run(gpu: &Gpu, opts: &CompositeBench) -> anyhow::Result<Vec<CompositeRow>> {
    let bar = crate::util::progress::bar(true, opts.configs.len() as u64, "bench", "configs");
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
        let iters = opts.iters.max(1);
        let (rgba, rgba_cpu) = gpu_rates(gpu, &comp, &clips, Output::Rgba8, iters)?;
        let norm = Output::Normalized {
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
        };
        let (normalized, _) = gpu_rates(gpu, &comp, &clips, norm, iters)?;
        let cpu_set = &clips[..opts.cpu_clips.clamp(1, clips.len())];
        let tables = comp.atlas.tables(cpu_set)?;
        let (cpu, cpu_cpu) = rates(cpu_set.len(), iters, || {
            std::hint::black_box(reference::composite_rgba8(&comp.atlas, &tables));
            Ok(())
        })?;
        rows.push(CompositeRow {
            frames: opts.frames,
            side,
            objects: n_obj,
            gpu_clips: clips.len(),
            cpu_clips: cpu_set.len(),
            iters,
            gpu_rgba8_clips_per_s: rgba,
            gpu_normalized_clips_per_s: normalized,
            cpu_clips_per_s: cpu,
            speedup: rgba / cpu,
            gpu_rgba8_clips_per_cpu_s: rgba_cpu,
            cpu_clips_per_cpu_s: cpu_cpu,
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(rows)
}

/// The rows as a Markdown table headed by the adapter name.
pub fn table(adapter: &str, rows: &[CompositeRow]) -> String {
    let mut s = format!(
        "compositor on {adapter}\n\n| clip | objects | GPU RGBA8 clips/s | GPU RGBA8 frames/s | GPU tensor clips/s | CPU ref clips/s | CPU ref frames/s | GPU / CPU (wall) | GPU / CPU (per CPU-second) |\n|---|---|---|---|---|---|---|---|---|\n"
    );
    for r in rows {
        s += &format!(
            "| {}×{}² | {} | {:.1} | {:.0} | {:.1} | {:.2} | {:.1} | {:.1}× | {} |\n",
            r.frames,
            r.side,
            r.objects,
            r.gpu_rgba8_clips_per_s,
            r.gpu_frames_per_s(),
            r.gpu_normalized_clips_per_s,
            r.cpu_clips_per_s,
            r.cpu_clips_per_s * r.frames as f64,
            r.speedup,
            match (r.gpu_rgba8_clips_per_cpu_s, r.cpu_clips_per_cpu_s) {
                (Some(g), Some(c)) => format!("{:.1}×", g / c),
                _ => "n/a".into(),
            }
        );
    }
    s
}
