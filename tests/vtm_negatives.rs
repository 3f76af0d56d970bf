//! The GPU side of VTM's hard negatives: the draw kernel (`hard_negatives.wgsl`) against a CPU
//! reference with the same hash, its distribution, the row gather with GPU indices
//! (`gather.wgsl`, forward against a CPU reference and backward against finite
//! differences), and attention reading its key mask from a GPU buffer.

mod common;
mod gradcheck;

use common::{random, rel_err};
use gradcheck::{check, input};
use locomotion::gpu::Gpu;
use locomotion::tensor::ops::attention::{KeyMask, attention_masked};
use locomotion::tensor::ops::gather::{gather_rows, gather_rows_u32};
use locomotion::tensor::ops::negatives::hard_negative_rows;
use locomotion::tensor::ops::reduce::sum_all;
use locomotion::tensor::ops::unary::mul;
use locomotion::tensor::{Tape, Tensor};

// ------------------------------------------------------------------ the draw, CPU reference

fn pcg(v: u32) -> u32 {
    let s = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let w = ((s >> ((s >> 28) + 4)) ^ s).wrapping_mul(277_803_737);
    (w >> 22) ^ w
}

/// The shader's draw in the same f32 order: (text_rows, video_rows), each 3B.
fn draw_cpu(sim: &[f32], b: usize, tau: f32, seed: u64) -> (Vec<u32>, Vec<u32>) {
    let inv_tau = 1.0 / tau;
    let mut neg = [vec![0u32; b], vec![0u32; b]];
    for s in 0..2 * b {
        let (dir, i) = (s / b, s % b);
        let score = |j: usize| {
            if dir == 0 {
                sim[i * b + j]
            } else {
                sim[j * b + i]
            }
        };
        let others = || (0..b).filter(move |&j| j != i);
        let m = others().map(score).fold(-3.0e38f32, f32::max);
        let mut total = 0f32;
        for j in others() {
            total += ((score(j) - m) * inv_tau).exp();
        }
        let h = pcg(pcg(pcg(seed as u32) ^ (seed >> 32) as u32) ^ s as u32);
        let mut left = (h >> 8) as f32 * (1.0 / 16_777_216.0) * total;
        let mut pick = if i == b - 1 { b - 2 } else { b - 1 };
        for j in others() {
            let w = ((score(j) - m) * inv_tau).exp();
            if left < w {
                pick = j;
                break;
            }
            left -= w;
        }
        neg[dir][i] = pick as u32;
    }
    let id: Vec<u32> = (0..b as u32).collect();
    let text = [&id[..], &neg[0], &id].concat();
    let video = [&id[..], &id, &neg[1]].concat();
    (text, video)
}

fn draw_gpu(g: &Gpu, sim: &[f32], b: usize, tau: f64, seed: u64) -> (Vec<u32>, Vec<u32>) {
    let t = Tensor::from_host(g, sim, [b, b]).unwrap();
    let (tr, vr) = hard_negative_rows(&t, tau, seed).unwrap();
    (g.read::<u32>(&tr).unwrap(), g.read::<u32>(&vr).unwrap())
}

#[test]
fn the_gpu_draw_matches_its_cpu_reference_on_random_similarities() {
    let g = common::gpu();
    let mut draws = 0;
    for (b, seed) in [(2, 1u64), (5, 2), (13, 0xdead_beef_0000_0007), (70, 9)] {
        let sim = random(b * b, seed);
        for tau in [0.07, 0.5] {
            let (want_t, want_v) = draw_cpu(&sim, b, tau as f32, seed);
            let (got_t, got_v) = draw_gpu(&g, &sim, b, tau, seed);
            assert_eq!(got_t[..3 * b], want_t[..], "text rows, B {b} τ {tau}");
            assert_eq!(got_v[..3 * b], want_v[..], "video rows, B {b} τ {tau}");
            draws += 2 * b;
        }
    }
    assert!(draws > 100);
}

#[test]
fn drawn_negatives_are_never_the_positive_and_follow_the_similarity() {
    let g = common::gpu();
    let b = 6;
    // Pair 0 looks like pair 3 (0.9), a little like pair 1 (0.5), not like the rest.
    let mut sim = vec![0.0f32; b * b];
    (0..b).for_each(|i| sim[i * b + i] = 1.0);
    for (j, s) in [(3, 0.9), (1, 0.5)] {
        sim[j] = s; // video 0 vs text j
        sim[j * b] = s; // video j vs text 0
    }
    let (mut hits, seeds) = ([[0usize; 6]; 2], 200);
    for seed in 0..seeds {
        let (t, v) = draw_gpu(&g, &sim, b, 0.2, seed);
        for i in 0..b {
            let id = i as u32;
            assert_eq!((t[i], t[2 * b + i], v[i], v[b + i]), (id, id, id, id));
            assert_ne!(
                t[b + i] as usize,
                i,
                "text negative of video {i}, seed {seed}"
            );
            assert_ne!(
                v[2 * b + i] as usize,
                i,
                "video negative of text {i}, seed {seed}"
            );
        }
        hits[0][t[b] as usize] += 1;
        hits[1][v[2 * b] as usize] += 1;
    }
    for h in hits {
        // 1 : exp(−0.4/0.2) : 3·exp(−0.9/0.2) ≈ 0.86 : 0.12 : 0.03 of the draws (3, 1, others).
        assert_eq!(h[0], 0);
        assert!(
            h[3] > h[1] && h[1] > h[2] && h[3] > seeds as usize * 7 / 10,
            "{h:?}"
        );
        assert!(h[2] + h[4] + h[5] > 0, "every negative can be drawn: {h:?}");
    }
    // The same seed draws the same rows.
    assert_eq!(draw_gpu(&g, &sim, b, 0.2, 5), draw_gpu(&g, &sim, b, 0.2, 5));
}

// --------------------------------------------------------------------------------- gather

fn gather_cpu(w: &[f64], c: usize, ids: &[u32]) -> Vec<f64> {
    let v = w.len() / c;
    ids.iter()
        .flat_map(|&r| {
            let r = r as usize;
            (0..c).map(move |k| if r < v { w[r * c + k] } else { 0.0 })
        })
        .collect()
}

#[test]
fn gather_rows_matches_the_cpu_reference_and_its_gradient_finite_differences() {
    let g = common::gpu();
    // Repeats, a skipped row, an out-of-range index; widths that are not multiples of 64.
    for (v, c, ids) in [
        (5usize, 7usize, vec![3u32, 0, 3, 4, 9, 0, 1]),
        (3, 67, vec![2, 2, 0]),
    ] {
        let w = input(&[v, c], 11 + c as u64);
        let ids_gpu = ids.clone();
        check(
            &g,
            &[w],
            |tape, x| {
                let buf = tape.gpu().upload(&ids_gpu, "ids").unwrap();
                gather_rows(tape, &x[0], &buf, ids_gpu.len()).unwrap()
            },
            |x| gather_cpu(&x[0], c, &ids),
            1e-3,
        );
    }
}

#[test]
fn gather_rows_u32_matches_the_cpu_reference() {
    let g = common::gpu();
    let (v, c) = (4, 70);
    let table: Vec<u32> = (0..v * c)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761))
        .collect();
    let ids = [1u32, 3, 3, 0, 7, 2];
    let w = g.upload(&table, "table").unwrap();
    let idb = g.upload(&ids, "ids").unwrap();
    let out = gather_rows_u32(&g, &w, &idb, [ids.len(), v, c]).unwrap();
    let got = g.read::<u32>(&out).unwrap();
    let table = &table;
    let want: Vec<u32> = ids
        .iter()
        .flat_map(|&r| {
            (0..c).map(move |k| {
                if (r as usize) < v {
                    table[r as usize * c + k]
                } else {
                    0
                }
            })
        })
        .collect();
    assert_eq!(got[..want.len()], want[..]);
}

// ------------------------------------------------------------------ attention, GPU key mask

#[test]
fn attention_with_a_gpu_key_mask_equals_the_host_mask() {
    let g = common::gpu();
    let (b, h, tq, tk, d) = (3, 2, 5, 7, 8);
    let mask: Vec<u32> = (0..b * tk)
        .map(|i| u32::from(i % tk < 2 + i / tk * 2))
        .collect();
    let run = |gpu_mask: bool| {
        let tape = Tape::new(&g);
        let q = Tensor::param(&g, &random(b * h * tq * d, 1), [b, h, tq, d]).unwrap();
        let k = Tensor::param(&g, &random(b * h * tk * d, 2), [b, h, tk, d]).unwrap();
        let v = Tensor::param(&g, &random(b * h * tk * d, 3), [b, h, tk, d]).unwrap();
        let buf = g.upload(&mask, "mask").unwrap();
        let m = if gpu_mask {
            KeyMask::Gpu(&buf)
        } else {
            KeyMask::Host(&mask)
        };
        let o = attention_masked(&tape, &q, &k, &v, Some(m)).unwrap();
        drop(buf); // the op keeps its own copy for the backward
        let r = Tensor::from_host(&g, &random(o.numel(), 4), o.shape().clone()).unwrap();
        let loss = sum_all(&tape, &mul(&tape, &o, &r).unwrap()).unwrap();
        tape.backward(&loss).unwrap();
        let grads: Vec<Vec<f32>> = [&q, &k, &v]
            .iter()
            .map(|t| t.grad_to_vec().unwrap().unwrap())
            .collect();
        (o.to_vec().unwrap(), grads)
    };
    let (host, gpu) = (run(false), run(true));
    assert!(rel_err(&gpu.0, &host.0) < 1e-6);
    for (a, b) in gpu.1.iter().zip(&host.1) {
        assert!(rel_err(a, b) < 1e-6);
    }
}
