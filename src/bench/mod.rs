//! The benchmark suites (kernels, attention, losses, compositor): each times GPU work with the
//! [`Profiler`] and reports rows of
//! (kernel, shape, time, GFLOP/s or GB/s) plus same-run speedups, as a table and as JSON that
//! names the adapter, driver and backend so runs on different GPUs compare.

pub mod attention;
pub mod composite;
pub mod devices;
pub mod encoder;
pub mod kernels;
pub mod losses;
pub mod matmul;
pub mod train;
pub mod train_report;

use std::path::Path;

use anyhow::Context;
use indicatif::ProgressBar;
use serde::Serialize;

use crate::gpu::{Clock, CommandBatch, Gpu, GpuError, Profiler};

/// Which shapes to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Tiny shapes: a smoke test of the suite itself (seconds on a CPU driver).
    Quick,
    /// The shapes the numbers in BENCHMARKS.md use.
    Full,
}

/// One timed kernel at one shape.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Kernel name, e.g. "matmul (tiled 64x64, 8x8 per thread)".
    pub kernel: String,
    /// Shape in the field's notation, e.g. "M=N=K=1024".
    pub shape: String,
    /// Mean seconds per run.
    pub seconds: f64,
    /// Floating-point operations per run, where that is the useful measure.
    pub flops: Option<f64>,
    /// Bytes moved per run (compulsory traffic), for memory-bound kernels.
    pub bytes: Option<f64>,
    /// flops / seconds / 1e9.
    pub gflops: Option<f64>,
    /// bytes / seconds / 1e9.
    pub gbytes_per_s: Option<f64>,
    /// Runs averaged.
    pub iters: u32,
    /// Timestamp queries or wall clock.
    pub clock: Clock,
}

/// A same-run comparison of two rows (candidate over baseline).
#[derive(Debug, Clone, Serialize)]
pub struct Speedup {
    /// What is compared, e.g. "matmul tiled vs naive, M=N=K=1024".
    pub what: String,
    /// Baseline seconds / candidate seconds.
    pub factor: f64,
}

/// A whole run: where it ran and what it measured.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteReport {
    /// Adapter name (e.g. "llvmpipe (LLVM 19.1.7, 256 bits)").
    pub adapter: String,
    /// Driver name and info.
    pub driver: String,
    /// wgpu backend (Vulkan, Metal, Dx12, Gl).
    pub backend: String,
    /// Cpu, DiscreteGpu, IntegratedGpu, ...
    pub device_type: String,
    /// Every timed row, in order.
    pub rows: Vec<Row>,
    /// Same-run speedups.
    pub speedups: Vec<Speedup>,
}

/// Collects rows as kernels are timed; suites add rows with [`Suite::time`].
pub struct Suite {
    gpu: Gpu,
    profiler: Profiler,
    progress: ProgressBar,
    /// The report so far.
    pub report: SuiteReport,
}

impl Suite {
    /// A suite on `gpu` expecting about `steps` rows (for the progress bar).
    pub fn new(gpu: &Gpu, steps: u64, force_wall: bool) -> Self {
        let s = &gpu.summary;
        let progress = crate::util::progress::bar(true, steps, "bench", "kernels");
        Self {
            gpu: gpu.clone(),
            profiler: Profiler::new(gpu, force_wall),
            progress,
            report: SuiteReport {
                adapter: s.name.clone(),
                driver: format!("{} {}", s.driver, s.driver_info).trim().to_string(),
                backend: s.backend.clone(),
                device_type: s.device_type.clone(),
                rows: Vec::new(),
                speedups: Vec::new(),
            },
        }
    }

    /// The device.
    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// Time `record` (`iters` runs after one warm-up) and add a row; returns its seconds.
    pub fn time(
        &mut self,
        kernel: &str,
        shape: &str,
        flops: Option<f64>,
        bytes: Option<f64>,
        iters: u32,
        record: impl FnMut(&mut CommandBatch) -> Result<(), GpuError>,
    ) -> anyhow::Result<f64> {
        self.progress.set_message(format!("{kernel} {shape}"));
        let t = self
            .profiler
            .time(kernel, iters, record)
            .with_context(|| format!("benchmark of {kernel} at {shape}"))?;
        let per = |x: Option<f64>| x.map(|v| v / t.seconds / 1e9);
        self.report.rows.push(Row {
            kernel: kernel.to_string(),
            shape: shape.to_string(),
            seconds: t.seconds,
            flops,
            bytes,
            gflops: per(flops),
            gbytes_per_s: per(bytes),
            iters: t.iters,
            clock: t.clock,
        });
        self.progress.inc(1);
        Ok(t.seconds)
    }

    /// Record that `candidate_s` ran `baseline_s / candidate_s` times faster than the baseline.
    pub fn speedup(&mut self, what: &str, baseline_s: f64, candidate_s: f64) {
        self.report.speedups.push(Speedup {
            what: what.to_string(),
            factor: baseline_s / candidate_s,
        });
    }

    /// Close the progress bar and return the report.
    pub fn finish(self) -> SuiteReport {
        self.progress.finish_and_clear();
        self.report
    }
}

impl SuiteReport {
    /// The table people read: one row per kernel and shape, then the speedups.
    pub fn table(&self) -> String {
        let mut s = format!(
            "adapter: {} | driver: {} | backend: {}\n",
            self.adapter, self.driver, self.backend
        );
        s += &format!(
            "{:<48} {:<24} {:>11} {:>10} {:>9}\n",
            "kernel", "shape", "time (ms)", "GFLOP/s", "GB/s"
        );
        let opt = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.2}"));
        for r in &self.rows {
            s += &format!(
                "{:<48} {:<24} {:>11.3} {:>10} {:>9}\n",
                r.kernel,
                r.shape,
                r.seconds * 1e3,
                opt(r.gflops),
                opt(r.gbytes_per_s)
            );
        }
        for sp in &self.speedups {
            s += &format!("speedup: {}: {:.1}x\n", sp.what, sp.factor);
        }
        s
    }

    /// Write the report as JSON to `path` (through a temporary file, then renamed).
    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        crate::util::fs::write_atomic(path, serde_json::to_string_pretty(self)?.as_bytes())
    }
}
