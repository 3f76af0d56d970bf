//! `locomotion info`: every adapter found, the chosen one, its features and key limits.

use serde::Serialize;

use crate::gpu::{self, AdapterRequest, AdapterSummary, AttentionChoice, Caps, Gpu, Kernels};
use crate::tensor::ops::choices::{KernelChoice, attention_kernels, kernel_choices};

/// Key limits worth printing.
#[derive(Debug, Serialize)]
pub struct KeyLimits {
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub max_compute_workgroups_per_dimension: u32,
    pub max_compute_workgroup_storage_size: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_storage_buffers_per_shader_stage: u32,
}

/// Everything `info` reports.
#[derive(Debug, Serialize)]
pub struct Info {
    pub version: &'static str,
    pub adapters: Vec<AdapterSummary>,
    pub chosen: AdapterSummary,
    pub caps: Caps,
    pub limits: KeyLimits,
    /// The kernel choices the device opened with (see [`crate::gpu::AttentionChoice`]).
    pub choices: Choices,
    /// The driver's pipeline cache on disk: its file and whether it was read, or why none.
    pub pipeline_cache: String,
}

/// Which kernels run, as the environment settings resolved.
#[derive(Debug, Serialize)]
pub struct Choices {
    /// `LOCOMOTION_KERNELS`.
    pub kernels: Kernels,
    /// `LOCOMOTION_ATTENTION` and `LOCOMOTION_ATTENTION_BLOCK`.
    pub attention: AttentionChoice,
    /// The attention kernels that run, in words.
    pub attention_kernels: String,
    /// Every kernel choice a launcher makes: what runs, and the setting that changes it.
    pub each: Vec<KernelChoice>,
    /// `WGPU_POWER_PREF`.
    pub power_preference: String,
}

/// Gather the report for the adapter `req` selects.
pub fn gather(req: &AdapterRequest) -> anyhow::Result<Info> {
    let adapters = gpu::discover()
        .iter()
        .map(|a| AdapterSummary::from_info(&a.get_info()))
        .collect();
    let g = Gpu::new(req)?;
    let l = &g.limits;
    let choices = Choices {
        kernels: g.kernels,
        attention: g.attention,
        attention_kernels: attention_kernels(&g),
        each: kernel_choices(&g),
        power_preference: format!("{:?}", gpu::power_preference()?),
    };
    Ok(Info {
        version: env!("CARGO_PKG_VERSION"),
        adapters,
        chosen: g.summary.clone(),
        caps: g.caps,
        limits: KeyLimits {
            max_storage_buffer_binding_size: l.max_storage_buffer_binding_size,
            max_buffer_size: l.max_buffer_size,
            max_compute_workgroups_per_dimension: l.max_compute_workgroups_per_dimension,
            max_compute_workgroup_storage_size: l.max_compute_workgroup_storage_size,
            max_compute_invocations_per_workgroup: l.max_compute_invocations_per_workgroup,
            max_storage_buffers_per_shader_stage: l.max_storage_buffers_per_shader_stage,
        },
        choices,
        pipeline_cache: g.pipelines.describe_disk_cache(
            g.adapter
                .features()
                .contains(wgpu::Features::PIPELINE_CACHE),
        ),
    })
}

/// Print the report as text or JSON; with `require_gpu`, then fail unless the chosen
/// adapter is a GPU on Vulkan, Metal or DX12 ([`AdapterSummary::require_gpu`]).
pub fn run(req: &AdapterRequest, json: bool, require_gpu: bool) -> anyhow::Result<()> {
    let info = gather(req)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        print_text(&info);
    }
    if require_gpu {
        info.chosen
            .require_gpu()
            .map_err(|e| anyhow::anyhow!("--require-gpu: {e}"))?;
    }
    Ok(())
}

fn print_text(info: &Info) {
    println!("locomotion {}", info.version);
    println!("adapters found: {}", info.adapters.len());
    for a in &info.adapters {
        let mark = if a.name == info.chosen.name && a.backend == info.chosen.backend {
            "*"
        } else {
            " "
        };
        println!(
            " {mark} {} [{}; {}] driver: {} {}",
            a.name, a.backend, a.device_type, a.driver, a.driver_info
        );
    }
    let c = &info.chosen;
    println!("chosen: {} ({}, {})", c.name, c.backend, c.device_type);
    let caps = &info.caps;
    println!(
        "features: shader-f16 {}, timestamp-query {}, subgroups {} (size {}..{})",
        yes(caps.f16),
        yes(caps.timestamps),
        yes(caps.subgroups),
        caps.subgroup_min_size,
        caps.subgroup_max_size
    );
    let l = &info.limits;
    println!(
        "limits: storage binding {} MiB, buffer {} MiB, workgroups/dim {}, workgroup memory {} KiB, invocations/workgroup {}, storage buffers/stage {}",
        l.max_storage_buffer_binding_size >> 20,
        l.max_buffer_size >> 20,
        l.max_compute_workgroups_per_dimension,
        l.max_compute_workgroup_storage_size >> 10,
        l.max_compute_invocations_per_workgroup,
        l.max_storage_buffers_per_shader_stage
    );
    let k = &info.choices;
    println!("kernel choices (what a training step runs, and the setting that changes it):");
    for c in &k.each {
        println!("  {}: {} ({})", c.what, c.runs, c.setting);
    }
    println!(
        "  comparison kernels, never in a step: matmul tiled and naive, unfused attention, the FMA ceiling (src/tensor/ops/dev/; `locomotion bench kernels` runs them)"
    );
    println!(
        "power preference: {} (WGPU_POWER_PREF=high|low|none)",
        k.power_preference
    );
    println!(
        "pipeline cache: {} (LOCOMOTION_PIPELINE_CACHE)",
        info.pipeline_cache
    );
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
