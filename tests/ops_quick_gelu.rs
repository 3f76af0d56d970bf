//! Quick GELU (`shaders/quick_gelu.wgsl`, CLIP's MLP activation) against an f64 CPU
//! reference on random inputs with poisoned outputs, and its gradient against central finite
//! differences.

mod common;
mod gradcheck;

use common::{POISON, gpu, random, rel_err};
use gradcheck::{check, input};
use locomotion::gpu::CommandBatch;
use locomotion::tensor::ops::quick_gelu::{QUICK_GELU_ALPHA, launch, quick_gelu};

/// `x · σ(1.702 x)` in f64.
fn reference(x: f64) -> f64 {
    x / (1.0 + (-(QUICK_GELU_ALPHA as f64) * x).exp())
}

fn reference_grad(x: f64) -> f64 {
    let a = QUICK_GELU_ALPHA as f64;
    let s = 1.0 / (1.0 + (-a * x).exp());
    s + a * x * s * (1.0 - s)
}

#[test]
fn quick_gelu_forward_and_backward_match_the_reference_with_poisoned_outputs() {
    let g = gpu();
    // 1001 is not a multiple of the 64-thread workgroup; values reach ±24 so both sigmoid
    // branches and its saturated tails run.
    let n = 1001;
    let x: Vec<f32> = random(n, 11).iter().map(|v| v * 24.0).collect();
    let dy = random(n, 12);
    let (bx, bdy) = (g.upload(&x, "x").unwrap(), g.upload(&dy, "dy").unwrap());
    for (backward, want) in [
        (
            false,
            x.iter()
                .map(|&v| reference(v as f64) as f32)
                .collect::<Vec<f32>>(),
        ),
        (
            true,
            x.iter()
                .zip(&dy)
                .map(|(&v, &d)| (d as f64 * reference_grad(v as f64)) as f32)
                .collect(),
        ),
    ] {
        let out = g.filled(4 * n as u64, POISON, "out").unwrap();
        let mut b = CommandBatch::new(&g);
        launch(&mut b, backward, &bx, &bdy, &out, n, QUICK_GELU_ALPHA).unwrap();
        b.submit_and_wait().unwrap();
        let got: Vec<f32> = g.read(&out).unwrap();
        let e = rel_err(&got, &want);
        assert!(e < 1e-5, "backward {backward}: rel err {e}");
    }
}

#[test]
fn quick_gelu_is_not_the_erf_gelu() {
    // At x = 1: quick GELU 0.8458, erf GELU 0.8413: a swapped kernel fails here.
    assert!(
        (reference(1.0) - 0.845_795).abs() < 1e-5,
        "{}",
        reference(1.0)
    );
}

#[test]
fn quick_gelu_gradient_matches_finite_differences() {
    let g = gpu();
    check(
        &g,
        &[input(&[5, 13], 21)],
        |t, x| quick_gelu(t, &x[0]).unwrap(),
        |x| x[0].iter().map(|&v| reference(v)).collect(),
        1e-3,
    );
}
