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

/// PCG hash (O'Neill), as `shaders/unary.wgsl` computes it.
fn pcg(v: u32) -> u32 {
    let state = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

/// The flat kernels run one invocation a vec4 over buffers bound rounded up to whole vec4s:
/// every entry matches its CPU reference at lengths around multiples of 4 and of the 64-wide
/// workgroup, and the elements past n, inside the rounded binding, keep the poison they held.
#[test]
fn flat_vec4_kernels_match_reference_at_every_length_and_leave_the_tail_alone() {
    let g = gpu();
    let poison = f32::from_bits(POISON);
    let (alpha, beta, seed, p_drop) = (-1.5f32, 0.75f32, 99u32, 0.3f32);
    let keep = |e: usize| (pcg(e as u32 ^ pcg(seed)) >> 8) as f64 / 16_777_216.0 >= p_drop as f64;
    let gelu_grad = |v: f64| {
        let cdf = 0.5 * (1.0 + erf(v / std::f64::consts::SQRT_2));
        cdf + v * (-0.5 * v * v).exp() / (2.0 * std::f64::consts::PI).sqrt()
    };
    let sig = |z: f64| 1.0 / (1.0 + (-z).exp());
    for n in [1usize, 2, 3, 4, 5, 63, 64, 65, 255, 257, 1001] {
        let x: Vec<f32> = random(n, n as u64).iter().map(|v| v * 3.0).collect();
        let y = random(n, 1000 + n as u64);
        let (bx, by) = (g.upload(&x, "x").unwrap(), g.upload(&y, "y").unwrap());
        // (entry, whether it reads y)
        let cases = [
            ("add", true),
            ("mul", true),
            ("axpby", true),
            ("gelu_backward", true),
            ("tanh_backward", true),
            ("scale", false),
            ("accumulate", false),
            ("gelu", false),
            ("tanh_forward", false),
            ("dropout", false),
            ("quick_gelu", false),
        ];
        for (entry, binary) in cases {
            // Three elements of room past n, poisoned; "accumulate" adds into 2.0.
            let init = if entry == "accumulate" { 2.0 } else { poison };
            let mut start = vec![init; n];
            start.extend([poison; 3]);
            let out = g.upload(&start, "out").unwrap();
            let mut b = CommandBatch::new(&g);
            match (entry, binary) {
                ("quick_gelu", _) => locomotion::tensor::ops::quick_gelu::launch(
                    &mut b, false, &bx, &bx, &out, n, 1.702,
                ),
                ("dropout", _) => {
                    unary::launch(&mut b, entry, &bx, &out, n, p_drop, 1.0 / 0.7, seed)
                }
                (_, true) => elementwise::launch(&mut b, entry, &bx, &by, &out, n, alpha, beta, 1),
                (_, false) => unary::launch(&mut b, entry, &bx, &out, n, alpha, 0.0, 0),
            }
            .unwrap();
            b.submit_and_wait().unwrap();
            let got: Vec<f32> = g.read(&out).unwrap();
            let want: Vec<f32> = (0..n)
                .map(|e| {
                    let (xv, yv) = (x[e] as f64, y[e] as f64);
                    (match entry {
                        "add" => xv + yv,
                        "mul" => xv * yv,
                        "axpby" => -1.5 * xv + 0.75 * yv,
                        "gelu_backward" => yv * gelu_grad(xv),
                        "tanh_backward" => yv * (1.0 - xv * xv),
                        "scale" => -1.5 * xv,
                        "accumulate" => 2.0 - 1.5 * xv,
                        "gelu" => gelu(xv),
                        "tanh_forward" => xv.tanh(),
                        "dropout" if keep(e) => xv / 0.7,
                        "dropout" => 0.0,
                        _ => xv * sig(1.702 * xv),
                    }) as f32
                })
                .collect();
            let e = rel_err(&got[..n], &want);
            assert!(e < 1e-4, "{entry} at n = {n}: rel err {e}");
            for (k, v) in got[n..].iter().enumerate() {
                assert_eq!(
                    v.to_bits(),
                    POISON,
                    "{entry} at n = {n} wrote element n + {k}"
                );
            }
        }
        // A bias broadcast over rows, its period a multiple of 4 (whole vec4s of y) or not.
        for period in [1usize, 3, 4, 8] {
            if n % period != 0 {
                continue;
            }
            let out = g.filled(4 * (n as u64 + 3), POISON, "out").unwrap();
            let mut b = CommandBatch::new(&g);
            elementwise::launch(&mut b, "add_broadcast", &bx, &by, &out, n, 1.0, 1.0, period)
                .unwrap();
            b.submit_and_wait().unwrap();
            let got: Vec<f32> = g.read(&out).unwrap();
            let want: Vec<f32> = (0..n).map(|e| x[e] + y[e % period]).collect();
            assert!(
                rel_err(&got[..n], &want) < 1e-6,
                "add_broadcast n = {n} period {period}"
            );
            assert!(got[n..].iter().all(|v| v.to_bits() == POISON));
        }
    }
}

/// A buffer shorter than the n a flat kernel is asked to cover is refused with the kernel's
/// name, not read out of range.
#[test]
fn a_flat_kernel_refuses_a_buffer_shorter_than_n() {
    let g = gpu();
    let x = g.upload(&random(10, 1), "x").unwrap();
    let out = g.filled(4 * 12, 0, "out").unwrap();
    let mut b = CommandBatch::new(&g);
    let e = unary::launch(&mut b, "gelu", &x, &out, 12, 0.0, 0.0, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("unary::gelu") && e.contains("40 bytes"), "{e}");
}
