//! The `Gpu` context: adapter, device, queue, probed capabilities, and the shared pipeline
//! cache and buffer pool.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;

use super::adapter::{self, AdapterRequest, AdapterSummary};
use super::choices::{AttentionChoice, Kernels};
use super::disk_cache::{self, DiskCache};
use super::pending::PendingQueue;
use super::trace::{Counters, TraceState};
use super::{BindGroupCache, BufferPool, GpuError, PipelineCache};

/// Optional capabilities the engine uses when the adapter has them.
#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct Caps {
    /// `enable f16;` shaders and f16 storage.
    pub f16: bool,
    /// Timestamp queries around passes (GPU-side kernel timing).
    pub timestamps: bool,
    /// Subgroup operations (sizes below).
    pub subgroups: bool,
    pub subgroup_min_size: u32,
    pub subgroup_max_size: u32,
}

/// An open device with everything kernels need; cheap to clone.
#[derive(Clone)]
pub struct Gpu {
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub summary: AdapterSummary,
    pub caps: Caps,
    pub limits: wgpu::Limits,
    /// The kernel variants launchers pick (see [`Kernels`]).
    pub kernels: Kernels,
    /// How attention runs (see [`AttentionChoice`]).
    pub attention: AttentionChoice,
    pub pool: BufferPool,
    pub pipelines: Arc<PipelineCache>,
    /// Bind groups reused across dispatches and steps (see [`BindGroupCache`]).
    pub bind_groups: Arc<BindGroupCache>,
    /// Readbacks so far ([`Gpu::read`] calls, every clone counting together): how tests see
    /// that a hot loop reads nothing back.
    pub(crate) readbacks: Arc<AtomicU64>,
    /// Dispatches, submits and matmul FLOPs recorded (see [`Gpu::counters`]).
    pub(crate) counters: Arc<Counters>,
    /// The step trace (see [`Gpu::trace_begin`]).
    pub(crate) trace: Arc<TraceState>,
    /// Finished batches waiting for one queue submit (see [`Gpu::flush`]).
    pub(crate) pending: Arc<PendingQueue>,
    /// The first error the device reported outside an error scope, or its loss: wgpu's
    /// default handler panics; this one keeps the message for [`Gpu::wait`] to return.
    pub(crate) uncaptured: Arc<Mutex<Option<String>>>,
}

impl Gpu {
    /// Choose an adapter as `req` says (and the WGPU_* variables) and open a device on it.
    pub fn new(req: &AdapterRequest) -> Result<Self, GpuError> {
        let chosen = adapter::choose(adapter::discover(), req)?;
        Self::open(chosen)
    }

    /// A process-wide device on the default adapter, opened on first use (tests, CLI).
    pub fn shared() -> Result<Self, GpuError> {
        static SHARED: OnceLock<Result<Gpu, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| Gpu::new(&AdapterRequest::default()).map_err(|e| e.to_string()))
            .clone()
            .map_err(GpuError::Unavailable)
    }

    /// Open a device on `adapter` with its own limits and the optional features we use.
    pub fn open(adapter: wgpu::Adapter) -> Result<Self, GpuError> {
        let info = adapter.get_info();
        let summary = AdapterSummary::from_info(&info);
        let have = adapter.features();
        let mut wanted =
            wgpu::Features::SHADER_F16 | wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::SUBGROUP;
        if disk_cache::cache_dir().is_some() {
            wanted |= wgpu::Features::PIPELINE_CACHE;
        }
        let features = have & wanted;
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("locomotion"),
            required_features: features,
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| GpuError::RequestDevice {
            adapter: info.name.clone(),
            reason: e.to_string(),
        })?;
        let caps = Caps {
            f16: features.contains(wgpu::Features::SHADER_F16),
            timestamps: features.contains(wgpu::Features::TIMESTAMP_QUERY),
            subgroups: features.contains(wgpu::Features::SUBGROUP),
            subgroup_min_size: info.subgroup_min_size,
            subgroup_max_size: info.subgroup_max_size,
        };
        let uncaptured = keep_uncaptured_errors(&device);
        let pool = BufferPool::new(device.clone(), queue.clone(), &limits);
        let kernels = Kernels::from_env(&summary.device_type)?;
        let attention = AttentionChoice::from_env()?;
        let pipelines = Arc::new(PipelineCache::with_disk(DiskCache::open(&device, &info)));
        let counters: Arc<Counters> = Arc::default();
        let trace: Arc<TraceState> = Arc::default();
        let pending = Arc::new(PendingQueue::new(
            queue.clone(),
            Arc::clone(&counters),
            Arc::clone(&trace),
        ));
        Ok(Self {
            adapter,
            device,
            queue,
            summary,
            caps,
            limits,
            kernels,
            attention,
            pool,
            pipelines,
            bind_groups: Arc::default(),
            readbacks: Arc::default(),
            counters,
            trace,
            pending,
            uncaptured,
        })
    }

    /// The error the device reported outside any error scope since the last call, if any
    /// (see [`Gpu::wait`]).
    pub fn take_device_error(&self) -> Option<GpuError> {
        let mut slot = self.uncaptured.lock().unwrap_or_else(|p| p.into_inner());
        slot.take().map(GpuError::Device)
    }

    /// True when this adapter runs on the CPU (lavapipe, WARP, SwiftShader).
    pub fn is_cpu(&self) -> bool {
        self.summary.device_type == "Cpu"
    }

    /// True when launchers pick the variants for CPU drivers (see [`Kernels`]).
    pub fn cpu_kernels(&self) -> bool {
        self.kernels == Kernels::Cpu
    }

    /// The same device (queue, pool, pipelines shared) with launchers picking `kernels`:
    /// e.g. the GPU variants on a CPU adapter, to test the path a GPU takes.
    pub fn with_kernels(&self, kernels: Kernels) -> Gpu {
        Gpu {
            kernels,
            ..self.clone()
        }
    }

    /// The same device with attention running as `attention` says (kernel development:
    /// compare variants on one device, as `LOCOMOTION_ATTENTION*` would across runs).
    pub fn with_attention(&self, attention: AttentionChoice) -> Gpu {
        Gpu {
            attention,
            ..self.clone()
        }
    }
}

/// Route the device's uncaptured errors and its loss into a slot instead of wgpu's default
/// panic; the first message is kept (later ones usually follow from it).
fn keep_uncaptured_errors(device: &wgpu::Device) -> Arc<Mutex<Option<String>>> {
    let slot: Arc<Mutex<Option<String>>> = Arc::default();
    let keep = |slot: &Arc<Mutex<Option<String>>>, msg: String| {
        let mut s = slot.lock().unwrap_or_else(|p| p.into_inner());
        if s.is_none() {
            // One line: wgpu's messages span several.
            *s = Some(msg.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    };
    let errors = Arc::clone(&slot);
    device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| keep(&errors, e.to_string())));
    let lost = Arc::clone(&slot);
    device.set_device_lost_callback(move |reason, msg| {
        // Dropping the device at exit reports `Destroyed`: not an error.
        if reason != wgpu::DeviceLostReason::Destroyed {
            keep(&lost, format!("device lost: {msg}"));
        }
    });
    slot
}
