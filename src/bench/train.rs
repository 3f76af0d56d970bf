//! `bench train`: whole training steps (forward, backward, optimizer), timed after warm-up,
//! median of the timed steps, for the benchmark transformer encoder ([`super::encoder`]) and
//! LocoMotion pre-training of a preset on online data; with `--profile`, one traced step per
//! row shows where the time goes, kernel by kernel.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use super::composite::process_cpu_seconds;
use super::encoder::{EncoderDims, TransformerEncoder};
use crate::data::mlm::MlmConfig;
use crate::gpu::{CounterSnapshot, Gpu, StepTrace};
use crate::model::config::{LossWeights, ModelConfig};
use crate::model::locomotion::LocoModel;
use crate::tensor::Tape;
use crate::tensor::ops::adamw;
use crate::train::accumulate::{check_accumulate, train_step_accumulated};
use crate::train::data::{CaptionMix, OnlineConfig, OnlineSource, TextPipeline};
use crate::train::motion_options::MotionOptions;
use crate::train::optim::AdamW;
use crate::train::setup::train_tokenizer;

/// What `bench train` runs.
#[derive(Debug, Clone)]
pub struct TrainBench {
    /// Timed steps per row (the median is reported).
    pub steps: usize,
    /// Untimed steps first (pipeline compilation, pool warm-up).
    pub warmup: usize,
    /// The `transformer-encoder` row's sizes; None skips the row.
    pub encoder: Option<EncoderDims>,
    /// The preset of the pre-training rows; None skips them.
    pub preset: Option<String>,
    /// Which pre-training rows: VTC only, and all three objectives.
    pub vtc_only: bool,
    pub all_objectives: bool,
    /// Pairs per pre-training batch.
    pub batch: usize,
    /// Micro-batches per pre-training batch (`--accumulate`; 1: the whole batch at once).
    pub accumulate: usize,
    /// Trace one more step per row and report the per-kernel breakdown.
    pub profile: bool,
}

impl Default for TrainBench {
    fn default() -> Self {
        Self {
            steps: 10,
            warmup: 3,
            encoder: Some(EncoderDims::default()),
            preset: Some("tiny".into()),
            vtc_only: true,
            all_objectives: true,
            batch: 16,
            accumulate: 1,
            profile: false,
        }
    }
}

/// One timed row.
#[derive(Debug, Clone, Serialize)]
pub struct TrainRow {
    /// `transformer-encoder`, `pretrain-tiny (vtc)`, `pretrain-tiny (vtc+vtm+mlm)`, ...
    pub name: String,
    /// The sizes, in words.
    pub config: String,
    /// Median seconds per step.
    pub step_s: f64,
    /// Fastest and slowest timed step.
    pub step_s_min: f64,
    pub step_s_max: f64,
    /// Median CPU seconds of this process per step (all threads, a CPU driver's included;
    /// /proc/self/stat, 10 ms resolution): on a shared machine, the work a step needs.
    pub cpu_s: Option<f64>,
    /// Steps timed.
    pub steps: usize,
    /// 1 / median step time.
    pub steps_per_s: f64,
    /// Pairs per batch (pre-training rows).
    pub batch: Option<usize>,
    /// Clips per second (pre-training rows).
    pub clips_per_s: Option<f64>,
    /// Matmul FLOPs of one step: 3 × the forward's (attention's products included).
    pub flops_per_step: f64,
    /// Achieved: flops_per_step / step_s / 1e9.
    pub gflops: f64,
    /// Compute dispatches per step (the data pipeline's included).
    pub dispatches_per_step: f64,
    /// Queue submits per step (of the first device, for a data-parallel row).
    pub submits_per_step: f64,
    /// Bind groups created per timed step (the rest came from the bind group cache).
    pub bind_groups_created_per_step: f64,
    /// Devices the row trains on at once (data-parallel; 1 for the ordinary rows).
    pub devices: usize,
    /// Data-parallel rows: the share of the median step spent summing the gradients (flatten,
    /// readback, exchange, upload).
    pub allreduce_share: Option<f64>,
    /// Pre-training rows: the most bytes of device buffers the engine's pool had allocated
    /// at once while the row ran (model, optimizer, activations; size classes, so rounded
    /// up). An estimate: the driver's own memory and the pipelines are not counted.
    pub peak_memory_bytes: Option<u64>,
    /// Data-parallel rows: the share spent inside the exchanges themselves (every all-gather
    /// of VTC embeddings and VTM states and every all-reduce, waits for the slower device
    /// included; not the readbacks and uploads around them).
    pub collective_share: Option<f64>,
}

/// A traced step of one row.
#[derive(Debug, Clone, Serialize)]
pub struct RowProfile {
    /// The row's name.
    pub name: String,
    /// Wall seconds of the traced step (tracing adds host time).
    pub step_s: f64,
    /// Where it went.
    pub trace: StepTrace,
}

/// The machine a run happened on (host figures matter on CPU adapters).
#[derive(Debug, Clone, Serialize)]
pub struct HostInfo {
    /// `model name` from /proc/cpuinfo.
    pub cpu: String,
    /// Logical cores.
    pub cores: usize,
    /// The 1, 5 and 15 minute load averages at the start of the run.
    pub load_average: String,
}

impl HostInfo {
    /// Read /proc (empty strings where it is not there).
    pub fn read() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|v| v.trim().to_string())
            })
            .unwrap_or_default();
        let load = std::fs::read_to_string("/proc/loadavg")
            .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        Self {
            cpu,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            load_average: load,
        }
    }
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    pub adapter: String,
    pub driver: String,
    pub backend: String,
    pub device_type: String,
    /// The host, with its load at the start.
    pub host: HostInfo,
    /// The load average at the end.
    pub load_average_end: String,
    pub rows: Vec<TrainRow>,
    /// With `--profile`: one traced step per row.
    pub profiles: Vec<RowProfile>,
}

/// What one measured step did.
pub(crate) struct StepCost {
    pub(crate) seconds: f64,
    cpu: Option<f64>,
    counted: CounterSnapshot,
    pub(crate) forward_flops: u64,
}

/// Time `steps` calls of `step` after `warmup` untimed ones (each call must wait for the GPU).
pub(crate) fn time_steps(
    gpu: &Gpu,
    o: &TrainBench,
    mut step: impl FnMut(u64) -> Result<u64>,
) -> Result<(Vec<StepCost>, u64)> {
    let mut n = 0u64;
    for _ in 0..o.warmup {
        step(n)?;
        n += 1;
    }
    let mut costs = Vec::new();
    for _ in 0..o.steps.max(1) {
        let before = gpu.counters();
        let (t0, c0) = (Instant::now(), process_cpu_seconds());
        let forward_flops = step(n)?;
        let seconds = t0.elapsed().as_secs_f64();
        let cpu = process_cpu_seconds().zip(c0).map(|(a, b)| a - b);
        costs.push(StepCost {
            seconds,
            cpu,
            counted: gpu.counters().since(&before),
            forward_flops,
        });
        n += 1;
    }
    Ok((costs, n))
}

/// The median of `v` (sorted in place; `v` is not empty).
pub(crate) fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

pub(crate) fn row(
    name: String,
    config: String,
    costs: &[StepCost],
    clips: Option<usize>,
) -> TrainRow {
    let mut t: Vec<f64> = costs.iter().map(|c| c.seconds).collect();
    let median_s = median(&mut t);
    let mut cpu: Vec<f64> = costs.iter().filter_map(|c| c.cpu).collect();
    let cpu_s = (cpu.len() == costs.len()).then(|| median(&mut cpu));
    let median = median_s;
    let k = costs.len() as f64;
    let flops = 3.0 * costs.iter().map(|c| c.forward_flops as f64).sum::<f64>() / k;
    TrainRow {
        name,
        config,
        step_s: median,
        step_s_min: t[0],
        step_s_max: t[t.len() - 1],
        cpu_s,
        steps: costs.len(),
        steps_per_s: 1.0 / median,
        batch: clips,
        clips_per_s: clips.map(|b| b as f64 / median),
        flops_per_step: flops,
        gflops: flops / median / 1e9,
        dispatches_per_step: costs
            .iter()
            .map(|c| c.counted.dispatches as f64)
            .sum::<f64>()
            / k,
        submits_per_step: costs.iter().map(|c| c.counted.submits as f64).sum::<f64>() / k,
        bind_groups_created_per_step: costs
            .iter()
            .map(|c| c.counted.bind_groups_created as f64)
            .sum::<f64>()
            / k,
        devices: 1,
        peak_memory_bytes: None,
        allreduce_share: None,
        collective_share: None,
    }
}

/// Trace one call of `step` (the `n`-th) and name it.
fn profile(
    gpu: &Gpu,
    name: &str,
    n: u64,
    mut step: impl FnMut(u64) -> Result<u64>,
) -> Result<RowProfile> {
    gpu.trace_begin();
    let t0 = Instant::now();
    let r = step(n);
    let step_s = t0.elapsed().as_secs_f64();
    let trace = gpu.trace_end()?;
    r?;
    Ok(RowProfile {
        name: name.to_string(),
        step_s,
        trace,
    })
}

/// The `transformer-encoder` row (and its profile).
fn encoder_row(
    gpu: &Gpu,
    o: &TrainBench,
    dims: EncoderDims,
) -> Result<(TrainRow, Option<RowProfile>)> {
    let (model, mut optim) = TransformerEncoder::with_adam(gpu, dims, 1e-3)?;
    let mut step = |_: u64| -> Result<u64> {
        let tape = Tape::new(gpu);
        let before = gpu.counters();
        let loss = model.forward_loss(&tape)?;
        let flops = gpu.counters().since(&before).matmul_flops;
        optim.zero_grad();
        tape.backward(&loss)?;
        optim.step(1e-3)?;
        drop(tape);
        gpu.wait(None)?;
        Ok(flops)
    };
    let (costs, n) = time_steps(gpu, o, &mut step)?;
    let name = "transformer-encoder";
    let prof = if o.profile {
        Some(profile(gpu, name, n, &mut step)?)
    } else {
        None
    };
    Ok((row(name.into(), dims.describe(), &costs, None), prof))
}

/// The model, optimizer and online source of a pre-training row of `preset` with `weights`
/// on `gpu` (the seed is [`PRETRAIN_SEED`]).
pub(crate) fn pretrain_parts(
    gpu: &Gpu,
    o: &TrainBench,
    preset: &str,
    weights: LossWeights,
) -> Result<(ModelConfig, LocoModel, AdamW, OnlineSource)> {
    let mut cfg = ModelConfig::preset(preset)?;
    cfg.loss_weights = weights;
    let tokenizer = train_tokenizer(&cfg, PRETRAIN_SEED)?;
    cfg.text.vocab_size = tokenizer.vocab_size();
    let model = LocoModel::random(gpu, &cfg, PRETRAIN_SEED, None)?;
    let optim = AdamW::new(gpu, model.parameters(), adamw::AdamWHyper::default(), 1.0)?;
    let motion = MotionOptions::default();
    let g = motion.generation(&cfg);
    let split = motion.split(&g)?;
    let text = TextPipeline::new(
        tokenizer,
        CaptionMix::parse("motion")?,
        MlmConfig::default(),
    );
    let source = OnlineSource::new(
        gpu,
        split.train_objects,
        split.train_backgrounds,
        text,
        OnlineConfig {
            seed: PRETRAIN_SEED,
            batch_size: o.batch,
            generation: g,
            prefetch: true,
            background_fade_steps: 0,
            group_size: crate::train::recipe::group_size(o.batch),
        },
    )?;
    Ok((cfg, model, optim, source))
}

/// The seed of the pre-training rows' model and data.
pub(crate) const PRETRAIN_SEED: u64 = 7;

/// A pre-training row's sizes, in words.
pub(crate) fn pretrain_config(cfg: &ModelConfig, batch: usize) -> String {
    let v = &cfg.video;
    format!(
        "batch {} of {}x{}x{} clips, video {}x{} layers, text {}x{}, cross {}",
        batch,
        v.frames,
        v.height,
        v.width,
        v.num_layers,
        v.hidden_size,
        cfg.text.num_hidden_layers,
        cfg.text.hidden_size,
        cfg.cross.num_layers
    )
}

/// A pre-training row of `preset` with `weights` (and its profile), with the pool's peak
/// allocation; a memory error names the preset and batch and says what to lower.
fn pretrain_row(
    gpu: &Gpu,
    o: &TrainBench,
    preset: &str,
    weights: LossWeights,
    objectives: &str,
) -> Result<(TrainRow, Option<RowProfile>)> {
    gpu.pool.trim();
    gpu.pool.reset_peak();
    let (mut r, p) = measure_pretrain(gpu, o, preset, weights, objectives).map_err(|e| {
        let cfg = ModelConfig::preset(preset);
        match cfg {
            Ok(cfg) => crate::train::memory::explain(e, &cfg, o.batch, &gpu.summary.name),
            Err(_) => e,
        }
    })?;
    r.peak_memory_bytes = Some(gpu.pool.stats().peak_bytes);
    Ok((r, p))
}

fn measure_pretrain(
    gpu: &Gpu,
    o: &TrainBench,
    preset: &str,
    weights: LossWeights,
    objectives: &str,
) -> Result<(TrainRow, Option<RowProfile>)> {
    let (cfg, model, mut optim, mut source) = pretrain_parts(gpu, o, preset, weights)?;
    let mut step = |n: u64| -> Result<u64> {
        let out = train_step_accumulated(
            gpu,
            &model,
            &mut optim,
            source.batch(n)?,
            (PRETRAIN_SEED, n),
            1e-4,
            o.accumulate,
        )?;
        drop(out.losses);
        gpu.wait(None)?;
        Ok(out.forward_flops)
    };
    let (costs, n) = time_steps(gpu, o, &mut step)?;
    let mut name = format!("pretrain-{preset} ({objectives})");
    if o.accumulate > 1 {
        name += &format!(" acc {}", o.accumulate);
    }
    let prof = if o.profile {
        Some(profile(gpu, &name, n, &mut step)?)
    } else {
        None
    };
    let mut config = pretrain_config(&cfg, o.batch);
    if o.accumulate > 1 {
        config += &format!(" in {} micro-batches (GradCache)", o.accumulate);
    }
    Ok((row(name, config, &costs, Some(o.batch)), prof))
}

/// Run every row `o` asks for.
pub fn run(gpu: &Gpu, o: &TrainBench) -> Result<TrainReport> {
    anyhow::ensure!(
        o.batch >= 2,
        "--batch must be at least 2 (VTC contrasts pairs)"
    );
    check_accumulate(o.accumulate, o.batch)?;
    let host = HostInfo::read();
    let (mut rows, mut profiles) = (Vec::new(), Vec::new());
    let mut keep = |(r, p): (TrainRow, Option<RowProfile>)| {
        eprintln!("  {}: {:.1} ms/step", r.name, r.step_s * 1e3);
        rows.push(r);
        profiles.extend(p);
    };
    if let Some(dims) = o.encoder {
        keep(encoder_row(gpu, o, dims)?);
    }
    if let Some(preset) = &o.preset {
        let vtc = LossWeights {
            vtc: 1.0,
            vtm: 0.0,
            mlm: 0.0,
        };
        if o.vtc_only {
            keep(pretrain_row(gpu, o, preset, vtc, "vtc")?);
        }
        if o.all_objectives {
            let all = LossWeights::default();
            keep(pretrain_row(gpu, o, preset, all, "vtc+vtm+mlm")?);
        }
    }
    let s = &gpu.summary;
    Ok(TrainReport {
        adapter: s.name.clone(),
        driver: format!("{} {}", s.driver, s.driver_info).trim().to_string(),
        backend: s.backend.clone(),
        device_type: s.device_type.clone(),
        host,
        load_average_end: HostInfo::read().load_average,
        rows,
        profiles,
    })
}
