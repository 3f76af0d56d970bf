//! The settings that choose which kernels run, each read from its environment variable in
//! one place: `LOCOMOTION_KERNELS`, `LOCOMOTION_ATTENTION`, `LOCOMOTION_ATTENTION_BLOCK` (read
//! when a device opens, kept in [`crate::gpu::Gpu`]) and `WGPU_POWER_PREF` (read when an
//! adapter is chosen). A value a setting does not take is an error naming the variable;
//! `locomotion info` prints what each resolved to.

use serde::Serialize;

use super::GpuError;

/// Which kernel variants the launchers pick: those tuned for CPU drivers (packed-texture and
/// subgroup matmul, register-blocked attention, one-row-per-invocation layer norm) or those
/// for GPUs (the SGEMM matmul with split-K, attention by the matmul route while its scores fit,
/// one workgroup per layer-norm row).
/// `LOCOMOTION_KERNELS=cpu|gpu|auto` sets it (auto, the default: by the adapter's type), so
/// the path a discrete GPU takes can be run, and tested, on a CPU adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kernels {
    /// Variants for CPU drivers (lavapipe, WARP, SwiftShader).
    Cpu,
    /// Variants for GPUs.
    Gpu,
}

impl Kernels {
    /// The choice `LOCOMOTION_KERNELS` asks for on an adapter of `device_type` (as wgpu
    /// spells it: "Cpu", "DiscreteGpu", ...).
    pub fn from_env(device_type: &str) -> Result<Self, GpuError> {
        Self::choose(
            std::env::var("LOCOMOTION_KERNELS").ok().as_deref(),
            device_type,
        )
    }

    /// The choice a `LOCOMOTION_KERNELS` value (None: unset) means on `device_type`.
    pub fn choose(setting: Option<&str>, device_type: &str) -> Result<Self, GpuError> {
        let auto = if device_type == "Cpu" {
            Kernels::Cpu
        } else {
            Kernels::Gpu
        };
        match setting.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("auto") => Ok(auto),
            Some("cpu") => Ok(Kernels::Cpu),
            Some("gpu") => Ok(Kernels::Gpu),
            Some(_) => Err(GpuError::Setting {
                name: "LOCOMOTION_KERNELS",
                value: setting.unwrap_or_default().to_string(),
                choices: "cpu, gpu, auto",
            }),
        }
    }
}

/// Which attention kernels run, as `LOCOMOTION_ATTENTION=blocked|rows|matmul` asks (kernel
/// development: compare the variants on one machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AttentionRoute {
    /// By the kernel choice and the shape (unset or `auto`).
    #[default]
    Auto,
    /// The fused register-blocked kernels.
    Blocked,
    /// The fused one-row-per-thread kernels.
    Rows,
    /// Attention as matmuls wherever the head dimension and the binding size allow.
    Matmul,
}

/// How attention runs: the route, and the fused kernels' (threads, rows per thread) of the
/// forward and the backward when `LOCOMOTION_ATTENTION_BLOCK=tpw,r,tpw,r` sets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct AttentionChoice {
    pub route: AttentionRoute,
    pub blocks: Option<[u32; 4]>,
}

/// Most threads a fused attention workgroup may have (WebGPU's minimum invocation limit).
const MAX_BLOCK_THREADS: u32 = 256;
/// Most rows a fused attention thread holds (the shaders' register arrays).
const MAX_BLOCK_ROWS: u32 = 4;

impl AttentionChoice {
    /// The choice `LOCOMOTION_ATTENTION` and `LOCOMOTION_ATTENTION_BLOCK` ask for.
    pub fn from_env() -> Result<Self, GpuError> {
        let var = |n| std::env::var(n).ok();
        Self::choose(
            var("LOCOMOTION_ATTENTION").as_deref(),
            var("LOCOMOTION_ATTENTION_BLOCK").as_deref(),
        )
    }

    /// The choice the two variables' values (None: unset) mean.
    pub fn choose(route: Option<&str>, blocks: Option<&str>) -> Result<Self, GpuError> {
        let route = match route.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("auto") => AttentionRoute::Auto,
            Some("blocked") => AttentionRoute::Blocked,
            Some("rows") => AttentionRoute::Rows,
            Some("matmul") => AttentionRoute::Matmul,
            Some(_) => {
                return Err(GpuError::Setting {
                    name: "LOCOMOTION_ATTENTION",
                    value: route.unwrap_or_default().to_string(),
                    choices: "blocked, rows, matmul, auto",
                });
            }
        };
        let blocks = match blocks.map(str::trim).filter(|b| !b.is_empty()) {
            None => None,
            Some(b) => Some(parse_blocks(b).ok_or_else(|| GpuError::SettingFormat {
                name: "LOCOMOTION_ATTENTION_BLOCK",
                value: b.to_string(),
                expected: format!(
                    "four numbers THREADS,ROWS,THREADS,ROWS (forward, backward; threads 1 to {MAX_BLOCK_THREADS}, rows 1 to {MAX_BLOCK_ROWS})"
                ),
            })?),
        };
        Ok(Self { route, blocks })
    }
}

/// `tpw,r,tpw,r` with every count in range, or None.
fn parse_blocks(s: &str) -> Option<[u32; 4]> {
    let n: Vec<u32> = s
        .split(',')
        .map(|x| x.trim().parse().ok())
        .collect::<Option<_>>()?;
    let b: [u32; 4] = n.try_into().ok()?;
    let fits = |(t, r): (u32, u32)| {
        (1..=MAX_BLOCK_THREADS).contains(&t) && (1..=MAX_BLOCK_ROWS).contains(&r)
    };
    (fits((b[0], b[1])) && fits((b[2], b[3]))).then_some(b)
}

/// The adapter preference `WGPU_POWER_PREF=high|low|none` asks for (unset: high).
pub fn power_preference() -> Result<wgpu::PowerPreference, GpuError> {
    power_preference_of(std::env::var("WGPU_POWER_PREF").ok().as_deref())
}

/// The preference a `WGPU_POWER_PREF` value (None: unset) means.
pub fn power_preference_of(setting: Option<&str>) -> Result<wgpu::PowerPreference, GpuError> {
    match setting.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("high") => Ok(wgpu::PowerPreference::HighPerformance),
        Some("low") => Ok(wgpu::PowerPreference::LowPower),
        Some("none") => Ok(wgpu::PowerPreference::None),
        Some(_) => Err(GpuError::Setting {
            name: "WGPU_POWER_PREF",
            value: setting.unwrap_or_default().to_string(),
            choices: "high, low, none",
        }),
    }
}
