//! GPU tensors, the autograd tape, and the ops (launchers plus backward rules).

mod error;
mod shape;
mod tape;
#[allow(clippy::module_inception)]
mod tensor;

pub mod ops;

pub use error::{Result, TensorError};
pub use shape::Shape;
pub use tape::{Backward, NoGradGuard, Tape, accumulate, copy, sgd_step};
pub use tensor::{DType, Tensor};
