//! Every kernel choice the launchers make, in words, beside the setting that changes it: the
//! one place `locomotion info` reads them from. The choices themselves are made where the
//! kernels are launched ([`MatmulKernel::pick`], [`AttentionKernel::pick`],
//! [`super::attention::matmul_route()`], [`super::layernorm::LayerNormDims::rows_kernel`],
//! [`super::colsum::chunking`]); the settings are read in `src/gpu/choices.rs`.

use serde::Serialize;

use super::attention::{AttentionKernel, GPU_ROUTE_MAX_SCORE_BYTES, MATMUL_ROUTE_MIN_SCORES};
use super::colsum::CHUNK_ROWS;
use super::matmul::{MatmulDims, MatmulKernel};
use crate::gpu::{AttentionRoute, Gpu};

/// One choice: what is chosen, what runs on this device, and the setting that changes it.
#[derive(Debug, Clone, Serialize)]
pub struct KernelChoice {
    /// What is chosen, e.g. "matmul" or "attention route".
    pub what: &'static str,
    /// What runs on this device, in words.
    pub runs: String,
    /// The environment variable that changes it, with the values it takes.
    pub setting: &'static str,
}

const KERNELS: &str = "LOCOMOTION_KERNELS=cpu|gpu|auto";

/// Every kernel choice on `gpu`, in the order a reader follows a step.
pub fn kernel_choices(gpu: &Gpu) -> Vec<KernelChoice> {
    let cpu = gpu.cpu_kernels();
    let one = |what, runs: String, setting| KernelChoice {
        what,
        runs,
        setting,
    };
    vec![
        one("kernel variants", variants(gpu).into(), KERNELS),
        one("matmul", matmul(gpu), KERNELS),
        one(
            "layer norm",
            if cpu {
                "one row per invocation where C is a multiple of 4, else one workgroup a row"
            } else {
                "one workgroup a row"
            }
            .into(),
            KERNELS,
        ),
        one(
            "column sums",
            if cpu {
                "every row in one chunk, one dispatch".into()
            } else {
                format!("chunks of {CHUNK_ROWS} rows, then a sum of the chunks")
            },
            KERNELS,
        ),
        one(
            "attention route",
            attention_route(gpu),
            "LOCOMOTION_ATTENTION=auto|blocked|rows|matmul",
        ),
        one(
            "fused attention kernels",
            match AttentionKernel::pick(gpu) {
                AttentionKernel::Blocked => "blocked (several rows a thread)",
                AttentionKernel::Rows => "rows (one row a thread)",
            }
            .into(),
            "LOCOMOTION_ATTENTION=blocked|rows",
        ),
        one(
            "fused attention blocks",
            match gpu.attention.blocks {
                Some([a, b, c, d]) => format!("{a}x{b} forward, {c}x{d} backward"),
                None => "by shape".into(),
            },
            "LOCOMOTION_ATTENTION_BLOCK=THREADS,ROWS,THREADS,ROWS",
        ),
    ]
}

/// "cpu" or "gpu": the variants the launchers pick.
fn variants(gpu: &Gpu) -> &'static str {
    if gpu.cpu_kernels() { "cpu" } else { "gpu" }
}

/// The matmul kernel family [`MatmulKernel::pick`] takes on `gpu`, in words.
fn matmul(gpu: &Gpu) -> String {
    if !gpu.cpu_kernels() {
        return "SGEMM (matmul_sgemm.wgsl; split-K for small grids)".into();
    }
    let fallback = "the texture kernel (K and N multiples of 64), the vec4 kernel (K a multiple \
                    of 16, N of 4) or SGEMM";
    let probe = MatmulDims::new(8, 8, 8);
    if MatmulKernel::subgroup_fits(gpu, &probe) {
        format!(
            "subgroup (operands read from buffers where whole vec4s allow and packing would \
             cost more, else packed into textures); where it cannot run, {fallback}"
        )
    } else {
        format!("no subgroups of 8: {fallback}")
    }
}

/// Where attention runs as matmuls and where on the fused kernels, in words.
fn attention_route(gpu: &Gpu) -> String {
    match gpu.attention.route {
        AttentionRoute::Matmul => "matmuls where D allows, else fused".into(),
        AttentionRoute::Auto if gpu.cpu_kernels() => {
            format!("matmuls from {MATMUL_ROUTE_MIN_SCORES} scores, else fused")
        }
        AttentionRoute::Auto => format!(
            "matmuls while the scores take at most {} MiB, else fused",
            GPU_ROUTE_MAX_SCORE_BYTES >> 20
        ),
        AttentionRoute::Blocked | AttentionRoute::Rows => "fused".into(),
    }
}

/// The attention kernels `gpu` runs, in one phrase (route, fused variant, blocks).
pub fn attention_kernels(gpu: &Gpu) -> String {
    let fused = match AttentionKernel::pick(gpu) {
        AttentionKernel::Blocked => "fused blocked",
        AttentionKernel::Rows => "fused rows",
    };
    let blocks = match gpu.attention.blocks {
        Some([a, b, c, d]) => format!(" ({a}x{b} forward, {c}x{d} backward)"),
        None => " (blocks by shape)".into(),
    };
    let route = attention_route(gpu);
    let route = route.strip_suffix("fused").unwrap_or(&route);
    format!("{route}{fused}{blocks}")
}
