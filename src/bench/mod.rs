//! The shader benchmark suite: each module times one kernel family on the GPU.

pub mod attention;
