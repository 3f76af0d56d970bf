//! Where GPU work goes: device-wide counters (dispatches, submits, matmul FLOPs) that are always
//! on, and a step trace that, while enabled, puts timestamp queries around every dispatch and
//! measures the host time each dispatch and each submit costs. `bench train --profile` reads it.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use super::{Gpu, GpuError};

/// Queries per query set (wgpu's limit is 4096 per set).
const QUERIES_PER_SET: u32 = 4096;

/// Counters of everything recorded on one device (every clone and thread together).
#[derive(Default)]
pub struct Counters {
    dispatches: AtomicU64,
    submits: AtomicU64,
    matmul_flops: AtomicU64,
    bind_groups_created: AtomicU64,
    bind_groups_reused: AtomicU64,
}

/// A reading of the [`Counters`]; subtract two with [`CounterSnapshot::since`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CounterSnapshot {
    /// Compute dispatches recorded.
    pub dispatches: u64,
    /// Queue submits (batches, readbacks).
    pub submits: u64,
    /// Floating-point operations of the matmuls recorded (attention's two products included).
    pub matmul_flops: u64,
    /// Bind groups created (cache misses and uncacheable dispatches).
    pub bind_groups_created: u64,
    /// Dispatches whose bind group came from the cache.
    pub bind_groups_reused: u64,
}

impl CounterSnapshot {
    /// What happened between `earlier` and this reading.
    pub fn since(&self, earlier: &CounterSnapshot) -> CounterSnapshot {
        CounterSnapshot {
            dispatches: self.dispatches - earlier.dispatches,
            submits: self.submits - earlier.submits,
            matmul_flops: self.matmul_flops - earlier.matmul_flops,
            bind_groups_created: self.bind_groups_created - earlier.bind_groups_created,
            bind_groups_reused: self.bind_groups_reused - earlier.bind_groups_reused,
        }
    }
}

impl Counters {
    pub(crate) fn dispatch(&self) {
        self.dispatches.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn bind_group(&self, reused: bool) {
        let c = if reused {
            &self.bind_groups_reused
        } else {
            &self.bind_groups_created
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn submit(&self) {
        self.submits.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn flops(&self, flops: f64) {
        self.matmul_flops
            .fetch_add(flops.max(0.0) as u64, Ordering::Relaxed);
    }
    fn read(&self) -> CounterSnapshot {
        CounterSnapshot {
            dispatches: self.dispatches.load(Ordering::Relaxed),
            submits: self.submits.load(Ordering::Relaxed),
            matmul_flops: self.matmul_flops.load(Ordering::Relaxed),
            bind_groups_created: self.bind_groups_created.load(Ordering::Relaxed),
            bind_groups_reused: self.bind_groups_reused.load(Ordering::Relaxed),
        }
    }
}

/// One traced dispatch.
struct Event {
    kernel: String,
    /// Floating-point operations it did, where its launcher said (matmuls).
    flops: f64,
    host: Duration,
    /// (query set, first of its two queries) where the adapter has timestamps.
    query: Option<(usize, u32)>,
    /// Which submit carried it (index into the trace's submits, once submitted).
    submit: usize,
}

/// The trace being collected.
#[derive(Default)]
struct Collecting {
    sets: Vec<wgpu::QuerySet>,
    used: u32,
    events: Vec<Event>,
    submits: Vec<Duration>,
    copies: u64,
    /// What the launcher said about the next dispatch: a shape for its row, and its FLOPs.
    note: Option<(String, f64)>,
}

/// The step trace's switch and what it has collected.
#[derive(Default)]
pub struct TraceState {
    on: AtomicBool,
    collecting: Mutex<Collecting>,
}

/// The timestamp writes a traced dispatch's pass gets.
pub(crate) struct TraceSlot {
    pub set: wgpu::QuerySet,
    set_index: usize,
    pub index: u32,
}

impl TraceState {
    /// True while a trace is being collected (cheap: checked on every dispatch).
    pub(crate) fn on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Two timestamp queries for the next traced dispatch (None without timestamps).
    pub(crate) fn slot(&self, gpu: &Gpu) -> Option<TraceSlot> {
        if !gpu.caps.timestamps {
            return None;
        }
        let mut c = self.collecting.lock().unwrap();
        if c.sets.is_empty() || c.used + 2 > QUERIES_PER_SET {
            c.sets
                .push(gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("step trace"),
                    ty: wgpu::QueryType::Timestamp,
                    count: QUERIES_PER_SET,
                }));
            c.used = 0;
        }
        let index = c.used;
        c.used += 2;
        Some(TraceSlot {
            set: c.sets.last().expect("a set was just pushed").clone(),
            set_index: c.sets.len() - 1,
            index,
        })
    }

    /// Name the shape of the next dispatch (it gets a row of its own: `kernel shape`) and the
    /// FLOPs it does, so the profile shows each matmul shape's GFLOP/s. Callers check
    /// [`TraceState::on`] first, so that nothing is formatted untraced.
    pub(crate) fn note(&self, shape: String, flops: f64) {
        self.collecting.lock().unwrap().note = Some((shape, flops));
    }

    /// Note a dispatch of `kernel` that took `host` to record, timed by `slot`.
    pub(crate) fn dispatched(&self, kernel: String, host: Duration, slot: Option<&TraceSlot>) {
        let mut c = self.collecting.lock().unwrap();
        let query = slot.map(|s| (s.set_index, s.index));
        let submit = c.submits.len();
        let (kernel, flops) = match c.note.take() {
            Some((shape, flops)) => (format!("{kernel} {shape}"), flops),
            None => (kernel, 0.0),
        };
        c.events.push(Event {
            kernel,
            flops,
            host,
            query,
            submit,
        });
    }

    /// Note a submit that took `host` on the host.
    pub(crate) fn submitted(&self, host: Duration) {
        self.collecting.lock().unwrap().submits.push(host);
    }

    /// Note a buffer-to-buffer or buffer-to-texture copy.
    pub(crate) fn copied(&self) {
        self.collecting.lock().unwrap().copies += 1;
    }
}

/// One kernel's share of a traced step.
#[derive(Debug, Clone, Serialize)]
pub struct KernelTime {
    /// `shader::entry`.
    pub kernel: String,
    /// Dispatches of it.
    pub count: u64,
    /// GPU seconds by timestamps (None where the adapter has none).
    pub gpu_s: Option<f64>,
    /// Its share of all timed dispatches' GPU time.
    pub share: Option<f64>,
    /// Host seconds spent recording its dispatches.
    pub host_s: f64,
    /// GFLOP/s of its dispatches by their GPU time, where the launcher named their FLOPs.
    pub gflops: Option<f64>,
}

/// What one traced piece of work cost, kernel by kernel.
#[derive(Debug, Clone, Serialize)]
pub struct StepTrace {
    /// Per kernel, most GPU time (or most dispatches) first.
    pub kernels: Vec<KernelTime>,
    /// Dispatches traced.
    pub dispatches: u64,
    /// Submits traced.
    pub submits: u64,
    /// Buffer and texture copies recorded (not timed on their own: they fall in the gaps).
    pub copies: u64,
    /// GPU seconds inside dispatches (sum over dispatches).
    pub gpu_busy_s: Option<f64>,
    /// GPU seconds between consecutive dispatches of one submit (copies, barriers, idle).
    pub gpu_gaps_s: Option<f64>,
    /// Mean host seconds to record one dispatch (bind group, pass).
    pub host_per_dispatch_s: f64,
    /// Mean host seconds of one submit (uniform upload, finish, queue submit).
    pub host_per_submit_s: f64,
    /// Host seconds in dispatch recording and submits together.
    pub host_total_s: f64,
}

impl Gpu {
    /// What the device has recorded so far (see [`CounterSnapshot::since`]).
    pub fn counters(&self) -> CounterSnapshot {
        self.counters.read()
    }

    /// Start tracing every dispatch and submit on this device (any thread).
    pub fn trace_begin(&self) {
        *self.trace.collecting.lock().unwrap() = Collecting::default();
        self.trace.on.store(true, Ordering::SeqCst);
    }

    /// Stop tracing, wait for the GPU, and return the trace (resolving its timestamps).
    pub fn trace_end(&self) -> Result<StepTrace, GpuError> {
        self.trace.on.store(false, Ordering::SeqCst);
        self.wait(None)?;
        let c = std::mem::take(&mut *self.trace.collecting.lock().unwrap());
        let ticks = self.resolve(&c)?;
        let period = self.queue.get_timestamp_period() as f64 * 1e-9;
        let span = |e: &Event| -> Option<(f64, f64)> {
            let (set, i) = e.query?;
            let t = ticks.get(set)?;
            let (a, b) = (t[i as usize], t[i as usize + 1]);
            Some((a as f64 * period, b.saturating_sub(a) as f64 * period))
        };
        let mut by: BTreeMap<&str, (u64, Option<f64>, f64, f64)> = BTreeMap::new();
        let (mut busy, mut gaps) = (None::<f64>, None::<f64>);
        let mut prev: Option<(usize, f64)> = None;
        for e in &c.events {
            let s = span(e);
            let entry = by.entry(&e.kernel).or_insert((0, None, 0.0, 0.0));
            entry.0 += 1;
            entry.2 += e.host.as_secs_f64();
            entry.3 += e.flops;
            if let Some((start, d)) = s {
                entry.1 = Some(entry.1.unwrap_or(0.0) + d);
                busy = Some(busy.unwrap_or(0.0) + d);
                if let Some((submit, end)) = prev
                    && submit == e.submit
                {
                    gaps = Some(gaps.unwrap_or(0.0) + (start - end).max(0.0));
                }
                prev = Some((e.submit, start + d));
            }
        }
        let mut kernels: Vec<KernelTime> = by
            .into_iter()
            .map(|(k, (count, gpu_s, host_s, flops))| KernelTime {
                kernel: k.to_string(),
                count,
                gpu_s,
                share: gpu_s.zip(busy).map(|(g, b)| g / b.max(1e-12)),
                host_s,
                gflops: gpu_s
                    .filter(|_| flops > 0.0)
                    .map(|g| flops / g.max(1e-12) * 1e-9),
            })
            .collect();
        kernels.sort_by(|a, b| {
            let key = |k: &KernelTime| (k.gpu_s.unwrap_or(0.0), k.count as f64);
            key(b).partial_cmp(&key(a)).unwrap()
        });
        let host_d: f64 = c.events.iter().map(|e| e.host.as_secs_f64()).sum();
        let host_s: f64 = c.submits.iter().map(|d| d.as_secs_f64()).sum();
        let (nd, ns) = (c.events.len() as u64, c.submits.len() as u64);
        Ok(StepTrace {
            kernels,
            dispatches: nd,
            submits: ns,
            copies: c.copies,
            gpu_busy_s: busy,
            gpu_gaps_s: gaps,
            host_per_dispatch_s: host_d / nd.max(1) as f64,
            host_per_submit_s: host_s / ns.max(1) as f64,
            host_total_s: host_d + host_s,
        })
    }

    /// The raw timestamps of every query set of `c`, set by set.
    fn resolve(&self, c: &Collecting) -> Result<Vec<Vec<u64>>, GpuError> {
        let mut out = Vec::new();
        for (i, set) in c.sets.iter().enumerate() {
            let n = if i + 1 == c.sets.len() {
                c.used
            } else {
                QUERIES_PER_SET
            };
            if n == 0 {
                out.push(Vec::new());
                continue;
            }
            let buf = self.pool.get(
                8 * n as u64,
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            )?;
            let mut enc = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("trace resolve"),
                });
            enc.resolve_query_set(set, 0..n, buf.raw(), 0);
            self.pending.submit(Some(enc.finish()));
            out.push(self.read::<u64>(&buf)?);
        }
        Ok(out)
    }
}
