//! The WGSL sources under `shaders/`, embedded at build time with their imports of
//! `shaders/common/` expanded (see `build.rs` and [`import`]), and the Rust parameter struct
//! each one reads at binding 0.

use crate::gpu::{KernelParams, ParamsLayout};
use crate::motion::composite;
use crate::tensor::ops::{
    adamw, attention, colsum, elementwise, embedding, frame_diff, gather, layernorm, loss, matmul,
    negatives, normalize, permute, prepend_cls, quick_gelu, reduce, softmax, tubelet, unary,
};

pub mod import;

include!(concat!(env!("OUT_DIR"), "/shaders.rs"));

/// The source of the shader whose file stem is `name`, its imports expanded.
pub fn source(name: &str) -> Option<&'static str> {
    SHADERS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Every kernel parameter struct (defined with `kernel_params!`, which names its shaders).
/// `tests/kernel_params.rs` checks each shader's uniform struct against its entry here: a new
/// kernel adds one line.
pub const KERNEL_PARAMS: &[ParamsLayout] = &[
    adamw::AdamParams::LAYOUT,
    adamw::NormParams::LAYOUT,
    attention::launch::Params::LAYOUT,
    attention::matmul_route::PadParams::LAYOUT,
    colsum::Params::LAYOUT,
    composite::Params::LAYOUT,
    elementwise::Params::LAYOUT,
    embedding::Params::LAYOUT,
    frame_diff::Params::LAYOUT,
    gather::Params::LAYOUT,
    layernorm::Params::LAYOUT,
    loss::cross_entropy::CeParams::LAYOUT,
    loss::infonce::NceParams::LAYOUT,
    matmul::Params::LAYOUT,
    matmul::subgroup::PackParams::LAYOUT,
    matmul::sgemm::Params::LAYOUT,
    crate::tensor::ops::dev::fma_peak::Params::LAYOUT,
    negatives::Params::LAYOUT,
    normalize::Params::LAYOUT,
    permute::Params::LAYOUT,
    prepend_cls::Params::LAYOUT,
    quick_gelu::Params::LAYOUT,
    reduce::Params::LAYOUT,
    softmax::Params::LAYOUT,
    tubelet::Params::LAYOUT,
    unary::Params::LAYOUT,
];
