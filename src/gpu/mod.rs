//! The GPU runtime: adapter choice, device, buffer pool, pipeline cache, command batching,
//! readback and profiling. Everything else in the engine records work through [`CommandBatch`].

mod adapter;
mod batch;
mod bindings;
mod choices;
mod context;
mod disk_cache;
mod error;
mod layout;
mod params;
mod pending;
mod pipeline;
mod pool;
mod profiler;
mod readback;
mod trace;

pub use adapter::{AdapterRequest, AdapterSummary, choose, discover, rank};
pub use batch::{CommandBatch, Groups, fold_linear};
pub use bindings::BindGroupCache;
pub use choices::{
    AttentionChoice, AttentionRoute, Kernels, power_preference, power_preference_of,
};
pub use context::{Caps, Gpu};
pub use disk_cache::{
    CACHE_ENV as PIPELINE_CACHE_ENV, cache_dir as pipeline_cache_dir,
    cache_file as pipeline_cache_file, decode as decode_pipeline_cache,
    encode as encode_pipeline_cache,
};
pub use error::GpuError;
pub(crate) use params::kernel_params;
pub use params::{KernelParams, ParamsField, ParamsLayout, check_shader, is_padding};
pub use pending::FLUSH_DISPATCHES;
pub use pipeline::{Compiled, Kernel, PipelineCache};
pub use pool::{BufferPool, GpuBuffer, PoolStats, STORAGE_USAGE, size_class};
pub use profiler::{Clock, Profiler, Timing};
pub use trace::{CounterSnapshot, KernelTime, StepTrace};
