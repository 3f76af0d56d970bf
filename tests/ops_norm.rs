//! Layer norm, softmax, log-softmax and embedding against CPU references (f64) with poisoned
//! outputs, their gradient checks, softmax at logits of +-1e4, and the embedding gradient's
//! determinism.

mod common;
mod gradcheck;

use common::{POISON, VARIANT_ULPS, assert_within_ulps, gpu, random, rel_err};
use gradcheck::{check, input};
use locomotion::gpu::CommandBatch;
use locomotion::tensor::ops::embedding::{embedding, group_by_id};
use locomotion::tensor::ops::layernorm::{LayerNormDims, forward as ln_forward, layer_norm};
use locomotion::tensor::ops::softmax::{self, log_softmax};
use locomotion::tensor::{Tape, Tensor};

fn cpu_layer_norm(x: &[f64], w: &[f64], b: &[f64], c: usize, eps: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(c) {
        let mean = row.iter().sum::<f64>() / c as f64;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / c as f64;
        let rstd = 1.0 / (var + eps).sqrt();
        out.extend(
            row.iter()
                .enumerate()
                .map(|(i, v)| (v - mean) * rstd * w[i] + b[i]),
        );
    }
    out
}

fn cpu_softmax(x: &[f64], c: usize, log: bool) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(c) {
        let m = row.iter().cloned().fold(f64::MIN, f64::max);
        let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
        out.extend(row.iter().map(|v| {
            if log {
                v - m - s.ln()
            } else {
                (v - m).exp() / s
            }
        }));
    }
    out
}

#[test]
fn layer_norm_forward_with_poisoned_outputs() {
    let g = gpu();
    let (rows, c) = (37, 131);
    let x = random(rows * c, 1);
    let w = random(c, 2);
    let b = random(c, 3);
    let (bx, bw, bb) = (
        g.upload(&x, "x").unwrap(),
        g.upload(&w, "w").unwrap(),
        g.upload(&b, "b").unwrap(),
    );
    let y = g.filled(4 * (rows * c) as u64, POISON, "y").unwrap();
    let mean = g.filled(4 * rows as u64, POISON, "mean").unwrap();
    let rstd = g.filled(4 * rows as u64, POISON, "rstd").unwrap();
    let mut bt = CommandBatch::new(&g);
    let d = LayerNormDims { rows, c, eps: 1e-5 };
    ln_forward(&mut bt, d, &bx, &bw, &bb, &y, &mean, &rstd).unwrap();
    bt.submit_and_wait().unwrap();
    let f = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<_>>();
    let want: Vec<f32> = cpu_layer_norm(&f(&x), &f(&w), &f(&b), c, 1e-5)
        .iter()
        .map(|&v| v as f32)
        .collect();
    let e = rel_err(&g.read::<f32>(&y).unwrap(), &want);
    assert!(e < 1e-4, "layer norm rel err {e}");
    assert!(g.read::<f32>(&rstd).unwrap().iter().all(|v| v.is_finite()));
}

#[test]
fn layer_norm_gradients_match_finite_differences() {
    let g = gpu();
    let c = 67;
    check(
        &g,
        &[input(&[5, c], 1), input(&[c], 2), input(&[c], 3)],
        |t, x| layer_norm(t, &x[0], &x[1], &x[2], 1e-5).unwrap(),
        |x| cpu_layer_norm(&x[0], &x[1], &x[2], c, 1e-5),
        1e-3,
    );
}

#[test]
fn softmax_and_log_softmax_match_reference_and_finite_differences() {
    let g = gpu();
    for (c, log) in [(70, false), (3, true), (129, true), (1, false)] {
        let rows = 6;
        let x: Vec<f32> = random(rows * c, c as u64).iter().map(|v| v * 4.0).collect();
        let bx = g.upload(&x, "x").unwrap();
        let y = g.filled(4 * x.len() as u64, POISON, "y").unwrap();
        let mut bt = CommandBatch::new(&g);
        softmax::launch(&mut bt, &bx, &y, rows, c, log).unwrap();
        bt.submit_and_wait().unwrap();
        let xd: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let want: Vec<f32> = cpu_softmax(&xd, c, log).iter().map(|&v| v as f32).collect();
        let e = rel_err(&g.read::<f32>(&y).unwrap(), &want);
        assert!(e < 1e-4, "c {c} log {log}: rel err {e}");
        check(
            &g,
            &[input(&[rows, c], 50 + c as u64)],
            |t, x| {
                if log {
                    log_softmax(t, &x[0]).unwrap()
                } else {
                    softmax::softmax(t, &x[0]).unwrap()
                }
            },
            |x| cpu_softmax(&x[0], c, log),
            1e-3,
        );
    }
}

#[test]
fn softmax_of_huge_logits_is_finite() {
    let g = gpu();
    let x = [1e4f32, -1e4, 0.0, 1e4, -1e4, -1e4, 5.0, 1e4];
    for log in [false, true] {
        let tape = Tape::new(&g);
        let t = Tensor::param(&g, &x, [2, 4]).unwrap();
        let y = if log {
            log_softmax(&tape, &t)
        } else {
            softmax::softmax(&tape, &t)
        }
        .unwrap();
        let v = y.to_vec().unwrap();
        assert!(v.iter().all(|a| a.is_finite()), "log {log}: {v:?}");
        let loss = locomotion::tensor::ops::reduce::sum_all(&tape, &y).unwrap();
        tape.backward(&loss).unwrap();
        let grad = t.grad_to_vec().unwrap().unwrap();
        assert!(grad.iter().all(|a| a.is_finite()), "log {log}: {grad:?}");
        if !log {
            assert!((v[0] - 0.5).abs() < 1e-6 && (v[3] - 0.5).abs() < 1e-6 && v[1] == 0.0);
        }
    }
}

fn cpu_embedding(w: &[f64], ids: &[u32], c: usize) -> Vec<f64> {
    ids.iter()
        .flat_map(|&i| w[i as usize * c..(i as usize + 1) * c].to_vec())
        .collect()
}

#[test]
fn embedding_matches_reference_and_finite_differences() {
    let g = gpu();
    // Repeated ids: several tokens add into one row; id 10 never appears (zero gradient).
    // C = 67 runs a column an invocation, C = 12 four (forward4, backward4).
    let ids: Vec<u32> = vec![3, 0, 3, 7, 9, 3, 1, 0, 2, 5, 4, 6, 8, 3];
    for (v, c) in [(11, 67), (11, 12)] {
        check(
            &g,
            &[input(&[v, c], 1)],
            |t, x| embedding(t, &x[0], &ids).unwrap(),
            |x| cpu_embedding(&x[0], &ids, c),
            1e-3,
        );
    }
}

#[test]
fn embedding_gradient_is_deterministic_and_bad_ids_are_errors() {
    let g = gpu();
    let (v, c) = (5, 36);
    let ids: Vec<u32> = (0..500).map(|i| (i * 7 % 5) as u32).collect();
    let dy = random(ids.len() * c, 3);
    let mut runs = Vec::new();
    for _ in 0..2 {
        let tape = Tape::new(&g);
        let w = Tensor::param(&g, &random(v * c, 2), [v, c]).unwrap();
        let out = embedding(&tape, &w, &ids).unwrap();
        let r = Tensor::from_host(&g, &dy, out.shape().clone()).unwrap();
        let m = locomotion::tensor::ops::unary::mul(&tape, &out, &r).unwrap();
        let loss = locomotion::tensor::ops::reduce::sum_all(&tape, &m).unwrap();
        tape.backward(&loss).unwrap();
        runs.push(w.grad_to_vec().unwrap().unwrap());
    }
    assert_eq!(runs[0], runs[1], "bitwise identical gradients");
    let (order, offsets) = group_by_id(&[2, 0, 2, 1], 3).unwrap();
    assert_eq!((order, offsets), (vec![1, 3, 0, 2], vec![0, 1, 2, 4]));
    let w = Tensor::param(&g, &random(v * c, 2), [v, c]).unwrap();
    let e = embedding(&Tape::new(&g), &w, &[1, 5])
        .unwrap_err()
        .to_string();
    assert!(e.contains("token id 5") && e.contains("position 1"), "{e}");
}

/// Forward then backward of one layer norm through `g`'s kernel choice: (y, mean, rstd, dx,
/// dw, db) as bits.
fn layer_norm_both_ways(
    g: &locomotion::gpu::Gpu,
    rows: usize,
    c: usize,
    seed: u64,
) -> Vec<Vec<u32>> {
    use locomotion::tensor::ops::layernorm::backward as ln_backward;
    let up = |n: usize, s: u64| g.upload(&random(n, s), "input").unwrap();
    let (x, w, b, dy) = (
        up(rows * c, seed),
        up(c, seed + 1),
        up(c, seed + 2),
        up(rows * c, seed + 3),
    );
    let out = |n: usize| g.filled(4 * n as u64, POISON, "output").unwrap();
    let (y, mean, rstd) = (out(rows * c), out(rows), out(rows));
    let (dx, dw, db) = (out(rows * c), out(c), out(c));
    let d = LayerNormDims { rows, c, eps: 1e-5 };
    let mut bt = CommandBatch::new(g);
    ln_forward(&mut bt, d, &x, &w, &b, &y, &mean, &rstd).unwrap();
    ln_backward(&mut bt, d, &dy, &x, &w, &mean, &rstd, &dx, &dw, &db).unwrap();
    bt.submit_and_wait().unwrap();
    [&y, &mean, &rstd, &dx, &dw, &db]
        .iter()
        .map(|buf| {
            g.read::<f32>(buf)
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect()
        })
        .collect()
}

#[test]
fn layer_norm_row_kernels_match_the_workgroup_kernels() {
    use locomotion::gpu::Kernels;
    // CPU drivers run one row per invocation (C a multiple of 4), GPUs 64 threads a row; the
    // row kernels add the partial sums in the workgroup kernels' order, so they agree up to
    // how each pipeline contracts a * b + c (VARIANT_ULPS).
    let g = gpu();
    let (cpu, gpu_path) = (g.with_kernels(Kernels::Cpu), g.with_kernels(Kernels::Gpu));
    for (rows, c) in [(37, 132), (5, 64), (9, 20), (3, 768), (2, 4), (11, 200)] {
        let d = LayerNormDims { rows, c, eps: 1e-5 };
        assert!(d.rows_kernel(&cpu) && !d.rows_kernel(&gpu_path));
        let a = layer_norm_both_ways(&cpu, rows, c, 7);
        let b = layer_norm_both_ways(&gpu_path, rows, c, 7);
        for (i, name) in ["y", "mean", "rstd", "dx", "dw", "db"].iter().enumerate() {
            assert!(
                a[i].iter().all(|&v| v != POISON),
                "{rows}x{c}: {name} not written"
            );
            let f = |v: &[u32]| v.iter().map(|&x| f32::from_bits(x)).collect::<Vec<_>>();
            assert_within_ulps(
                &f(&b[i]),
                &f(&a[i]),
                VARIANT_ULPS,
                &format!("{rows}x{c}: {name} between the kernel variants"),
            );
        }
        // And both against the f64 reference.
        let f = |s: u64, n: usize| random(n, s).iter().map(|&v| v as f64).collect::<Vec<_>>();
        let want: Vec<f32> = cpu_layer_norm(&f(7, rows * c), &f(8, c), &f(9, c), c, 1e-5)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let y: Vec<f32> = a[0].iter().map(|&v| f32::from_bits(v)).collect();
        let e = rel_err(&y, &want);
        assert!(e < 1e-4, "{rows}x{c}: rel err {e}");
    }
}

#[test]
fn layer_norm_row_kernels_gradients_match_finite_differences() {
    // C a multiple of 4: on CPU drivers this runs the one-row-per-invocation kernels.
    let g = gpu();
    let c = 68;
    check(
        &g,
        &[input(&[5, c], 31), input(&[c], 32), input(&[c], 33)],
        |t, p| layer_norm(t, &p[0], &p[1], &p[2], 1e-5).unwrap(),
        |h| cpu_layer_norm(&h[0], &h[1], &h[2], c, 1e-5),
        1e-3,
    );
}

#[test]
fn layer_norm_parameter_gradients_over_many_chunks_match_the_reference() {
    // dgamma / dbeta on the GPU path are summed in chunks of 64 rows, then the chunks in order
    // (CPU drivers: one pass): one row, one chunk exactly, one row past it and many chunks,
    // odd widths, both kernel choices; twice, for the same bits.
    let g = gpu();
    for kernels in [g.clone(), common::gpu_path()] {
        for (rows, c) in [(1, 5), (64, 33), (65, 12), (301, 20), (130, 260)] {
            let got = layer_norm_both_ways(&kernels, rows, c, 11);
            assert_eq!(got, layer_norm_both_ways(&kernels, rows, c, 11), "rerun");
            let f = |s: u64, n: usize| random(n, s).iter().map(|&v| v as f64).collect::<Vec<_>>();
            let (x, dy) = (f(11, rows * c), f(14, rows * c));
            let (mut dw, mut db) = (vec![0f64; c], vec![0f64; c]);
            for (row, drow) in x.chunks(c).zip(dy.chunks(c)) {
                let mean = row.iter().sum::<f64>() / c as f64;
                let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / c as f64;
                let rstd = 1.0 / (var + 1e-5).sqrt();
                for j in 0..c {
                    dw[j] += drow[j] * (row[j] - mean) * rstd;
                    db[j] += drow[j];
                }
            }
            for (i, want) in [(4, dw), (5, db)] {
                let got: Vec<f32> = got[i].iter().map(|&v| f32::from_bits(v)).collect();
                let want: Vec<f32> = want.iter().map(|&v| v as f32).collect();
                let e = rel_err(&got, &want);
                assert!(e < 1e-4, "{rows}x{c}: output {i} rel err {e}");
            }
        }
    }
}

#[test]
fn layer_norm_gradients_over_many_rows_match_finite_differences() {
    // 130 rows: three chunks of the parameter-gradient sums on the GPU path, one on CPU drivers;
    // 12 columns go four an invocation (backward_params4), 7 one.
    for (g, c) in [
        (gpu(), 7),
        (common::gpu_path(), 7),
        (gpu(), 12),
        (common::gpu_path(), 12),
    ] {
        check(
            &g,
            &[input(&[130, c], 41), input(&[c], 42), input(&[c], 43)],
            |t, p| layer_norm(t, &p[0], &p[1], &p[2], 1e-5).unwrap(),
            |h| cpu_layer_norm(&h[0], &h[1], &h[2], c, 1e-5),
            1e-3,
        );
    }
}
