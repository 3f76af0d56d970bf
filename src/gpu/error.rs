//! Errors of the GPU runtime: every one is a single line that says what to do.

use thiserror::Error;

/// What can go wrong while finding, opening or using a GPU.
#[derive(Debug, Error)]
pub enum GpuError {
    /// No adapter at all (or none matching the request) was found.
    #[error(
        "no GPU adapter found{requested}: install a GPU driver (Vulkan, Metal, DX12 or GL), or Mesa's CPU driver with `apt-get install mesa-vulkan-drivers`{found}"
    )]
    NoAdapter {
        /// " matching ..." when the user asked for something specific.
        requested: String,
        /// "; adapters present: ..." when some exist but none matched.
        found: String,
    },
    /// The process-wide device could not be opened earlier (the original message).
    #[error("{0}")]
    Unavailable(String),
    /// The adapter refused to open a device.
    #[error("could not open a device on adapter '{adapter}': {reason}")]
    RequestDevice { adapter: String, reason: String },
    /// A buffer larger than the device allows.
    #[error("{what} needs {bytes} bytes but the device allows at most {limit} bytes in one {kind}")]
    TooLarge {
        what: String,
        bytes: u64,
        limit: u64,
        kind: &'static str,
    },
    /// The device could not allocate a buffer (wgpu's out-of-memory error, caught by an
    /// error scope around the allocation).
    #[error(
        "out of GPU memory allocating {what} ({bytes} bytes, with {live_bytes} bytes already allocated): {reason}"
    )]
    OutOfMemory {
        what: String,
        bytes: u64,
        live_bytes: u64,
        reason: String,
    },
    /// An error the device reported outside any error scope (validation, out of memory, or
    /// the device lost), kept by the handler that would otherwise panic.
    #[error("the GPU reported an error: {0}")]
    Device(String),
    /// A dispatch whose grid cannot be expressed within the device's limits.
    #[error("dispatch of {groups} workgroups for '{kernel}' exceeds the device limits")]
    DispatchTooLarge { kernel: String, groups: u64 },
    /// Reading a buffer back failed (device lost or mapping error).
    #[error("reading results back from the GPU failed: {0}")]
    Readback(String),
    /// A kernel launch whose dimensions or buffers do not fit the kernel.
    #[error("{kernel}: {reason}")]
    Launch { kernel: String, reason: String },
    /// A setting (environment variable or flag) with a value it does not take.
    #[error("{name}={value} is not one of {choices}")]
    Setting {
        name: &'static str,
        value: String,
        choices: &'static str,
    },
    /// A setting whose value has the wrong form.
    #[error("{name}={value} is not {expected}")]
    SettingFormat {
        name: &'static str,
        value: String,
        expected: String,
    },
    /// A collective operation between data-parallel replicas failed (a replica stopped, or
    /// did not arrive in time).
    #[error("{0}")]
    Collective(String),
    /// A shader failed to compile on this device.
    #[error("shader '{shader}' entry '{entry}' failed to compile: {reason}")]
    Shader {
        shader: String,
        entry: String,
        reason: String,
    },
}

impl GpuError {
    /// True for the errors a smaller batch or model can cure: out of memory, a buffer or
    /// binding over the device's limit, or a device error that says it ran out of memory.
    pub fn is_memory(&self) -> bool {
        match self {
            GpuError::OutOfMemory { .. } | GpuError::TooLarge { .. } => true,
            GpuError::Device(m) => m.to_ascii_lowercase().contains("memory"),
            _ => false,
        }
    }
}
