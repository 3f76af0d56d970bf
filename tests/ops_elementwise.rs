//! Elementwise ops (broadcast add, mul, scale, GELU, tanh, dropout) and reductions (sum,
//! mean, max) against CPU references, with gradient checks against finite differences.

mod common;
mod gradcheck;

use common::{POISON, gpu, random, rel_err};
use gradcheck::{check, input};
use locomotion::gpu::CommandBatch;
use locomotion::tensor::ops::reduce::{Reduce, reduce};
use locomotion::tensor::ops::{elementwise, unary};
use locomotion::tensor::{Tape, Tensor};

/// erf by its Maclaurin series (|x| < 3 here), f64.
fn erf(x: f64) -> f64 {
    let (mut term, mut sum) = (x, x);
    for n in 1..80 {
        term *= -x * x / n as f64;
        sum += term / (2 * n + 1) as f64;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

fn gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2))
}

#[test]
fn unary_kernels_match_reference_with_poisoned_outputs() {
    let g = gpu();
    let n = 1001;
    let x: Vec<f32> = random(n, 7).iter().map(|v| v * 3.0).collect();
    let bx = g.upload(&x, "x").unwrap();
    for (entry, f) in [
        ("gelu", gelu as fn(f64) -> f64),
        ("tanh_forward", f64::tanh),
        ("scale", |v: f64| -1.5 * v),
    ] {
        let out = g.filled(4 * n as u64, POISON, "out").unwrap();
        let mut b = CommandBatch::new(&g);
        unary::launch(&mut b, entry, &bx, &out, n, -1.5, 0.0, 0).unwrap();
        b.submit_and_wait().unwrap();
        let got: Vec<f32> = g.read(&out).unwrap();
        let want: Vec<f32> = x.iter().map(|&v| f(v as f64) as f32).collect();
        let e = rel_err(&got, &want);
        assert!(e < 1e-4, "{entry}: rel err {e}");
    }
}

#[test]
fn elementwise_gradients_match_finite_differences() {
    let g = gpu();
    // Broadcast add of a bias over rows: (5, 7) + (7,)
    check(
        &g,
        &[input(&[5, 7], 1), input(&[7], 2)],
        |t, x| elementwise::add(t, &x[0], &x[1]).unwrap(),
        |x| {
            x[0].iter()
                .enumerate()
                .map(|(i, v)| v + x[1][i % 7])
                .collect()
        },
        1e-3,
    );
    check(
        &g,
        &[input(&[3, 11], 3), input(&[3, 11], 4)],
        |t, x| unary::mul(t, &x[0], &x[1]).unwrap(),
        |x| x[0].iter().zip(&x[1]).map(|(a, b)| a * b).collect(),
        1e-3,
    );
    check(
        &g,
        &[input(&[67], 5)],
        |t, x| unary::gelu(t, &x[0]).unwrap(),
        |x| x[0].iter().map(|&v| gelu(v)).collect(),
        1e-3,
    );
    check(
        &g,
        &[input(&[67], 6)],
        |t, x| unary::tanh(t, &x[0]).unwrap(),
        |x| x[0].iter().map(|v| v.tanh()).collect(),
        1e-3,
    );
    check(
        &g,
        &[input(&[4, 9], 7)],
        |t, x| unary::scale(t, &x[0], 0.25).unwrap(),
        |x| x[0].iter().map(|v| 0.25 * v).collect(),
        1e-3,
    );
}

#[test]
fn dropout_is_seeded_scaled_and_its_gradient_uses_the_same_mask() {
    let g = gpu();
    let n = 20_000;
    let x = random(n, 9);
    let (p, seed) = (0.3f32, 77);
    let tape = Tape::new(&g);
    let xt = Tensor::param(&g, &x, [n]).unwrap();
    let y = unary::dropout(&tape, &xt, p, seed)
        .unwrap()
        .to_vec()
        .unwrap();
    let again = unary::dropout(&Tape::new(&g), &xt, p, seed)
        .unwrap()
        .to_vec()
        .unwrap();
    let other = unary::dropout(&Tape::new(&g), &xt, p, seed + 1)
        .unwrap()
        .to_vec()
        .unwrap();
    assert_eq!(y, again, "same seed, same mask");
    assert_ne!(y, other, "another seed, another mask");
    let dropped = y.iter().filter(|&&v| v == 0.0).count() as f64 / n as f64;
    assert!((dropped - 0.3).abs() < 0.02, "drop rate {dropped}");
    for (a, b) in x.iter().zip(&y) {
        assert!(*b == 0.0 || (b - a / 0.7).abs() < 1e-6);
    }
    // The gradient of sum(dropout(x)) is the mask over (1 - p).
    let yt = unary::dropout(&tape, &xt, p, seed).unwrap();
    let loss = locomotion::tensor::ops::reduce::sum_all(&tape, &yt).unwrap();
    tape.backward(&loss).unwrap();
    let grad = xt.grad_to_vec().unwrap().unwrap();
    for (gv, yv) in grad.iter().zip(&y) {
        let want = if *yv == 0.0 { 0.0 } else { 1.0 / 0.7 };
        assert!((gv - want).abs() < 1e-5);
    }
}

fn cpu_reduce(x: &[f64], dims: (usize, usize, usize), op: Reduce) -> Vec<f64> {
    let (o, a, i) = dims;
    let mut out = Vec::new();
    for oo in 0..o {
        for ii in 0..i {
            let vals = (0..a).map(|aa| x[(oo * a + aa) * i + ii]);
            out.push(match op {
                Reduce::Sum => vals.sum(),
                Reduce::Mean => vals.sum::<f64>() / a as f64,
                Reduce::Max => vals.fold(f64::MIN, f64::max),
            });
        }
    }
    out
}

#[test]
fn reductions_match_reference_and_finite_differences() {
    let g = gpu();
    for (axis, op) in [
        (0, Reduce::Sum),
        (1, Reduce::Mean),
        (2, Reduce::Max),
        (1, Reduce::Max),
    ] {
        let shape = [3usize, 70, 5];
        let dims = {
            let outer: usize = shape[..axis].iter().product();
            let inner: usize = shape[axis + 1..].iter().product();
            (outer, shape[axis], inner)
        };
        check(
            &g,
            &[input(&shape, 20 + axis as u64)],
            |t, x| reduce(t, &x[0], op, axis).unwrap(),
            |x| cpu_reduce(&x[0], dims, op),
            1e-3,
        );
    }
}

#[test]
fn add_rejects_shapes_that_do_not_broadcast() {
    let g = gpu();
    let tape = Tape::new(&g);
    let a = Tensor::from_host(&g, &random(6, 1), [2, 3]).unwrap();
    let b = Tensor::from_host(&g, &random(2, 2), [2]).unwrap();
    let e = elementwise::add(&tape, &a, &b).unwrap_err().to_string();
    assert!(e.starts_with("add:") && e.contains("[2]"), "{e}");
}
