//! Attention on the tape's token rows, and the matmul route of attention (the CPU adapters'
//! path from mid-sized scores, the GPUs' while the scores fit): token rows against split
//! heads bit for bit (one pipeline, two layouts), the raw matmul-route kernels against the CPU
//! reference on both matmul choices, and sequences on the tape that take the padded route.

use super::common::attention::cpu_forward;
use super::common::{gpu, gpu_path, random, rel_err};
use super::{
    Buffers, Inputs, bits, cpu_backward, f32s, f64s, heads_to_tokens, inputs, lse_ref, ragged_mask,
};
use locomotion::gpu::{CommandBatch, Gpu};
use locomotion::tensor::ops::attention::AttentionShape;

#[test]
fn attention_over_token_rows_on_the_tape_equals_split_heads_bit_for_bit() {
    use locomotion::nn::split_heads;
    use locomotion::tensor::ops::attention::{
        KeyMask, TokenAttention, attention_masked, attention_tokens,
    };
    use locomotion::tensor::ops::permute::swap_axes12;
    use locomotion::tensor::ops::reduce::sum_all;
    use locomotion::tensor::ops::unary::mul;
    use locomotion::tensor::{Tape, Tensor};
    let g = gpu();
    let (b, lq, lk, h, d) = (2, 7, 9, 3, 8);
    let w = h * d;
    let mask: Vec<u32> = (0..b * lk).map(|i| u32::from(i % 4 != 1)).collect();
    let r = Tensor::from_host(&g, &random(b * lq * w, 5), [b * lq, w]).unwrap();
    // Gradients of sum(attention(q, k, v) * r) by one path; fresh parameters for each.
    let run = |token_rows: bool| -> Vec<Vec<u32>> {
        let param = |n, seed| Tensor::param(&g, &random(n, seed), [n / w, w]).unwrap();
        let (q, k, v) = (
            param(b * lq * w, 1),
            param(b * lk * w, 2),
            param(b * lk * w, 3),
        );
        let tape = Tape::new(&g);
        let out = if token_rows {
            let a = TokenAttention {
                batch: b,
                lq,
                lk,
                heads: h,
            };
            attention_tokens(&tape, &q, &k, &v, a, Some(KeyMask::Host(&mask))).unwrap()
        } else {
            let (qs, ks, vs) = (
                split_heads(&tape, &q, b, lq, h).unwrap(),
                split_heads(&tape, &k, b, lk, h).unwrap(),
                split_heads(&tape, &v, b, lk, h).unwrap(),
            );
            let ctx = attention_masked(&tape, &qs, &ks, &vs, Some(KeyMask::Host(&mask))).unwrap();
            tape.reshape(&swap_axes12(&tape, &ctx).unwrap(), [b * lq, w])
                .unwrap()
        };
        let loss = sum_all(&tape, &mul(&tape, &out, &r).unwrap()).unwrap();
        tape.backward(&loss).unwrap();
        let mut all = vec![bits(&out.to_vec().unwrap())];
        for p in [&q, &k, &v] {
            all.push(bits(&p.grad_to_vec().unwrap().unwrap()));
        }
        all
    };
    let (rows, split) = (run(true), run(false));
    for (i, name) in ["output", "dq", "dk", "dv"].iter().enumerate() {
        assert_eq!(rows[i], split[i], "{name} differs");
    }
}

/// The matmul route on the GPU: (o, lse, dq, dk, dv).
fn gpu_matmul_route(
    g: &Gpu,
    s: &AttentionShape,
    x: &Inputs,
    mask: Option<&[u32]>,
) -> [Vec<f32>; 5] {
    use locomotion::tensor::ops::attention::{attention_matmul_backward, attention_matmul_forward};
    let b = Buffers::new(g, s, x, mask, 2, s.scores_len() as usize);
    let (probs, ds) = (&b.scratch[0], &b.scratch[1]);
    let mut batch = CommandBatch::new(g);
    let m = b.mask.as_ref();
    attention_matmul_forward(
        &mut batch, *s, &b.q, &b.k, &b.v, m, s.tk, probs, &b.o, &b.lse,
    )
    .unwrap();
    attention_matmul_backward(
        &mut batch,
        *s,
        &b.q,
        &b.k,
        &b.v,
        probs,
        &b.o,
        &b.dout,
        ds,
        &b.delta,
        [&b.dq, &b.dk, &b.dv],
    )
    .unwrap();
    b.finish(g, batch)
}

#[test]
fn the_matmul_route_matches_cpu() {
    // Long sequences on CPU drivers and sequences on GPUs run as matmuls (scores in memory);
    // Tk and D multiples of 4. Both matmul choices: the CPU drivers' and the GPUs' (SGEMM).
    let s = AttentionShape::new(3, 2, 29, 44, 20);
    for (g, (seed, mask)) in [gpu(), gpu_path()].into_iter().flat_map(|g| {
        [
            (70, None),
            (71, Some(ragged_mask(&s, None))),
            (72, Some(ragged_mask(&s, Some(1)))),
        ]
        .map(|case| (g.clone(), case))
    }) {
        let x = inputs(&s, seed, 1.0);
        let m = mask.as_deref();
        let (q, k, v, dout) = (f64s(&x.q), f64s(&x.k), f64s(&x.v), f64s(&x.dout));
        let (o_ref, lse) = cpu_forward(&s, &q, &k, &v, m);
        let grads = cpu_backward(&s, &q, &k, &v, m, &dout);
        let want = [
            f32s(&o_ref),
            lse_ref(&lse),
            f32s(&grads[0]),
            f32s(&grads[1]),
            f32s(&grads[2]),
        ];
        let got = gpu_matmul_route(&g, &s, &x, m);
        for (i, name) in ["o", "lse", "dq", "dk", "dv"].iter().enumerate() {
            assert!(
                got[i].iter().all(|v| v.is_finite()),
                "{name}: NaN or unwritten"
            );
            let e = rel_err(&got[i], &want[i]);
            let kernels = g.kernels;
            assert!(
                e < 1e-4,
                "{kernels:?} kernels, seed {seed}: matmul route {name} rel err {e}"
            );
        }
    }
}

#[test]
fn sequences_on_the_tape_take_the_padded_matmul_route_and_match_cpu() {
    use locomotion::tensor::ops::attention::matmul_route;
    use locomotion::tensor::ops::attention::{KeyMask, TokenAttention, attention_tokens};
    use locomotion::tensor::ops::reduce::sum_all;
    use locomotion::tensor::ops::unary::mul;
    use locomotion::tensor::{Tape, Tensor};
    let g = gpu();
    // A long self-attention, the tiny preset's 65 video tokens (padded to 68) and an odd
    // cross-attention (13 queries, 67 keys): lengths that are not multiples of 4 are padded.
    for (b, h, tq, tk, d, masked, seed) in [
        (1, 2, 132, 132, 8, true, 80),
        (2, 2, 65, 65, 32, false, 81),
        (3, 2, 13, 67, 8, true, 82),
    ] {
        let s = AttentionShape::new(b as u32, h as u32, tq as u32, tk as u32, d as u32);
        // CPU drivers take the route from 16 x 16 scores, GPUs wherever the scores fit.
        assert!(matmul_route(&g, &s));
        let x = inputs(&s, seed, 1.0);
        let mask: Vec<u32> = (0..b * tk).map(|j| u32::from(j % 9 != 4)).collect();
        let mask = masked.then_some(mask);
        let w = h * d;
        let to = |v: &[f32], t: usize| heads_to_tokens(v, b, h, t, d, false);
        let param = |v: &[f32], t: usize| Tensor::param(&g, &to(v, t), [b * t, w]).unwrap();
        let (q, k, v) = (param(&x.q, tq), param(&x.k, tk), param(&x.v, tk));
        let tape = Tape::new(&g);
        let a = TokenAttention {
            batch: b,
            lq: tq,
            lk: tk,
            heads: h,
        };
        let km = mask.as_deref().map(KeyMask::Host);
        let out = attention_tokens(&tape, &q, &k, &v, a, km).unwrap();
        let r = Tensor::from_host(&g, &to(&x.dout, tq), [b * tq, w]).unwrap();
        let loss = sum_all(&tape, &mul(&tape, &out, &r).unwrap()).unwrap();
        tape.backward(&loss).unwrap();
        let (qf, kf, vf, df) = (f64s(&x.q), f64s(&x.k), f64s(&x.v), f64s(&x.dout));
        let (o_ref, _) = cpu_forward(&s, &qf, &kf, &vf, mask.as_deref());
        let grads = cpu_backward(&s, &qf, &kf, &vf, mask.as_deref(), &df);
        let back = |v: Vec<f32>, t: usize| heads_to_tokens(&v, b, h, t, d, true);
        let e = rel_err(&back(out.to_vec().unwrap(), tq), &f32s(&o_ref));
        assert!(e < 1e-4, "{tq}x{tk}: output rel err {e}");
        for (name, p, t, want) in [
            ("dq", &q, tq, &grads[0]),
            ("dk", &k, tk, &grads[1]),
            ("dv", &v, tk, &grads[2]),
        ] {
            let got = back(p.grad_to_vec().unwrap().unwrap(), t);
            let e = rel_err(&got, &f32s(want));
            assert!(e < 1e-4, "{tq}x{tk}: {name} rel err {e}");
        }
    }
}
