//! Plain-loop CPU references (f64 accumulation) for the kernels `selftest` checks, and the
//! relative error it compares with.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::tensor::ops::attention::AttentionShape;

/// `n` uniform values in [-1, 1) from `seed` (never zeros: some drivers shortcut them).
pub fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// ‖got − want‖ / ‖want‖ in f64; infinite when the lengths differ or `got` holds a NaN
/// (an element a kernel left unwritten in a poisoned buffer).
pub fn rel_err(got: &[f32], want: &[f64]) -> f64 {
    if got.len() != want.len() {
        return f64::INFINITY;
    }
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (&g, &w) in got.iter().zip(want) {
        num += (g as f64 - w).powi(2);
        den += w * w;
    }
    let e = (num / den.max(1e-300)).sqrt();
    if e.is_nan() { f64::INFINITY } else { e }
}

/// a (M, K) @ b (K, N) + bias (N,): (M, N).
pub fn matmul(
    a: &[f32],
    b: &[f32],
    bias: Option<&[f32]>,
    m: usize,
    n: usize,
    k: usize,
) -> Vec<f64> {
    let mut y = vec![0.0f64; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = bias.map_or(0.0, |b| b[j] as f64);
            for p in 0..k {
                s += a[i * k + p] as f64 * b[p * n + j] as f64;
            }
            y[i * n + j] = s;
        }
    }
    y
}

/// The transpose of x (R, C): (C, R).
pub fn transpose(x: &[f64], r: usize, c: usize) -> Vec<f64> {
    let mut t = vec![0.0; r * c];
    for i in 0..r {
        for j in 0..c {
            t[j * r + i] = x[i * c + j];
        }
    }
    t
}

/// Layer norm of each row of x (R, C) with gamma and beta (C,).
pub fn layer_norm(x: &[f32], w: &[f32], b: &[f32], cols: usize, eps: f64) -> Vec<f64> {
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks(cols) {
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / cols as f64;
        let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / cols as f64;
        let rstd = 1.0 / (var + eps).sqrt();
        for (j, &v) in row.iter().enumerate() {
            y.push((v as f64 - mean) * rstd * w[j] as f64 + b[j] as f64);
        }
    }
    y
}

/// Softmax of each row of x (R, C).
pub fn softmax(x: &[f32], cols: usize) -> Vec<f64> {
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks(cols) {
        let max = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
        let e: Vec<f64> = row.iter().map(|&v| (v as f64 - max).exp()).collect();
        let s: f64 = e.iter().sum();
        y.extend(e.iter().map(|v| v / s));
    }
    y
}

/// softmax(scale q kᵀ) v for q (B·H, Tq, D) and k, v (B·H, Tk, D) of `shape` (heads
/// major): (B·H, Tq, D).
pub fn attention(q: &[f32], k: &[f32], v: &[f32], shape: &AttentionShape) -> Vec<f64> {
    let s = shape;
    let (bh, tq, tk, d) = (
        (s.batch * s.heads) as usize,
        s.tq as usize,
        s.tk as usize,
        s.head_dim as usize,
    );
    let scale = s.scale as f64;
    let mut o = vec![0.0f64; bh * tq * d];
    for h in 0..bh {
        for i in 0..tq {
            let qi = &q[(h * tq + i) * d..][..d];
            let s: Vec<f64> = (0..tk)
                .map(|j| {
                    let kj = &k[(h * tk + j) * d..][..d];
                    scale
                        * qi.iter()
                            .zip(kj)
                            .map(|(&a, &b)| a as f64 * b as f64)
                            .sum::<f64>()
                })
                .collect();
            let max = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = s.iter().map(|x| (x - max).exp()).collect();
            let z: f64 = e.iter().sum();
            for (j, p) in e.iter().enumerate() {
                for c in 0..d {
                    o[(h * tq + i) * d + c] += p / z * v[(h * tk + j) * d + c] as f64;
                }
            }
        }
    }
    o
}
