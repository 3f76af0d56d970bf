//! The checks `selftest` runs (see [`super::all`]).

use super::reference::{self as r, random, rel_err};
use super::{F32_BOUND, Outcome};
use crate::bench::encoder::{EncoderDims, TransformerEncoder};
use crate::bench::train::{TrainBench, pretrain_parts};
use crate::gpu::{CommandBatch, Gpu};
use crate::model::config::LossWeights;
use crate::tensor::ops::attention::{AttentionShape, attention_forward};
use crate::tensor::ops::matmul::matmul_op;
use crate::tensor::ops::reduce::sum_all;
use crate::tensor::ops::unary::mul;
use crate::tensor::ops::{layernorm, softmax as sm};
use crate::tensor::{Tape, Tensor};
use crate::train::{recipe, state::train_step};

/// Within the f32 bound: (passed, "rel err E (bound B)").
fn compare(what: &str, got: &[f32], want: &[f64]) -> (bool, String) {
    let e = rel_err(got, want);
    (
        e < F32_BOUND,
        format!("{what}rel err {e:.2e} (bound {F32_BOUND:.0e})"),
    )
}

/// Both comparisons must pass.
fn both(a: (bool, String), b: (bool, String)) -> (bool, String) {
    (a.0 && b.0, format!("{}; {}", a.1, b.1))
}

const M: usize = 67;
const N: usize = 45;
const K: usize = 33;

pub fn matmul_forward(g: &Gpu) -> Outcome {
    let (a, b, bias) = (random(M * K, 1), random(K * N, 2), random(N, 3));
    let tape = Tape::new(g);
    let y = matmul_op(
        &tape,
        &Tensor::from_host(g, &a, [M, K])?,
        &Tensor::from_host(g, &b, [K, N])?,
        Some(&Tensor::from_host(g, &bias, [N])?),
        false,
    )?;
    Ok(compare(
        "",
        &y.to_vec()?,
        &r::matmul(&a, &b, Some(&bias), M, N, K),
    ))
}

pub fn matmul_transposed(g: &Gpu) -> Outcome {
    let (a, bt) = (random(M * K, 4), random(N * K, 5));
    let b: Vec<f32> = r::transpose(&bt.iter().map(|&v| v as f64).collect::<Vec<_>>(), N, K)
        .iter()
        .map(|&v| v as f32)
        .collect();
    let tape = Tape::new(g);
    let y = matmul_op(
        &tape,
        &Tensor::from_host(g, &a, [M, K])?,
        &Tensor::from_host(g, &bt, [N, K])?,
        None,
        true,
    )?;
    Ok(compare("", &y.to_vec()?, &r::matmul(&a, &b, None, M, N, K)))
}

/// loss = Σ (A B) ⊙ R, so dA = R Bᵀ and dB = Aᵀ R.
pub fn matmul_backward(g: &Gpu) -> Outcome {
    let (a, b, rr) = (random(M * K, 6), random(K * N, 7), random(M * N, 8));
    let (ta, tb) = (Tensor::param(g, &a, [M, K])?, Tensor::param(g, &b, [K, N])?);
    let tape = Tape::new(g);
    let y = matmul_op(&tape, &ta, &tb, None, false)?;
    let loss = sum_all(&tape, &mul(&tape, &y, &Tensor::from_host(g, &rr, [M, N])?)?)?;
    tape.backward(&loss)?;
    let f = |x: &[f64]| x.iter().map(|&v| v as f32).collect::<Vec<f32>>();
    let tr = |x: &[f32], rows, cols| {
        f(&r::transpose(
            &x.iter().map(|&v| v as f64).collect::<Vec<_>>(),
            rows,
            cols,
        ))
    };
    let da = r::matmul(&rr, &tr(&b, K, N), None, M, K, N);
    let db = r::matmul(&tr(&a, M, K), &rr, None, K, N, M);
    let got_a = ta.grad_to_vec()?.unwrap_or_default();
    let got_b = tb.grad_to_vec()?.unwrap_or_default();
    Ok(both(
        compare("dA ", &got_a, &da),
        compare("dB ", &got_b, &db),
    ))
}

pub fn layer_norm(g: &Gpu) -> Outcome {
    let (rows, cols, eps) = (37, 70, 1e-5);
    let (x, w, b) = (random(rows * cols, 9), random(cols, 10), random(cols, 11));
    let tape = Tape::new(g);
    let y = layernorm::layer_norm(
        &tape,
        &Tensor::from_host(g, &x, [rows, cols])?,
        &Tensor::from_host(g, &w, [cols])?,
        &Tensor::from_host(g, &b, [cols])?,
        eps as f32,
    )?;
    Ok(compare(
        "",
        &y.to_vec()?,
        &r::layer_norm(&x, &w, &b, cols, eps),
    ))
}

pub fn softmax(g: &Gpu) -> Outcome {
    let (rows, cols) = (19, 77);
    let x: Vec<f32> = random(rows * cols, 12).iter().map(|v| 8.0 * v).collect();
    let tape = Tape::new(g);
    let y = sm::softmax(&tape, &Tensor::from_host(g, &x, [rows, cols])?)?;
    Ok(compare("", &y.to_vec()?, &r::softmax(&x, cols)))
}

pub fn attention(g: &Gpu) -> Outcome {
    let shape = AttentionShape::new(2, 3, 37, 29, 32);
    let (bh, tq, tk, d) = (6, 37, 29, 32);
    let (q, k, v) = (
        random(bh * tq * d, 13),
        random(bh * tk * d, 14),
        random(bh * tk * d, 15),
    );
    let o = g
        .pool
        .storage(4 * (bh * tq * d) as u64, "selftest attention o")?;
    let lse = g
        .pool
        .storage(4 * (bh * tq) as u64, "selftest attention lse")?;
    let (qb, kb, vb) = (g.upload(&q, "q")?, g.upload(&k, "k")?, g.upload(&v, "v")?);
    let mut batch = CommandBatch::new(g);
    attention_forward(&mut batch, shape, &qb, &kb, &vb, None, &o, &lse)?;
    batch.submit_and_wait()?;
    let want = r::attention(&q, &k, &v, &shape);
    Ok(compare("", &g.read::<f32>(&o)?, &want))
}

/// A one-layer encoder fits its fixed random target with AdamW: the loss must fall to under
/// 80 % of the first step's.
pub fn loss_falls(g: &Gpu) -> Outcome {
    let dims = EncoderDims {
        batch: 2,
        seq: 19,
        width: 32,
        heads: 2,
        mlp: 64,
        layers: 1,
    };
    let (model, mut optim) = TransformerEncoder::with_adam(g, dims, 3e-3)?;
    let mut losses = Vec::new();
    for _ in 0..30 {
        let tape = Tape::new(g);
        let loss = model.forward_loss(&tape)?;
        optim.zero_grad();
        tape.backward(&loss)?;
        optim.step(3e-3)?;
        losses.push(loss.to_vec()?[0]);
    }
    let (first, last) = (losses[0], losses[losses.len() - 1]);
    let ok = first.is_finite() && last.is_finite() && last < 0.8 * first;
    Ok((
        ok,
        format!("loss {first:.4} -> {last:.4} (must fall under 80 %)"),
    ))
}

/// Three steps of the recipe's objective on the tiny preset's online clips: every loss and
/// the gradient norm finite.
pub fn pretrain_steps(g: &Gpu) -> Outcome {
    let o = TrainBench {
        batch: 4,
        ..TrainBench::default()
    };
    let [vtc, vtm, mlm] = recipe::weights();
    let (_, model, mut optim, mut source) =
        pretrain_parts(g, &o, "tiny", LossWeights { vtc, vtm, mlm })?;
    let mut totals = Vec::new();
    for n in 0..3 {
        let out = train_step(g, &model, &mut optim, source.batch(n)?, (7, n), 1e-3, None)?;
        totals.push(out.losses.total.to_vec()?[0]);
    }
    let norm = optim.grad_norm()?;
    let ok = totals.iter().all(|l| l.is_finite()) && norm.is_finite();
    Ok((
        ok,
        format!("losses {totals:?}, gradient norm {norm:.3} (all finite)"),
    ))
}
