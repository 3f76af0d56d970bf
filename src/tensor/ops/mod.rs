//! One module per shader family: the launcher (and, with autograd, the backward rule).

pub mod adamw;
pub mod attention;
pub mod check;
pub mod elementwise;
pub mod loss;
