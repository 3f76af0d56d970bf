//! The autograd tape: accumulation across backward calls and zeroing, a tensor used twice,
//! no-grad scopes, reshape views, f16 storage, and errors.

mod common;

use common::{gpu, random};
use locomotion::tensor::ops::reduce::{mean_all, sum_all};
use locomotion::tensor::ops::unary::{mul, scale, tanh};
use locomotion::tensor::{DType, Tape, Tensor};

#[test]
fn gradients_accumulate_until_zeroed_and_sum_over_uses() {
    let g = gpu();
    let x = random(37, 1);
    let p = Tensor::param(&g, &x, [37]).unwrap();
    for round in 1..=2 {
        let tape = Tape::new(&g);
        // sum(x * x): x is used twice; its gradient is 2x, summed over both uses.
        let sq = mul(&tape, &p, &p).unwrap();
        let loss = sum_all(&tape, &sq).unwrap();
        tape.backward(&loss).unwrap();
        let grad = p.grad_to_vec().unwrap().unwrap();
        for (gv, xv) in grad.iter().zip(&x) {
            assert!((gv - 2.0 * round as f32 * xv).abs() < 1e-5, "round {round}");
        }
    }
    p.zero_grad();
    assert!(p.grad_to_vec().unwrap().is_none());
}

#[test]
fn no_grad_records_nothing_and_restores() {
    let g = gpu();
    let tape = Tape::new(&g);
    let p = Tensor::param(&g, &random(10, 2), [10]).unwrap();
    {
        let _guard = tape.no_grad();
        let y = tanh(&tape, &p).unwrap();
        assert!(!y.requires_grad());
        assert!(tape.is_empty());
    }
    let y = tanh(&tape, &p).unwrap();
    assert!(y.requires_grad());
    assert_eq!(tape.len(), 1);
}

#[test]
fn backward_releases_the_tape_and_constants_get_no_gradient() {
    let g = gpu();
    let tape = Tape::new(&g);
    let p = Tensor::param(&g, &random(12, 3), [3, 4]).unwrap();
    let c = Tensor::from_host(&g, &random(12, 4), [3, 4]).unwrap();
    let flat = tape.reshape(&mul(&tape, &p, &c).unwrap(), [12]).unwrap();
    let loss = mean_all(&tape, &scale(&tape, &flat, 3.0).unwrap()).unwrap();
    tape.backward(&loss).unwrap();
    assert!(tape.is_empty());
    assert!(c.grad_to_vec().unwrap().is_none());
    let want: Vec<f32> = random(12, 4).iter().map(|v| v * 3.0 / 12.0).collect();
    let got = p.grad_to_vec().unwrap().unwrap();
    for (a, b) in got.iter().zip(&want) {
        assert!((a - b).abs() < 1e-6);
    }
}

#[test]
fn user_errors_are_one_line() {
    let g = gpu();
    let tape = Tape::new(&g);
    let p = Tensor::param(&g, &random(6, 5), [2, 3]).unwrap();
    let e = tape.backward(&p).unwrap_err().to_string();
    assert!(e.contains("[2, 3]"), "{e}");
    let e = Tensor::from_host(&g, &[1.0, 2.0], [3])
        .unwrap_err()
        .to_string();
    assert!(e.contains("2 values") && e.contains("[3]"), "{e}");
    let e = tape.reshape(&p, [4]).unwrap_err().to_string();
    assert!(e.starts_with("reshape:"), "{e}");
}

#[test]
fn f16_storage_round_trips_at_half_precision() {
    let g = gpu();
    if !g.caps.f16 {
        common::skip::skip(
            "f16_storage_round_trips_at_half_precision",
            "the adapter lacks SHADER_F16 (lavapipe has it)",
            "LOCOMOTION_REQUIRE_F16",
        );
        return;
    }
    let x = random(1001, 6);
    let t = Tensor::from_host_f16(&g, &x, [1001]).unwrap();
    assert_eq!(t.dtype(), DType::F16);
    assert_eq!(t.buffer().bytes(), 2002);
    let back = t.to_vec().unwrap();
    for (a, b) in back.iter().zip(&x) {
        assert!((a - b).abs() <= b.abs() * 1e-3 + 1e-4);
    }
    let e = tanh(&Tape::new(&g), &t).unwrap_err().to_string();
    assert!(e.contains("f16"), "{e}");
}

#[test]
fn backward_releases_saved_activations() {
    // A device of its own, so no other test's buffers count in its pool.
    let g = locomotion::gpu::Gpu::new(&locomotion::gpu::AdapterRequest::default()).unwrap();
    let n = 64 * 1024; // 256 KiB a tensor
    let p = Tensor::param(&g, &random(n, 8), [n]).unwrap();
    let tape = Tape::new(&g);
    let mut h = tanh(&tape, &p).unwrap();
    for _ in 0..20 {
        h = tanh(&tape, &h).unwrap();
    }
    let loss = sum_all(&tape, &h).unwrap();
    drop(h);
    let during = g.pool.stats().live_bytes;
    // 21 tanh records each hold a saved output and their input: several MiB.
    assert!(during > 20 * 4 * n as u64, "live {during}");
    tape.backward(&loss).unwrap();
    drop(loss);
    let after = g.pool.stats().live_bytes;
    // What remains: the parameter, its gradient, small scratch.
    assert!(
        after < 4 * 4 * n as u64,
        "live after backward {after} (during {during})"
    );
    assert!(
        p.grad_to_vec()
            .unwrap()
            .unwrap()
            .iter()
            .all(|v| v.is_finite())
    );
}
