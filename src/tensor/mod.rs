//! GPU tensors and their ops.

pub mod ops;
