//! Timing of named GPU work: timestamp queries where the adapter has them, wall clock
//! around submit-and-wait otherwise. Used by the benchmark suite and the trainer.

use std::time::Instant;

use serde::Serialize;

use super::batch::PendingTimestamp;
use super::{CommandBatch, Gpu, GpuError};

/// Where a timing came from.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Clock {
    /// GPU timestamp queries around the recorded work.
    Timestamp,
    /// Host wall clock around submit and wait.
    Wall,
}

/// One measurement: mean seconds per iteration of a named piece of work.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    pub name: String,
    pub seconds: f64,
    pub iters: u32,
    pub clock: Clock,
}

/// Times named GPU work and keeps the records.
pub struct Profiler {
    gpu: Gpu,
    query: Option<wgpu::QuerySet>,
    /// Every timing taken, in order.
    pub records: Vec<Timing>,
}

impl Profiler {
    /// A profiler on `gpu`; `force_wall` ignores timestamp queries even when present.
    pub fn new(gpu: &Gpu, force_wall: bool) -> Self {
        let query = (gpu.caps.timestamps && !force_wall).then(|| {
            gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("profiler"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            })
        });
        Self {
            gpu: gpu.clone(),
            query,
            records: Vec::new(),
        }
    }

    /// The clock this profiler uses.
    pub fn clock(&self) -> Clock {
        if self.query.is_some() {
            Clock::Timestamp
        } else {
            Clock::Wall
        }
    }

    /// Run `record` once to warm up (pipeline compilation, first-touch), then `iters` times
    /// in one batch, and record the mean time per iteration under `name`.
    pub fn time(
        &mut self,
        name: &str,
        iters: u32,
        mut record: impl FnMut(&mut CommandBatch) -> Result<(), GpuError>,
    ) -> Result<Timing, GpuError> {
        let gpu = self.gpu.clone();
        let mut warm = CommandBatch::new(&gpu);
        record(&mut warm)?;
        warm.submit_and_wait()?;

        let iters = iters.max(1);
        let mut batch = CommandBatch::new(&gpu);
        if let Some(q) = &self.query {
            batch.timestamp_marker(PendingTimestamp {
                query_set: q,
                begin: Some(0),
                end: None,
            });
        }
        for _ in 0..iters {
            record(&mut batch)?;
        }
        let seconds = if let Some(q) = &self.query {
            batch.timestamp_marker(PendingTimestamp {
                query_set: q,
                begin: None,
                end: Some(1),
            });
            let resolve = gpu.pool.get(
                16,
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            )?;
            batch.encoder().resolve_query_set(q, 0..2, resolve.raw(), 0);
            batch.submit_and_wait()?;
            let ticks: Vec<u64> = gpu.read(&resolve)?;
            let period = gpu.queue.get_timestamp_period() as f64;
            ticks[1].saturating_sub(ticks[0]) as f64 * period * 1e-9
        } else {
            let t0 = Instant::now();
            batch.submit_and_wait()?;
            t0.elapsed().as_secs_f64()
        };
        let timing = Timing {
            name: name.to_string(),
            seconds: seconds / iters as f64,
            iters,
            clock: self.clock(),
        };
        self.records.push(timing.clone());
        Ok(timing)
    }
}
