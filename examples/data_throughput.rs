//! Throughput of the online training data source at the tiny preset's clip size (8 frames
//! of 32², B = 16): the CPU half (sampling, captioning, tokenising, MLM masking) against the
//! GPU compositing, and batches/s end to end with and without prefetching the CPU half.
//!
//! `cargo run --release --example data_throughput [-- batches]`

use std::time::Instant;

use anyhow::Result;
use locomotion::caption::{CaptionKind, describe};
use locomotion::data::mlm::MlmConfig;
use locomotion::data::tokenizer::TextTokenizer;
use locomotion::gpu::{AdapterRequest, CommandBatch, Gpu};
use locomotion::model::config::ModelConfig;
use locomotion::motion::{Compositor, GenConfig, sample_clip};
use locomotion::train::data::*;

const B: usize = 16;

fn main() -> Result<()> {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(30);
    let preset = ModelConfig::preset("tiny")?;
    let v = &preset.video;
    let clip = GenConfig {
        frames: v.frames as u32,
        height: v.height as u32,
        width: v.width as u32,
        ..GenConfig::default()
    };
    let gpu = Gpu::new(&AdapterRequest::default())?;
    let split = LibrarySplit::builtin(&clip);
    let corpus: Vec<String> = (0..200)
        .flat_map(|i| {
            let c = sample_clip(1, i, &clip, &split.train_objects, &split.train_backgrounds);
            CaptionKind::ALL.map(|k| describe(&c, k))
        })
        .collect();
    let tok = TextTokenizer::train(
        &corpus,
        1024,
        preset.text.max_position_embeddings.min(64),
        false,
    )?;
    let text = TextPipeline::new(
        tok,
        CaptionMix::parse("motion:0.5,paraphrase:0.5")?,
        MlmConfig::default(),
    );
    let make = |prefetch| {
        OnlineSource::new(
            &gpu,
            split.train_objects.clone(),
            split.train_backgrounds.clone(),
            text.clone(),
            OnlineConfig {
                seed: 0,
                batch_size: B,
                generation: clip.clone(),
                prefetch,
                background_fade_steps: 0,
                group_size: 1,
            },
        )
    };
    println!(
        "adapter {:?}, clips {}x{}x{}, B = {B}, {n} batches",
        gpu.adapter.get_info().name,
        clip.frames,
        clip.height,
        clip.width
    );

    // The CPU half alone, then the GPU compositing alone of the same batches.
    let src = make(false)?;
    let comp = Compositor::new(&gpu, &split.train_objects, &split.train_backgrounds)?;
    let frames = (B as u64) * clip.frames as u64;
    let out = gpu.pool.storage(
        VIDEO_NORMALIZATION.bytes(frames, clip.height, clip.width),
        "video",
    )?;
    let compose = |h: &HostBatch| -> Result<()> {
        let mut gb = CommandBatch::new(&gpu);
        let staged = comp.record(&mut gb, &h.clips, &out, VIDEO_NORMALIZATION)?;
        gb.submit_and_wait()?;
        drop(staged);
        Ok(())
    };
    compose(&src.host_batch(0)?)?;
    let (mut cpu_ms, mut gpu_ms) = (f64::MAX, f64::MAX);
    for _ in 0..3 {
        let t = Instant::now();
        let hosts: Vec<HostBatch> = (0..n).map(|s| src.host_batch(s)).collect::<Result<_>>()?;
        cpu_ms = cpu_ms.min(t.elapsed().as_secs_f64() * 1e3 / n as f64);
        let t = Instant::now();
        for h in &hosts {
            compose(h)?;
        }
        gpu_ms = gpu_ms.min(t.elapsed().as_secs_f64() * 1e3 / n as f64);
    }

    // End to end: batch(s) then wait for the GPU, as a trainer's step would.
    let end_to_end = |prefetch| -> Result<f64> {
        let mut src = make(prefetch)?;
        // `gpu.wait(None)` submits the batch's queued compositing and waits for it.
        let _first = src.batch(0)?;
        gpu.wait(None)?;
        let t = Instant::now();
        for s in 1..=n {
            let _batch = src.batch(s)?;
            gpu.wait(None)?;
        }
        Ok(n as f64 / t.elapsed().as_secs_f64())
    };
    // Alternate the two, best of three rounds each: the machine is shared and noisy.
    let (mut serial, mut overlapped) = (0f64, 0f64);
    for _ in 0..3 {
        serial = serial.max(end_to_end(false)?);
        overlapped = overlapped.max(end_to_end(true)?);
    }
    println!("CPU half (sample + caption + tokenise + mask): {cpu_ms:.2} ms/batch");
    println!("GPU compositing (tables + upload + composite):  {gpu_ms:.2} ms/batch");
    println!(
        "CPU share of a serial data step: {:.0} %",
        100.0 * cpu_ms / (cpu_ms + gpu_ms)
    );
    println!(
        "end to end: {serial:.1} batches/s ({:.0} clips/s) serial, {overlapped:.1} batches/s with prefetch ({:.2}x)",
        serial * B as f64,
        overlapped / serial
    );
    Ok(())
}
