//! One module per shader family: the launcher (and, with autograd, the backward rule).

pub mod elementwise;
pub mod matmul;
