//! Kernels kept for benchmarks and comparison, apart from what a training step runs (as
//! llm.c keeps `dev/cuda/` apart from `llmc/`): the tiled and naive matmul, the unfused
//! attention and the register-only FMA ceiling. Their WGSL is in `shaders/dev/`;
//! `locomotion bench kernels` times them beside the shipped kernels, and `locomotion info`
//! lists what a step runs instead.

pub mod attention_unfused;
pub mod fma_peak;
pub(crate) mod matmul_tiled;

pub use attention_unfused::{attention_unfused, attention_unfused_backward};
