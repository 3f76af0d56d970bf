//! Adapter discovery and choice: honours WGPU_BACKEND, WGPU_ADAPTER_NAME, WGPU_POWER_PREF and
//! the `--adapter` flag; prefers real GPUs and falls back to a CPU adapter (lavapipe).

use serde::Serialize;

use super::GpuError;

/// How the user asked for an adapter.
#[derive(Debug, Clone, Default)]
pub struct AdapterRequest {
    /// Case-insensitive substring of the adapter name (`--adapter`); falls back to
    /// `WGPU_ADAPTER_NAME` when `None`.
    pub name: Option<String>,
}

/// A printable description of one adapter.
#[derive(Debug, Clone, Serialize)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    pub vendor: u32,
    pub device: u32,
}

impl AdapterSummary {
    /// Summarise wgpu's adapter info.
    pub fn from_info(info: &wgpu::AdapterInfo) -> Self {
        Self {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
            vendor: info.vendor,
            device: info.device,
        }
    }
}

impl AdapterSummary {
    /// Ok for a discrete or integrated GPU on Vulkan, Metal or DX12, the adapters whose
    /// timings mean something; otherwise one line naming the adapter found.
    pub fn require_gpu(&self) -> Result<(), String> {
        let gpu = matches!(self.device_type.as_str(), "DiscreteGpu" | "IntegratedGpu");
        let backend = matches!(self.backend.as_str(), "Vulkan" | "Metal" | "Dx12");
        if gpu && backend {
            return Ok(());
        }
        Err(format!(
            "the chosen adapter '{}' is a {} adapter on {}, not a discrete or integrated GPU on Vulkan, Metal or DX12 (driver: {} {}): install or point VK_DRIVER_FILES at the GPU's driver, or pick the GPU with --adapter NAME",
            self.name, self.device_type, self.backend, self.driver, self.driver_info
        ))
    }
}

/// A wgpu instance over `backends`, with flags and backend options from the environment.
fn instance(backends: wgpu::Backends) -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    desc.backends = backends;
    wgpu::Instance::new(desc)
}

/// Every adapter worth offering, in the order wgpu lists them. With `WGPU_BACKEND` set, exactly
/// those backends; otherwise the primary ones (Vulkan, Metal, DX12) and, only when none of
/// those has an adapter, GL (probing GL prints EGL noise on headless machines).
pub fn discover() -> Vec<wgpu::Adapter> {
    let list = |b: wgpu::Backends| pollster::block_on(instance(b).enumerate_adapters(b));
    match wgpu::Backends::from_env() {
        Some(b) => list(b),
        None => {
            let primary = list(wgpu::Backends::PRIMARY);
            if primary.is_empty() {
                list(wgpu::Backends::SECONDARY)
            } else {
                primary
            }
        }
    }
}

/// Rank for the default choice: lower is better. Real GPUs first, the discrete one first
/// unless the power preference asks for the integrated one (`none`: wgpu's order); then
/// virtual GPUs; then CPU adapters; then unknown ones.
pub fn rank(t: wgpu::DeviceType, pref: wgpu::PowerPreference) -> u8 {
    use wgpu::DeviceType::*;
    use wgpu::PowerPreference::*;
    match (t, pref) {
        (IntegratedGpu, HighPerformance) | (DiscreteGpu, LowPower) => 1,
        (IntegratedGpu | DiscreteGpu, _) => 0,
        (VirtualGpu, _) => 2,
        (Cpu, _) => 3,
        (Other, _) => 4,
    }
}

/// Choose an adapter for `req` among `adapters`, or explain why none fits.
pub fn choose(
    adapters: Vec<wgpu::Adapter>,
    req: &AdapterRequest,
) -> Result<wgpu::Adapter, GpuError> {
    let pref = super::power_preference()?;
    let wanted = req
        .name
        .clone()
        .or_else(|| std::env::var("WGPU_ADAPTER_NAME").ok())
        .filter(|s| !s.is_empty());
    let names: Vec<String> = adapters
        .iter()
        .map(|a| {
            let i = a.get_info();
            format!("{} ({:?})", i.name, i.backend)
        })
        .collect();
    let found = if names.is_empty() {
        String::new()
    } else {
        format!("; adapters present: {}", names.join(", "))
    };
    let requested = match (&wanted, std::env::var("WGPU_BACKEND")) {
        (Some(n), _) => format!(" matching name '{n}'"),
        (None, Ok(b)) if !b.is_empty() => format!(" for WGPU_BACKEND={b}"),
        _ => String::new(),
    };
    let mut candidates: Vec<wgpu::Adapter> = match &wanted {
        Some(n) => {
            let n = n.to_lowercase();
            adapters
                .into_iter()
                .filter(|a| a.get_info().name.to_lowercase().contains(&n))
                .collect()
        }
        None => adapters,
    };
    // Stable sort keeps wgpu's order among equals (Vulkan before GL on Linux).
    candidates.sort_by_key(|a| rank(a.get_info().device_type, pref));
    candidates
        .into_iter()
        .next()
        .ok_or(GpuError::NoAdapter { requested, found })
}
