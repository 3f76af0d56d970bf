//! Central finite differences in f64: what the tape ops' gradients are checked against.

use locomotion::tensor::Tensor;

/// `x` widened to f64.
pub fn f64s(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

/// Central differences of `f` at `x` in f64 with step 1e-5.
pub fn finite_diff(x: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let h = 1e-5;
    let mut x = x.to_vec();
    (0..x.len())
        .map(|i| {
            let x0 = x[i];
            x[i] = x0 + h;
            let up = f(&x);
            x[i] = x0 - h;
            let down = f(&x);
            x[i] = x0;
            (up - down) / (2.0 * h)
        })
        .collect()
}

/// The gradient `Tape::backward` left on `t`.
pub fn grad(t: &Tensor) -> Vec<f32> {
    t.grad_to_vec()
        .unwrap()
        .expect("a gradient reached the tensor")
}
