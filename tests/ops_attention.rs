//! Fused and unfused attention against an f64 CPU reference: forward, backward, masks, a single
//! token, cross-attention (Tq != Tk), a 520-token sequence, huge scores, and a
//! finite-difference check of the backward rule. Token rows on the tape and the matmul route:
//! `attention_tape/`.

mod common;

use common::attention::{cpu_forward, cpu_probs};
use common::fd::f64s;
use common::{POISON, VARIANT_ULPS, assert_within_ulps, gpu, random, rel_err};
use locomotion::gpu::{CommandBatch, Gpu, GpuBuffer, Kernels};
use locomotion::tensor::ops::attention::{AttentionShape, attention_backward, attention_forward};
use locomotion::tensor::ops::dev::{attention_unfused, attention_unfused_backward};

// ------------------------------------------------------------------------- CPU reference

/// dQ, dK, dV of sum(O * dO) by the textbook rule: dP = dO V^T, dS = P (dP - rowsum(dP P)).
fn cpu_backward(
    s: &AttentionShape,
    q: &[f64],
    k: &[f64],
    v: &[f64],
    mask: Option<&[u32]>,
    dout: &[f64],
) -> [Vec<f64>; 3] {
    let (tq, tk, d) = (s.tq as usize, s.tk as usize, s.head_dim as usize);
    let (p, _) = cpu_probs(s, q, k, mask);
    let mut dq = vec![0.0; q.len()];
    let mut dk = vec![0.0; k.len()];
    let mut dv = vec![0.0; v.len()];
    let sc = s.scale as f64;
    for r in 0..s.rows() as usize {
        let g = r / tq;
        let dp: Vec<f64> = (0..tk)
            .map(|j| {
                (0..d)
                    .map(|c| dout[r * d + c] * v[(g * tk + j) * d + c])
                    .sum()
            })
            .collect();
        let dot: f64 = (0..tk).map(|j| dp[j] * p[r * tk + j]).sum();
        for j in 0..tk {
            let pij = p[r * tk + j];
            let ds = pij * (dp[j] - dot) * sc;
            for c in 0..d {
                dv[(g * tk + j) * d + c] += pij * dout[r * d + c];
                dq[r * d + c] += ds * k[(g * tk + j) * d + c];
                dk[(g * tk + j) * d + c] += ds * q[r * d + c];
            }
        }
    }
    [dq, dk, dv]
}

fn f32s(x: &[f64]) -> Vec<f32> {
    x.iter().map(|&v| v as f32).collect()
}

// ------------------------------------------------------------------------------ GPU runs

struct Inputs {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    dout: Vec<f32>,
}

fn inputs(s: &AttentionShape, seed: u64, amplitude: f32) -> Inputs {
    let nq = (s.rows() * s.head_dim) as usize;
    let nk = (s.batch * s.heads * s.tk * s.head_dim) as usize;
    let amp = |x: Vec<f32>| x.into_iter().map(|v| v * amplitude).collect();
    Inputs {
        q: amp(random(nq, seed)),
        k: amp(random(nk, seed + 1)),
        v: random(nk, seed + 2),
        dout: random(nq, seed + 3),
    }
}

/// One run's GPU buffers: the inputs uploaded, every output (and `scratch` buffers of
/// `scratch_len` floats each) filled with POISON so that an unwritten value shows.
struct Buffers {
    q: GpuBuffer,
    k: GpuBuffer,
    v: GpuBuffer,
    dout: GpuBuffer,
    mask: Option<GpuBuffer>,
    o: GpuBuffer,
    lse: GpuBuffer,
    delta: GpuBuffer,
    dq: GpuBuffer,
    dk: GpuBuffer,
    dv: GpuBuffer,
    scratch: Vec<GpuBuffer>,
}

impl Buffers {
    fn new(
        g: &Gpu,
        s: &AttentionShape,
        x: &Inputs,
        mask: Option<&[u32]>,
        scratch: usize,
        scratch_len: usize,
    ) -> Buffers {
        let up = |d: &[f32], w| g.upload(d, w).unwrap();
        let poison = |n: usize, w| g.filled(4 * n as u64, POISON, w).unwrap();
        let rows = s.rows() as usize;
        Buffers {
            q: up(&x.q, "q"),
            k: up(&x.k, "k"),
            v: up(&x.v, "v"),
            dout: up(&x.dout, "do"),
            mask: mask.map(|m| g.upload(m, "mask").unwrap()),
            o: poison(x.q.len(), "o"),
            lse: poison(rows, "lse"),
            delta: poison(rows, "delta"),
            dq: poison(x.q.len(), "dq"),
            dk: poison(x.k.len(), "dk"),
            dv: poison(x.v.len(), "dv"),
            scratch: (0..scratch)
                .map(|_| poison(scratch_len, "scratch"))
                .collect(),
        }
    }

    /// Submit `batch` and read (o, lse, dq, dk, dv) back.
    fn finish(&self, g: &Gpu, batch: CommandBatch) -> [Vec<f32>; 5] {
        batch.submit_and_wait().unwrap();
        [&self.o, &self.lse, &self.dq, &self.dk, &self.dv].map(|b| g.read::<f32>(b).unwrap())
    }
}

/// Fused forward and backward on the GPU: (o, lse, dq, dk, dv).
fn gpu_fused(g: &Gpu, s: &AttentionShape, x: &Inputs, mask: Option<&[u32]>) -> [Vec<f32>; 5] {
    let b = Buffers::new(g, s, x, mask, 0, 0);
    let mut batch = CommandBatch::new(g);
    let m = b.mask.as_ref();
    attention_forward(&mut batch, *s, &b.q, &b.k, &b.v, m, &b.o, &b.lse).unwrap();
    attention_backward(
        &mut batch,
        *s,
        &b.q,
        &b.k,
        &b.v,
        m,
        &b.o,
        &b.dout,
        &b.lse,
        &b.delta,
        [&b.dq, &b.dk, &b.dv],
    )
    .unwrap();
    b.finish(g, batch)
}

/// Unfused forward and backward on the GPU: (o, lse, dq, dk, dv).
fn gpu_unfused(g: &Gpu, s: &AttentionShape, x: &Inputs, mask: Option<&[u32]>) -> [Vec<f32>; 5] {
    let b = Buffers::new(g, s, x, mask, 2, s.rows() as usize * s.tk as usize);
    let (scores, ds) = (&b.scratch[0], &b.scratch[1]);
    let mut batch = CommandBatch::new(g);
    let m = b.mask.as_ref();
    attention_unfused(&mut batch, *s, &b.q, &b.k, &b.v, m, scores, &b.o, &b.lse).unwrap();
    attention_unfused_backward(
        &mut batch,
        *s,
        &b.q,
        &b.k,
        &b.v,
        scores,
        &b.dout,
        ds,
        &b.delta,
        [&b.dq, &b.dk, &b.dv],
    )
    .unwrap();
    b.finish(g, batch)
}

/// A mask with a few absent keys per batch row; row `full` (if any) has every key absent.
fn ragged_mask(s: &AttentionShape, full: Option<usize>) -> Vec<u32> {
    let tk = s.tk as usize;
    (0..s.batch as usize * tk)
        .map(|e| {
            let (b, j) = (e / tk, e % tk);
            let valid = tk - (b * 3) % tk.max(1);
            u32::from(Some(b) != full && j < valid && j % 5 != 3)
        })
        .collect()
}

/// lse for comparison: rows the CPU leaves at -inf are compared as -1e30 (the GPU sentinel).
fn lse_ref(lse: &[f64]) -> Vec<f32> {
    lse.iter()
        .map(|&x| if x.is_finite() { x as f32 } else { -1e30 })
        .collect()
}

/// (B, H, T, D) -> (B, T, H, D) (`back`: the inverse), the layout of a linear layer's rows.
fn heads_to_tokens(x: &[f32], b: usize, h: usize, t: usize, d: usize, back: bool) -> Vec<f32> {
    let mut y = vec![0.0; x.len()];
    for (bi, hi, ti, di) in (0..b).flat_map(|bi| {
        (0..h).flat_map(move |hi| (0..t).flat_map(move |ti| (0..d).map(move |di| (bi, hi, ti, di))))
    }) {
        let heads_major = ((bi * h + hi) * t + ti) * d + di;
        let tokens_major = ((bi * t + ti) * h + hi) * d + di;
        if back {
            y[heads_major] = x[tokens_major];
        } else {
            y[tokens_major] = x[heads_major];
        }
    }
    y
}

/// The fused kernels of `g`'s variant over the (B, T, H, D) layout, results turned back to
/// (B, H, T, D).
fn gpu_fused_tokens_major(
    g: &Gpu,
    s: &AttentionShape,
    x: &Inputs,
    mask: Option<&[u32]>,
) -> [Vec<f32>; 5] {
    let (b, h, tq, tk, d) = (
        s.batch as usize,
        s.heads as usize,
        s.tq as usize,
        s.tk as usize,
        s.head_dim as usize,
    );
    let to = |v: &[f32], t| heads_to_tokens(v, b, h, t, d, false);
    let y = Inputs {
        q: to(&x.q, tq),
        k: to(&x.k, tk),
        v: to(&x.v, tk),
        dout: to(&x.dout, tq),
    };
    let [o, lse, dq, dk, dv] = gpu_fused(g, &s.tokens_major(), &y, mask);
    let back = |v: &[f32], t| heads_to_tokens(v, b, h, t, d, true);
    [
        back(&o, tq),
        lse,
        back(&dq, tq),
        back(&dk, tk),
        back(&dv, tk),
    ]
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn check_all(s: AttentionShape, seed: u64, mask: Option<Vec<u32>>, amplitude: f32) {
    // Both kernel variants (CPU drivers': register-blocked; GPUs': one row per thread) and
    // both layouts compute the same operations in the same order: equal up to how each
    // pipeline contracts a * b + c (VARIANT_ULPS).
    let g = gpu();
    let x = inputs(&s, seed, amplitude);
    let m = mask.as_deref();
    let base = gpu_fused(&g, &s, &x, m);
    for variant in [Kernels::Cpu, Kernels::Gpu] {
        let gv = g.with_kernels(variant);
        for (layout, got) in [
            ("(B, H, T, D)", gpu_fused(&gv, &s, &x, m)),
            ("(B, T, H, D)", gpu_fused_tokens_major(&gv, &s, &x, m)),
        ] {
            for (i, name) in ["o", "lse", "dq", "dk", "dv"].iter().enumerate() {
                assert_within_ulps(
                    &got[i],
                    &base[i],
                    VARIANT_ULPS,
                    &format!("{s:?}: {name} of the {variant:?} variant over {layout}"),
                );
            }
        }
    }
    let (q, k, v, dout) = (f64s(&x.q), f64s(&x.k), f64s(&x.v), f64s(&x.dout));
    let (o_ref, lse) = cpu_forward(&s, &q, &k, &v, m);
    let grads = cpu_backward(&s, &q, &k, &v, m, &dout);
    let [o, l, dq, dk, dv] = base;
    for (name, got) in [
        ("o", &o),
        ("lse", &l),
        ("dq", &dq),
        ("dk", &dk),
        ("dv", &dv),
    ] {
        assert!(
            got.iter().all(|x| x.is_finite()),
            "{s:?}: {name} has NaN/Inf or unwritten elements"
        );
    }
    let e = rel_err(&o, &f32s(&o_ref));
    assert!(e < 1e-4, "{s:?}: fused o rel err {e}");
    let e = rel_err(&l, &lse_ref(&lse));
    assert!(e < 1e-4, "{s:?}: fused lse rel err {e}");
    for (name, got, want) in [
        ("dq", &dq, &grads[0]),
        ("dk", &dk, &grads[1]),
        ("dv", &dv, &grads[2]),
    ] {
        let e = rel_err(got, &f32s(want));
        assert!(e < 1e-4, "{s:?}: fused {name} rel err {e}");
    }
    let unfused = gpu_unfused(&g, &s, &x, m);
    let want = [
        f32s(&o_ref),
        lse_ref(&lse),
        f32s(&grads[0]),
        f32s(&grads[1]),
        f32s(&grads[2]),
    ];
    for (name, (got, want)) in ["o", "lse", "dq", "dk", "dv"]
        .iter()
        .zip(unfused.iter().zip(&want))
    {
        assert!(
            got.iter().all(|x| x.is_finite()),
            "{s:?}: unfused {name} NaN/unwritten"
        );
        let e = rel_err(got, want);
        assert!(e < 1e-4, "{s:?}: unfused {name} rel err {e}");
    }
}

// ----------------------------------------------------------------------------------- tests

#[test]
fn fused_and_unfused_match_cpu_on_odd_shapes() {
    check_all(AttentionShape::new(2, 3, 37, 37, 24), 1, None, 1.0);
    check_all(AttentionShape::new(1, 2, 70, 33, 64), 2, None, 1.0);
    check_all(AttentionShape::new(2, 1, 9, 100, 5), 3, None, 1.0);
}

#[test]
fn single_token_and_cross_attention() {
    check_all(AttentionShape::new(1, 1, 1, 1, 7), 10, None, 1.0);
    check_all(AttentionShape::new(3, 2, 1, 19, 16), 11, None, 1.0);
    check_all(AttentionShape::new(2, 2, 45, 1, 33), 12, None, 1.0);
}

#[test]
fn key_padding_mask_hides_keys() {
    let s = AttentionShape::new(3, 2, 29, 41, 20);
    check_all(s, 20, Some(ragged_mask(&s, None)), 1.0);
    // Batch row 1 has no key at all: its outputs and gradients must be exactly zero.
    let mask = ragged_mask(&s, Some(1));
    check_all(s, 21, Some(mask.clone()), 1.0);
    let g = gpu();
    let x = inputs(&s, 22, 1.0);
    let [o, ..] = gpu_fused(&g, &s, &x, Some(&mask));
    let per_batch = (s.heads * s.tq * s.head_dim) as usize;
    assert!(o[per_batch..2 * per_batch].iter().all(|&x| x == 0.0));
    // Changing a masked key's values must not change the output.
    let mut y = inputs(&s, 22, 1.0);
    let hidden = (0..s.tk as usize).find(|&j| mask[j] == 0).unwrap();
    for c in 0..s.head_dim as usize {
        y.v[hidden * s.head_dim as usize + c] += 5.0;
        y.k[hidden * s.head_dim as usize + c] -= 3.0;
    }
    let [o2, ..] = gpu_fused(&g, &s, &y, Some(&mask));
    assert_eq!(o, o2, "a masked key leaked into the output");
}

#[test]
fn sequence_of_520_tokens_with_head_dim_64() {
    check_all(AttentionShape::new(1, 1, 520, 520, 64), 30, None, 1.0);
}

#[test]
fn huge_scores_stay_finite() {
    // Scores of order 1e3..1e4: the online softmax must not overflow.
    check_all(AttentionShape::new(1, 2, 21, 35, 16), 40, None, 40.0);
}

#[test]
fn backward_rule_matches_finite_differences() {
    let s = AttentionShape::new(2, 1, 3, 5, 3);
    let x = inputs(&s, 50, 1.0);
    let mask = ragged_mask(&s, None);
    let (q, k, v, w) = (f64s(&x.q), f64s(&x.k), f64s(&x.v), f64s(&x.dout));
    let loss = |q: &[f64], k: &[f64], v: &[f64]| -> f64 {
        let (o, _) = cpu_forward(&s, q, k, v, Some(&mask));
        o.iter().zip(&w).map(|(a, b)| a * b).sum()
    };
    let grads = cpu_backward(&s, &q, &k, &v, Some(&mask), &w);
    let h = 1e-6;
    for (which, g) in grads.iter().enumerate() {
        for i in 0..g.len() {
            let mut xs = [q.clone(), k.clone(), v.clone()];
            xs[which][i] += h;
            let up = loss(&xs[0], &xs[1], &xs[2]);
            xs[which][i] -= 2.0 * h;
            let down = loss(&xs[0], &xs[1], &xs[2]);
            let fd = (up - down) / (2.0 * h);
            assert!(
                (fd - g[i]).abs() < 1e-7,
                "input {which} element {i}: fd {fd} vs rule {}",
                g[i]
            );
        }
    }
}

#[test]
fn fused_backward_is_deterministic() {
    // No float atomics: two runs on the same inputs agree to the bit.
    let g = gpu();
    let s = AttentionShape::new(2, 2, 67, 45, 32);
    let x = inputs(&s, 60, 1.0);
    let mask = ragged_mask(&s, None);
    let first = gpu_fused(&g, &s, &x, Some(&mask));
    let second = gpu_fused(&g, &s, &x, Some(&mask));
    for (a, b) in first.iter().zip(&second) {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(a), bits(b));
    }
}

#[test]
fn bad_shapes_are_errors_not_panics() {
    let g = gpu();
    let b = g.upload(&[0.0f32; 4], "x").unwrap();
    let mut batch = CommandBatch::new(&g);
    let wide = AttentionShape::new(1, 1, 1, 1, 65);
    let e = attention_forward(&mut batch, wide, &b, &b, &b, None, &b, &b).unwrap_err();
    assert!(e.to_string().contains("head dimension 65"), "{e}");
    let small = AttentionShape::new(1, 1, 3, 3, 8);
    let e = attention_forward(&mut batch, small, &b, &b, &b, None, &b, &b).unwrap_err();
    assert!(
        e.to_string()
            .contains("q holds 4 values but the shape needs 24"),
        "{e}"
    );
    let empty = AttentionShape::new(1, 1, 0, 4, 8);
    let e = attention_forward(&mut batch, empty, &b, &b, &b, None, &b, &b).unwrap_err();
    assert!(e.to_string().contains("at least 1"), "{e}");
}

#[test]
fn benchmark_hook_reports_every_kernel_and_the_speedups() {
    use locomotion::bench::attention::{bench_attention, format_table};
    let g = gpu();
    let shapes = [AttentionShape::new(1, 2, 33, 17, 16)];
    let bench = bench_attention(&g, &shapes, 1, false).unwrap();
    let names: Vec<&str> = bench.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "attention fused forward",
            "attention unfused forward",
            "attention fused backward",
            "attention unfused backward"
        ]
    );
    for r in &bench.rows {
        assert!(
            r.seconds > 0.0 && r.gflops.is_finite() && r.gflops > 0.0,
            "{r:?}"
        );
        assert_eq!(r.shape, "B=1 H=2 Tq=33 Tk=17 D=16");
    }
    assert_eq!(bench.speedups.len(), 1);
    assert_eq!(bench.backward_speedups.len(), 1);
    let table = format_table(&bench);
    assert!(
        table.contains("fused vs unfused forward at B=1 H=2 Tq=33 Tk=17 D=16"),
        "{table}"
    );
}

mod attention_tape;
