//! locomotion: motion-focused video-language representation learning (LocoMotion,
//! arXiv 2410.12018) on wgpu and hand-written WGSL compute shaders.

pub mod bench;
pub mod caption;
pub mod cli;
pub mod data;
pub mod dist;
pub mod eval;
pub mod experiment;
pub mod gpu;
pub mod model;
pub mod motion;
pub mod nn;
pub mod report;
pub mod selftest;
pub mod shaders;
pub mod tensor;
pub mod train;
pub mod util;
