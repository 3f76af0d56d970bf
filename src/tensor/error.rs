//! Errors of tensor ops: a shape that does not fit, a bad index, or a GPU failure.

use thiserror::Error;

use crate::gpu::GpuError;

/// What can go wrong in a tensor op; every message is one line.
#[derive(Debug, Error)]
pub enum TensorError {
    /// Operand shapes that the op cannot combine.
    #[error("{op}: shapes {a} and {b} do not fit ({why})")]
    Shape {
        op: &'static str,
        a: String,
        b: String,
        why: &'static str,
    },
    /// Host data whose length does not match the requested shape.
    #[error("{what}: {len} values given for shape {shape}")]
    Length {
        what: String,
        len: usize,
        shape: String,
    },
    /// A token id outside the embedding table.
    #[error("embedding: token id {id} at position {pos} is not below the vocabulary size {vocab}")]
    BadId { id: u32, pos: usize, vocab: usize },
    /// An op that only supports f32 storage was given f16.
    #[error("{op}: f16 tensors are storage only; convert to f32 first")]
    Dtype { op: &'static str },
    /// `backward` was asked for a loss that is not a single value.
    #[error("backward: the loss must hold one value, not shape {0}")]
    NotScalar(String),
    /// A failure in the GPU runtime.
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

/// Results of tensor ops.
pub type Result<T> = std::result::Result<T, TensorError>;
