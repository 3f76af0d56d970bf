//! `--devices`: which wgpu devices a data-parallel run opens.

use anyhow::{Context, Result, bail};

use crate::gpu::{self, AdapterRequest, Gpu};

/// The adapters as `locomotion info` lists them: "index name [backend; type]".
fn listing(adapters: &[wgpu::Adapter]) -> String {
    adapters
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let info = a.get_info();
            format!(
                "{i} {} [{:?}; {:?}]",
                info.name, info.backend, info.device_type
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Open the devices `spec` names: `N` opens N devices on the adapter `req` chooses (several
/// on one adapter work, e.g. to test on one CPU adapter); a comma-separated list names
/// adapters by their index in `locomotion info` or by a case-insensitive part of their name
/// (`0,1`, `nvidia,amd`); `all` takes every GPU adapter.
pub fn open_devices(spec: &str, req: &AdapterRequest) -> Result<Vec<Gpu>> {
    let spec = spec.trim();
    if let Ok(n) = spec.parse::<usize>() {
        if !(1..=64).contains(&n) {
            bail!("--devices {n}: give 1 to 64 devices, a list of adapters or all");
        }
        let adapter = gpu::choose(gpu::discover(), req)?;
        return open_all(vec![adapter; n]);
    }
    let adapters = gpu::discover();
    let chosen: Vec<wgpu::Adapter> = if spec.eq_ignore_ascii_case("all") {
        let gpus: Vec<_> = adapters
            .iter()
            .filter(|a| a.get_info().device_type != wgpu::DeviceType::Cpu)
            .cloned()
            .collect();
        if gpus.is_empty() {
            bail!(
                "--devices all: no GPU adapter found (adapters: {}); --devices N opens N devices on the CPU adapter",
                listing(&adapters)
            );
        }
        gpus
    } else {
        let mut out = Vec::new();
        for item in spec.split(',').map(str::trim) {
            if item.is_empty() {
                bail!("--devices {spec:?}: an empty entry in the list");
            }
            let found = match item.parse::<usize>() {
                Ok(i) => adapters.get(i),
                Err(_) => {
                    let want = item.to_lowercase();
                    adapters
                        .iter()
                        .find(|a| a.get_info().name.to_lowercase().contains(&want))
                }
            };
            match found {
                Some(a) => out.push(a.clone()),
                None => bail!(
                    "--devices: no adapter '{item}' (adapters: {})",
                    if adapters.is_empty() {
                        "none".to_string()
                    } else {
                        listing(&adapters)
                    }
                ),
            }
        }
        out
    };
    open_all(chosen)
}

/// Open one device on each adapter; GL refuses more than one device per process (its
/// context is shared), so a run that would need that is refused here, not deadlocked later.
fn open_all(adapters: Vec<wgpu::Adapter>) -> Result<Vec<Gpu>> {
    let gl = adapters
        .iter()
        .filter(|a| a.get_info().backend == wgpu::Backend::Gl)
        .count();
    if adapters.len() > 1 && gl > 0 {
        bail!(
            "--devices: the GL backend cannot drive several devices in one process; use a Vulkan, Metal or DX12 adapter (on Linux without a GPU: apt-get install mesa-vulkan-drivers)"
        );
    }
    adapters
        .into_iter()
        .enumerate()
        .map(|(i, a)| Gpu::open(a).with_context(|| format!("--devices: device {i}")))
        .collect()
}

/// `--device-weights 3,1`: one positive weight per device.
pub fn parse_weights(text: &str) -> Result<Vec<f64>> {
    text.split(',')
        .map(|x| {
            x.trim()
                .parse::<f64>()
                .ok()
                .filter(|w| w.is_finite() && *w > 0.0)
        })
        .collect::<Option<Vec<f64>>>()
        .with_context(|| {
            format!("--device-weights {text:?}: give one positive number per device, like 3,1")
        })
}
