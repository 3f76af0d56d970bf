//! The two-layer MLP toy problem that the optimizers are checked on: 64 points in [-1, 1)^2,
//! target x0 * x1 (a saddle; no linear model fits it).

use locomotion::gpu::Gpu;
use locomotion::tensor::ops::elementwise::add;
use locomotion::tensor::ops::matmul::matmul_op;
use locomotion::tensor::ops::reduce::mean_all;
use locomotion::tensor::ops::unary::{mul, tanh};
use locomotion::tensor::{Tape, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The MLP's parameters (2 -> 32 tanh -> 1) and its data.
pub struct Mlp {
    pub w1: Tensor,
    pub b1: Tensor,
    pub w2: Tensor,
    pub b2: Tensor,
    /// The inputs (64, 2).
    pub x: Tensor,
    /// The negated targets (64, 1), so that the residual is y + t.
    pub neg_t: Tensor,
}

impl Mlp {
    /// The parameters and data, every one from a fixed seed.
    pub fn new(g: &Gpu) -> Self {
        let (n, hidden) = (64, 32);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let xs: Vec<f32> = (0..2 * n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let neg_t: Vec<f32> = xs.chunks(2).map(|p| -2.0 * p[0] * p[1]).collect();
        Self {
            w1: Tensor::param_random(g, [2, hidden], 0.7, 1).unwrap(),
            b1: Tensor::param_random(g, [hidden], 0.1, 2).unwrap(),
            w2: Tensor::param_random(g, [hidden, 1], 0.3, 3).unwrap(),
            b2: Tensor::param_random(g, [1], 0.1, 4).unwrap(),
            x: Tensor::from_host(g, &xs, [n, 2]).unwrap(),
            neg_t: Tensor::from_host(g, &neg_t, [n, 1]).unwrap(),
        }
    }

    /// The parameters in order: l1.weight, l1.bias, l2.weight, l2.bias.
    pub fn params(&self) -> [&Tensor; 4] {
        [&self.w1, &self.b1, &self.w2, &self.b2]
    }

    /// The mean squared error of the MLP on its data, recorded on `tape`.
    pub fn loss(&self, tape: &Tape) -> Tensor {
        let hidden = matmul_op(tape, &self.x, &self.w1, Some(&self.b1), false).unwrap();
        let h = tanh(tape, &hidden).unwrap();
        let y = matmul_op(tape, &h, &self.w2, Some(&self.b2), false).unwrap();
        let d = add(tape, &y, &self.neg_t).unwrap();
        mean_all(tape, &mul(tape, &d, &d).unwrap()).unwrap()
    }
}
