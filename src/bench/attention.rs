//! Benchmark of fused (flash-style) against unfused attention, forward and backward,
//! timed with the [`Profiler`] (GPU timestamps where the adapter has them).

use anyhow::Result;
use serde::Serialize;

use super::Size;
use super::Suite;
use crate::gpu::{CommandBatch, Gpu, GpuBuffer, GpuError, Profiler};
use crate::tensor::ops::attention::{AttentionShape, attention_backward, attention_forward};
use crate::tensor::ops::dev::{attention_unfused, attention_unfused_backward};

/// Timed batches per kernel and shape; the fastest is reported.
pub const REPEATS: u32 = 3;

/// One timed kernel at one shape.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    /// Kernel name, e.g. "attention fused forward".
    pub name: String,
    /// "B=1 H=1 Tq=512 Tk=512 D=64".
    pub shape: String,
    /// Mean seconds per call in the fastest of [`REPEATS`] timed batches.
    pub seconds: f64,
    /// Useful floating-point work per second, in GFLOP/s.
    pub gflops: f64,
}

/// The rows of a run and the fused-over-unfused forward speedup at each shape.
#[derive(Debug, Clone, Serialize)]
pub struct AttentionBench {
    /// Every timing, in the order taken.
    pub rows: Vec<BenchRow>,
    /// (shape, unfused seconds / fused seconds) for each shape's forward pass.
    pub speedups: Vec<(String, f64)>,
    /// (shape, unfused seconds / fused seconds) for each shape's backward pass.
    pub backward_speedups: Vec<(String, f64)>,
}

/// The shapes `locomotion bench kernels` times: a short sequence with several heads, the
/// 512-token single head of the acceptance target, and cross-attention (text over video).
pub fn default_shapes() -> Vec<AttentionShape> {
    vec![
        AttentionShape::new(2, 4, 128, 128, 64),
        AttentionShape::new(1, 1, 512, 512, 64),
        AttentionShape::new(1, 4, 40, 784, 64),
    ]
}

fn describe(s: &AttentionShape) -> String {
    format!(
        "B={} H={} Tq={} Tk={} D={}",
        s.batch, s.heads, s.tq, s.tk, s.head_dim
    )
}

/// `n` values in [-1, 1] from `seed`: a cheap deterministic hash (benchmarks need
/// non-trivial data, not a seeded RNG stream).
pub fn bench_data(n: usize, seed: u32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| {
            let h = (i ^ seed).wrapping_mul(2_654_435_761).rotate_left(13);
            (h % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}

/// The buffers of one unmasked attention shape, forward and backward, fused and unfused:
/// the inputs q, k, v and the upstream gradient `d_o` from `data(len, seed)` (seeds 1 to 4),
/// the outputs and the scratch from the pool.
pub struct AttentionBuffers {
    pub q: GpuBuffer,
    pub k: GpuBuffer,
    pub v: GpuBuffer,
    pub d_o: GpuBuffer,
    pub o: GpuBuffer,
    pub lse: GpuBuffer,
    pub delta: GpuBuffer,
    /// The unfused path's scores (its forward leaves the probabilities here).
    pub scores: GpuBuffer,
    /// The unfused backward's scratch.
    pub ds: GpuBuffer,
    pub dq: GpuBuffer,
    pub dk: GpuBuffer,
    pub dv: GpuBuffer,
}

impl AttentionBuffers {
    /// Allocate and fill the buffers of shape `s` on `gpu`.
    pub fn new(
        gpu: &Gpu,
        s: &AttentionShape,
        data: impl Fn(usize, u32) -> Vec<f32>,
    ) -> Result<Self, GpuError> {
        let (nq, nk) = (s.q_len() as usize, s.kv_len() as usize);
        let up = |n, seed, what| gpu.upload(&data(n, seed), what);
        let st = |floats: u64, what| gpu.pool.storage(4 * floats, what);
        let rows = s.rows() as u64;
        Ok(Self {
            q: up(nq, 1, "attention q")?,
            k: up(nk, 2, "attention k")?,
            v: up(nk, 3, "attention v")?,
            d_o: up(nq, 4, "attention do")?,
            o: st(nq as u64, "attention o")?,
            lse: st(rows, "attention lse")?,
            delta: st(rows, "attention delta")?,
            scores: st(s.scores_len(), "attention scores")?,
            ds: st(s.scores_len(), "attention ds")?,
            dq: st(nq as u64, "attention dq")?,
            dk: st(nk as u64, "attention dk")?,
            dv: st(nk as u64, "attention dv")?,
        })
    }

    /// Record the fused forward ([`attention_forward`]) at `s`.
    pub fn fused_forward(&self, b: &mut CommandBatch, s: AttentionShape) -> Result<()> {
        attention_forward(b, s, &self.q, &self.k, &self.v, None, &self.o, &self.lse)
    }

    /// Record the fused backward ([`attention_backward`]) at `s`.
    pub fn fused_backward(&self, b: &mut CommandBatch, s: AttentionShape) -> Result<()> {
        let (q, k, v) = (&self.q, &self.k, &self.v);
        let grads = [&self.dq, &self.dk, &self.dv];
        attention_backward(
            b,
            s,
            q,
            k,
            v,
            None,
            &self.o,
            &self.d_o,
            &self.lse,
            &self.delta,
            grads,
        )
    }

    /// Record the unfused forward ([`attention_unfused`]) at `s`.
    pub fn unfused_forward(&self, b: &mut CommandBatch, s: AttentionShape) -> Result<()> {
        let (q, k, v) = (&self.q, &self.k, &self.v);
        attention_unfused(b, s, q, k, v, None, &self.scores, &self.o, &self.lse)
    }

    /// Record the unfused backward ([`attention_unfused_backward`]) at `s`, from the
    /// probabilities its forward left in `scores`.
    pub fn unfused_backward(&self, b: &mut CommandBatch, s: AttentionShape) -> Result<()> {
        let (q, k, v) = (&self.q, &self.k, &self.v);
        let grads = [&self.dq, &self.dk, &self.dv];
        attention_unfused_backward(
            b,
            s,
            q,
            k,
            v,
            &self.scores,
            &self.d_o,
            &self.ds,
            &self.delta,
            grads,
        )
    }
}

/// Time `record` with the profiler and turn the mean into a row.
fn time_one(
    prof: &mut Profiler,
    name: &str,
    shape: &str,
    flops: f64,
    iters: u32,
    record: &mut dyn FnMut(&mut CommandBatch) -> Result<()>,
) -> Result<BenchRow> {
    let mut best = f64::INFINITY;
    // Best of a few timed batches: on a shared CPU (lavapipe) other processes only ever add
    // time, so the minimum is the least disturbed estimate.
    for _ in 0..REPEATS {
        // The profiler speaks GpuError; keep the launcher's own message instead of losing it.
        let mut failure = None;
        let timing = prof.time(name, iters, |b| {
            record(b).map_err(|e| {
                let msg = e.to_string();
                failure = Some(e);
                GpuError::Readback(msg)
            })
        });
        if let Some(e) = failure {
            return Err(e);
        }
        best = best.min(timing?.seconds);
    }
    Ok(BenchRow {
        name: name.into(),
        shape: shape.into(),
        seconds: best,
        gflops: flops / best.max(1e-12) * 1e-9,
    })
}

/// Time fused and unfused forward and backward at each shape, `iters` calls each.
pub fn bench_attention(
    gpu: &Gpu,
    shapes: &[AttentionShape],
    iters: u32,
    force_wall: bool,
) -> Result<AttentionBench> {
    let mut prof = Profiler::new(gpu, force_wall);
    let mut rows = Vec::new();
    let mut speedups = Vec::new();
    let mut backward_speedups = Vec::new();
    let bar = crate::util::progress::bar(true, shapes.len() as u64 * 4, "attention", "runs");
    for s in shapes {
        let label = describe(s);
        bar.set_message(label.clone());
        let bufs = AttentionBuffers::new(gpu, s, bench_data)?;
        let mut time =
            |name: &str, flops: f64, f: &mut dyn FnMut(&mut CommandBatch) -> Result<()>| {
                let row = time_one(&mut prof, name, &label, flops, iters, f);
                bar.inc(1);
                row
            };
        let (fwd, bwd) = (s.forward_flops(), s.backward_flops());
        let fused = time("attention fused forward", fwd, &mut |b| {
            bufs.fused_forward(b, *s)
        })?;
        let unfused = time("attention unfused forward", fwd, &mut |b| {
            bufs.unfused_forward(b, *s)
        })?;
        let backward = time("attention fused backward", bwd, &mut |b| {
            bufs.fused_backward(b, *s)
        })?;
        let unfused_backward = time("attention unfused backward", bwd, &mut |b| {
            bufs.unfused_backward(b, *s)
        })?;
        speedups.push((label.clone(), unfused.seconds / fused.seconds));
        backward_speedups.push((label.clone(), unfused_backward.seconds / backward.seconds));
        rows.extend([fused, unfused, backward, unfused_backward]);
    }
    bar.finish_and_clear();
    Ok(AttentionBench {
        rows,
        speedups,
        backward_speedups,
    })
}

/// The rows as a plain-text table, with the speedups below.
pub fn format_table(bench: &AttentionBench) -> String {
    let mut out = format!(
        "{:<28} {:<30} {:>12} {:>10}\n",
        "kernel", "shape", "ms", "GFLOP/s"
    );
    for r in &bench.rows {
        out += &format!(
            "{:<28} {:<30} {:>12.3} {:>10.2}\n",
            r.name,
            r.shape,
            r.seconds * 1e3,
            r.gflops
        );
    }
    for (shape, x) in &bench.speedups {
        out += &format!("fused vs unfused forward at {shape}: {x:.2}x\n");
    }
    for (shape, x) in &bench.backward_speedups {
        out += &format!("fused vs unfused backward at {shape}: {x:.2}x\n");
    }
    out
}

// ------------------------------------------------------------------- rows of `bench kernels`

/// Attention rows of `locomotion bench kernels`: fused vs unfused, forward and backward, at
/// sequence 512 and head dimension 64 ([`Size::Full`]; a small shape for [`Size::Quick`]),
/// with both speedups.
pub fn kernel_rows(suite: &mut Suite, size: Size) -> Result<()> {
    let s = match size {
        Size::Quick => AttentionShape::new(1, 2, 48, 48, 32),
        Size::Full => AttentionShape::new(1, 1, 512, 512, 64),
    };
    let gpu = suite.gpu().clone();
    let label = describe(&s);
    let bufs = AttentionBuffers::new(&gpu, &s, bench_data)?;
    let l = |r: Result<()>| r.map_err(crate::tensor::ops::launch_err);
    let (fwd, bwd) = (Some(s.forward_flops()), Some(s.backward_flops()));
    let fused = suite.time("attention fused forward", &label, fwd, None, 3, |b| {
        l(bufs.fused_forward(b, s))
    })?;
    let unfused = suite.time("attention unfused forward", &label, fwd, None, 3, |b| {
        l(bufs.unfused_forward(b, s))
    })?;
    let fused_b = suite.time("attention fused backward", &label, bwd, None, 3, |b| {
        l(bufs.fused_backward(b, s))
    })?;
    let unfused_b = suite.time("attention unfused backward", &label, bwd, None, 3, |b| {
        l(bufs.unfused_backward(b, s))
    })?;
    suite.speedup(
        &format!("attention fused vs unfused forward, {label}"),
        unfused,
        fused,
    );
    suite.speedup(
        &format!("attention fused vs unfused backward, {label}"),
        unfused_b,
        fused_b,
    );
    Ok(())
}
