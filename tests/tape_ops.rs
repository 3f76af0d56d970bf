//! Attention, cross-entropy and InfoNCE as tape ops: GPU gradients of a small scalar function
//! of each, taken by `Tape::backward`, against central finite differences in f64 of the CPU
//! references, on odd shapes with padding and ignored rows.

mod common;

use common::attention::cpu_forward;
use common::fd::{f64s, finite_diff, grad};
use common::loss::{cpu_ce, cpu_nce};
use common::{gpu, random, rel_err};
use locomotion::tensor::ops::attention::AttentionShape;
use locomotion::tensor::ops::attention::attention;
use locomotion::tensor::ops::loss::IGNORE_INDEX;
use locomotion::tensor::ops::loss::{cross_entropy, info_nce};
use locomotion::tensor::ops::reduce::sum_all;
use locomotion::tensor::ops::unary::{mul, scale};
use locomotion::tensor::{Tape, Tensor};

#[test]
fn attention_gradients_match_finite_differences_with_padding() {
    let g = gpu();
    // Odd everything: 2 batches, 3 heads, 5 queries over 7 keys, head dim 6.
    let s = AttentionShape::new(2, 3, 5, 7, 6);
    let (nq, nk) = (s.q_len() as usize, s.kv_len() as usize);
    let (q0, k0, v0) = (random(nq, 1), random(nk, 2), random(nk, 3));
    let w = random(nq, 4);
    // The second batch element has only its first 4 keys.
    let mask: Vec<u32> = (0..2 * 7).map(|i| u32::from(i < 7 || i % 7 < 4)).collect();

    let tape = Tape::new(&g);
    let q = Tensor::param(&g, &q0, [2, 3, 5, 6]).unwrap();
    let k = Tensor::param(&g, &k0, [2, 3, 7, 6]).unwrap();
    let v = Tensor::param(&g, &v0, [2, 3, 7, 6]).unwrap();
    let wt = Tensor::from_host(&g, &w, [2, 3, 5, 6]).unwrap();
    let o = attention(&tape, &q, &k, &v, Some(&mask)).unwrap();
    let loss = sum_all(&tape, &mul(&tape, &o, &wt).unwrap()).unwrap();
    let got = loss.to_vec().unwrap()[0] as f64;
    tape.backward(&loss).unwrap();
    let grads = [grad(&q), grad(&k), grad(&v)];

    let (q, k, v, w) = (f64s(&q0), f64s(&k0), f64s(&v0), f64s(&w));
    let l = |q: &[f64], k: &[f64], v: &[f64]| -> f64 {
        let (o, _) = cpu_forward(&s, q, k, v, Some(&mask));
        o.iter().zip(&w).map(|(a, b)| a * b).sum()
    };
    let want = l(&q, &k, &v);
    assert!(
        (got - want).abs() < 1e-4 * want.abs().max(1.0),
        "loss {got} vs {want}"
    );
    let dq = finite_diff(&q, |x| l(x, &k, &v));
    let dk = finite_diff(&k, |x| l(&q, x, &v));
    let dv = finite_diff(&v, |x| l(&q, &k, x));
    for (name, t, fd) in [
        ("dq", &grads[0], dq),
        ("dk", &grads[1], dk),
        ("dv", &grads[2], dv),
    ] {
        let fd: Vec<f32> = fd.iter().map(|&x| x as f32).collect();
        let e = rel_err(t, &fd);
        assert!(e < 1e-4, "{name}: rel err {e}");
    }
}

#[test]
fn cross_entropy_gradient_matches_finite_differences_with_ignored_rows() {
    let g = gpu();
    let (n, c) = (7, 5);
    let x0 = random(n * c, 11);
    let targets = [3, IGNORE_INDEX, 0, 4, IGNORE_INDEX, 1, 2];
    let tape = Tape::new(&g);
    let logits = Tensor::param(&g, &x0, [n, c]).unwrap();
    // A factor other than 1 checks that the upstream gradient reaches the kernel.
    let loss = scale(
        &tape,
        &cross_entropy(&tape, &logits, &targets, IGNORE_INDEX).unwrap(),
        1.7,
    )
    .unwrap();
    assert_eq!(loss.shape().dims(), [1]);
    let got = loss.to_vec().unwrap()[0] as f64;
    tape.backward(&loss).unwrap();

    let x = f64s(&x0);
    let want = 1.7 * cpu_ce(&x, &targets, c).0;
    assert!(
        (got - want).abs() < 1e-5 * want.abs(),
        "loss {got} vs {want}"
    );
    let fd = finite_diff(&x, |x| 1.7 * cpu_ce(x, &targets, c).0);
    let gl = grad(&logits);
    let fd32: Vec<f32> = fd.iter().map(|&v| v as f32).collect();
    assert!(
        rel_err(&gl, &fd32) < 1e-4,
        "dlogits rel err {}",
        rel_err(&gl, &fd32)
    );
    // Ignored rows get exactly no gradient.
    assert!(gl[c..2 * c].iter().all(|&v| v == 0.0));
}

#[test]
fn info_nce_gradients_reach_sim_and_the_temperature() {
    let g = gpu();
    let b = 5;
    let s0 = random(b * b, 21);
    let t0 = 0.8f32;
    let tape = Tape::new(&g);
    let sim = Tensor::param(&g, &s0, [b, b]).unwrap();
    let log_scale = Tensor::param(&g, &[t0], [1]).unwrap();
    let loss = scale(&tape, &info_nce(&tape, &sim, &log_scale).unwrap(), 1.3).unwrap();
    let got = loss.to_vec().unwrap()[0] as f64;
    tape.backward(&loss).unwrap();

    let s = f64s(&s0);
    let want = 1.3 * cpu_nce(&s, t0 as f64, b).0;
    assert!(
        (got - want).abs() < 1e-5 * want.abs(),
        "loss {got} vs {want}"
    );
    let fd_sim = finite_diff(&s, |x| 1.3 * cpu_nce(x, t0 as f64, b).0);
    let fd_t = finite_diff(&[t0 as f64], |t| 1.3 * cpu_nce(&s, t[0], b).0)[0];
    let fd32: Vec<f32> = fd_sim.iter().map(|&v| v as f32).collect();
    let e = rel_err(&grad(&sim), &fd32);
    assert!(e < 1e-4, "dsim rel err {e}");
    let dt = grad(&log_scale)[0] as f64;
    assert!(
        (dt - fd_t).abs() < 1e-4 * fd_t.abs().max(1e-3),
        "dlog_scale {dt} vs {fd_t}"
    );
}

#[test]
fn bad_shapes_are_one_line_errors() {
    let g = gpu();
    let tape = Tape::new(&g);
    let q = Tensor::from_host(&g, &random(2 * 3 * 4, 1), [1, 2, 3, 4]).unwrap();
    let k = Tensor::from_host(&g, &random(2 * 5 * 4, 2), [1, 2, 5, 4]).unwrap();
    let e = attention(&tape, &q, &k, &k, Some(&[1, 1]))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("mask") && !e.contains('\n'), "{e}");
    let wide = Tensor::from_host(&g, &random(65 * 2, 3), [1, 1, 2, 65]).unwrap();
    let e = attention(&tape, &wide, &wide, &wide, None)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("head dimension"), "{e}");
    let e = cross_entropy(&tape, &q, &[0], IGNORE_INDEX)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("targets"), "{e}");
    let e = info_nce(&tape, &q, &q).err().unwrap().to_string();
    assert!(e.contains("square"), "{e}");
}
