//! Cross-entropy (ignore index) and symmetric InfoNCE (learnable temperature) against f64 CPU
//! references: forward, backward, finite-difference checks, and logits of +-1e4.

mod common;

use common::fd::f64s;
use common::loss::{cpu_ce, cpu_nce};
use common::{POISON, gpu, random, rel_err};
use locomotion::gpu::{CommandBatch, Gpu};
use locomotion::tensor::ops::loss::{
    IGNORE_INDEX, cross_entropy_backward, cross_entropy_forward, info_nce_backward,
    info_nce_forward,
};

// ------------------------------------------------------------------------- CPU references

fn f32s(x: &[f64]) -> Vec<f32> {
    x.iter().map(|&v| v as f32).collect()
}

// ------------------------------------------------------------------------------ GPU runs

/// Cross-entropy forward + backward on the GPU: (loss, count, dlogits).
fn gpu_ce(g: &Gpu, logits: &[f32], targets: &[u32], c: u32, dloss: f32) -> (f32, f32, Vec<f32>) {
    let n = targets.len() as u32;
    let x = g.upload(logits, "logits").unwrap();
    let t = g.upload(targets, "targets").unwrap();
    let stats = g.filled(8 * n as u64, POISON, "stats").unwrap();
    let loss = g.filled(8, POISON, "loss").unwrap();
    let dl = g.upload(&[dloss], "dloss").unwrap();
    let dx = g
        .filled(4 * logits.len() as u64, POISON, "dlogits")
        .unwrap();
    let mut batch = CommandBatch::new(g);
    cross_entropy_forward(&mut batch, &x, &t, &stats, &loss, n, c, IGNORE_INDEX).unwrap();
    cross_entropy_backward(
        &mut batch,
        &x,
        &t,
        &stats,
        &loss,
        &dl,
        &dx,
        n,
        c,
        IGNORE_INDEX,
    )
    .unwrap();
    batch.submit_and_wait().unwrap();
    let l: Vec<f32> = g.read(&loss).unwrap();
    (l[0], l[1], g.read(&dx).unwrap())
}

/// InfoNCE forward + backward on the GPU: (loss, dsim, dt).
fn gpu_nce(g: &Gpu, sim: &[f32], t: f32, b: u32, dloss: f32) -> (f32, Vec<f32>, f32) {
    let s = g.upload(sim, "sim").unwrap();
    let ls = g.upload(&[t], "log scale").unwrap();
    let stats = g.filled(8 * b as u64, POISON, "stats").unwrap();
    let loss = g.filled(4, POISON, "loss").unwrap();
    let dl = g.upload(&[dloss], "dloss").unwrap();
    let ds = g.filled(4 * sim.len() as u64, POISON, "dsim").unwrap();
    let dt = g.filled(4, POISON, "dt").unwrap();
    let mut batch = CommandBatch::new(g);
    info_nce_forward(&mut batch, &s, &ls, &stats, &loss, b).unwrap();
    info_nce_backward(&mut batch, &s, &ls, &stats, &dl, &ds, &dt, b).unwrap();
    batch.submit_and_wait().unwrap();
    let (l, d, t): (Vec<f32>, Vec<f32>, Vec<f32>) = (
        g.read(&loss).unwrap(),
        g.read(&ds).unwrap(),
        g.read(&dt).unwrap(),
    );
    (l[0], d, t[0])
}

/// Targets in [0, C) with every fifth row ignored.
fn targets(n: usize, c: u32, seed: u64) -> Vec<u32> {
    random(n, seed)
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if i % 5 == 2 {
                IGNORE_INDEX
            } else {
                ((x + 1.0) * 0.5 * c as f32) as u32 % c
            }
        })
        .collect()
}

fn scalar_err(got: f32, want: f64) -> f64 {
    (got as f64 - want).abs() / want.abs().max(1e-30)
}

// ------------------------------------------------------------------------- cross-entropy

#[test]
fn cross_entropy_matches_cpu_with_ignored_rows() {
    let g = gpu();
    for (n, c, amp, seed) in [
        (37usize, 101u32, 3.0f32, 1u64),
        (130, 7, 1.0, 2),
        (3, 1000, 5.0, 3),
    ] {
        let logits: Vec<f32> = random(n * c as usize, seed)
            .iter()
            .map(|x| x * amp)
            .collect();
        let t = targets(n, c, seed + 10);
        let (loss, count, dx) = gpu_ce(&g, &logits, &t, c, 0.7);
        let (want, grad) = cpu_ce(&f64s(&logits), &t, c as usize);
        assert_eq!(
            count as usize,
            t.iter().filter(|&&x| x != IGNORE_INDEX).count()
        );
        assert!(
            scalar_err(loss, want) < 1e-5,
            "N={n} C={c}: loss {loss} vs {want}"
        );
        let want_dx: Vec<f64> = grad.iter().map(|x| x * 0.7).collect();
        assert!(
            dx.iter().all(|x| x.is_finite()),
            "N={n} C={c}: unwritten dlogits"
        );
        let e = rel_err(&dx, &f32s(&want_dx));
        assert!(e < 1e-4, "N={n} C={c}: dlogits rel err {e}");
        for i in (0..n).filter(|i| t[*i] == IGNORE_INDEX) {
            assert!(
                dx[i * c as usize..(i + 1) * c as usize]
                    .iter()
                    .all(|&x| x == 0.0)
            );
        }
    }
}

#[test]
fn cross_entropy_gradient_matches_finite_differences() {
    let (n, c) = (4, 5);
    let logits = f64s(&random(n * c, 7));
    let t = vec![1, IGNORE_INDEX, 4, 0];
    let (_, grad) = cpu_ce(&logits, &t, c);
    let h = 1e-6;
    for i in 0..logits.len() {
        let mut x = logits.clone();
        x[i] += h;
        let up = cpu_ce(&x, &t, c).0;
        x[i] -= 2.0 * h;
        let fd = (up - cpu_ce(&x, &t, c).0) / (2.0 * h);
        assert!(
            (fd - grad[i]).abs() < 1e-8,
            "logit {i}: fd {fd} vs rule {}",
            grad[i]
        );
    }
}

#[test]
fn cross_entropy_survives_logits_of_1e4() {
    let g = gpu();
    let (n, c) = (19, 33);
    let logits: Vec<f32> = random(n * c, 8).iter().map(|x| x.signum() * 1e4).collect();
    let t = targets(n, c as u32, 9);
    let (loss, _, dx) = gpu_ce(&g, &logits, &t, c as u32, 1.0);
    assert!(
        loss.is_finite() && dx.iter().all(|x| x.is_finite()),
        "NaN/Inf at +-1e4"
    );
    let (want, grad) = cpu_ce(&f64s(&logits), &t, c);
    assert!(scalar_err(loss, want) < 1e-5, "loss {loss} vs {want}");
    assert!(rel_err(&dx, &f32s(&grad)) < 1e-4);
}

#[test]
fn cross_entropy_with_every_row_ignored_is_zero() {
    let g = gpu();
    let logits = random(6 * 4, 11);
    let (loss, count, dx) = gpu_ce(&g, &logits, &[IGNORE_INDEX; 6], 4, 1.0);
    assert_eq!((loss, count), (0.0, 0.0));
    assert!(dx.iter().all(|&x| x == 0.0));
}

// -------------------------------------------------------------------------------- InfoNCE

#[test]
fn info_nce_matches_cpu_in_both_directions() {
    let g = gpu();
    // The temperature 0.07 of CLIP and VindLU: t = ln(1 / 0.07).
    let t = (1.0f32 / 0.07).ln();
    for (b, seed) in [(37u32, 20u64), (70, 21), (1, 22)] {
        let sim = random((b * b) as usize, seed);
        let (loss, dsim, dt) = gpu_nce(&g, &sim, t, b, 0.9);
        let (want, wdsim, wdt) = cpu_nce(&f64s(&sim), t as f64, b as usize);
        assert!(
            scalar_err(loss, want) < 1e-5 || b == 1,
            "B={b}: loss {loss} vs {want}"
        );
        assert!(dsim.iter().all(|x| x.is_finite()), "B={b}: unwritten dsim");
        let wdsim: Vec<f64> = wdsim.iter().map(|x| x * 0.9).collect();
        if b > 1 {
            let e = rel_err(&dsim, &f32s(&wdsim));
            assert!(e < 1e-4, "B={b}: dsim rel err {e}");
            assert!(
                scalar_err(dt, 0.9 * wdt) < 1e-4,
                "B={b}: dt {dt} vs {}",
                0.9 * wdt
            );
        } else {
            // One pair: the loss is 0 whatever the similarity, and so are the gradients.
            assert!(loss.abs() < 1e-6 && dsim[0].abs() < 1e-6 && dt.abs() < 1e-6);
        }
    }
}

#[test]
fn info_nce_gradient_matches_finite_differences() {
    let b = 5;
    let sim = f64s(&random(b * b, 30));
    let t = 1.3;
    let (_, dsim, dt) = cpu_nce(&sim, t, b);
    let h = 1e-6;
    for i in 0..sim.len() {
        let mut x = sim.clone();
        x[i] += h;
        let up = cpu_nce(&x, t, b).0;
        x[i] -= 2.0 * h;
        let fd = (up - cpu_nce(&x, t, b).0) / (2.0 * h);
        assert!(
            (fd - dsim[i]).abs() < 1e-7,
            "sim {i}: fd {fd} vs rule {}",
            dsim[i]
        );
    }
    let fd = (cpu_nce(&sim, t + h, b).0 - cpu_nce(&sim, t - h, b).0) / (2.0 * h);
    assert!((fd - dt).abs() < 1e-7, "temperature: fd {fd} vs rule {dt}");
}

#[test]
fn info_nce_survives_logits_of_1e4() {
    let g = gpu();
    let b = 23u32;
    let sim: Vec<f32> = random((b * b) as usize, 40)
        .iter()
        .map(|x| x.signum())
        .collect();
    let t = 1e4f32.ln();
    let (loss, dsim, dt) = gpu_nce(&g, &sim, t, b, 1.0);
    assert!(loss.is_finite() && dt.is_finite() && dsim.iter().all(|x| x.is_finite()));
    let (want, wdsim, _) = cpu_nce(&f64s(&sim), t as f64, b as usize);
    assert!(scalar_err(loss, want) < 1e-4, "loss {loss} vs {want}");
    assert!(rel_err(&dsim, &f32s(&wdsim)) < 1e-4);
}

#[test]
fn wrong_buffer_sizes_are_errors_not_panics() {
    let g = gpu();
    let small = g.upload(&[0.5f32; 6], "small").unwrap();
    let mut batch = CommandBatch::new(&g);
    let e = cross_entropy_forward(
        &mut batch,
        &small,
        &small,
        &small,
        &small,
        3,
        4,
        IGNORE_INDEX,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("logits holds 6 values but the shape needs 12"),
        "{e}"
    );
    let e = info_nce_forward(&mut batch, &small, &small, &small, &small, 3).unwrap_err();
    assert!(e.to_string().contains("sim holds 6 values"), "{e}");
    let e = info_nce_forward(&mut batch, &small, &small, &small, &small, 0).unwrap_err();
    assert!(e.to_string().contains("at least one pair"), "{e}");
}
