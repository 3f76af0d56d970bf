//! End-to-end learning with the tape and the kernels: a 2-layer MLP fits a nonlinear
//! regression with the GPU SGD step, and a 1-layer transformer (embedding, layer norm,
//! single-head attention built from matmul + softmax, GELU MLP, residuals) learns to output
//! the previous token, which needs attention. Each test states the factor the loss must fall by.

mod common;

use common::mlp::Mlp;

use locomotion::gpu::Gpu;
use locomotion::tensor::ops::elementwise::add;
use locomotion::tensor::ops::embedding::embedding;
use locomotion::tensor::ops::layernorm::layer_norm;
use locomotion::tensor::ops::matmul::matmul_op;
use locomotion::tensor::ops::reduce::sum_all;
use locomotion::tensor::ops::softmax::{log_softmax, softmax};
use locomotion::tensor::ops::unary::{gelu, mul, scale};
use locomotion::tensor::{Tape, Tensor, sgd_step};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn two_layer_mlp_fits_a_nonlinear_function() {
    let g = common::gpu();
    let mlp = Mlp::new(&g);
    let params = mlp.params();
    let mut losses = Vec::new();
    for _ in 0..300 {
        let tape = Tape::new(&g);
        let loss = mlp.loss(&tape);
        losses.push(loss.to_vec().unwrap()[0]);
        params.iter().for_each(|p| p.zero_grad());
        tape.backward(&loss).unwrap();
        sgd_step(&g, &params, 0.2).unwrap();
    }
    let (first, last) = (losses[0], *losses.last().unwrap());
    eprintln!("MLP loss {first:.4} -> {last:.4}");
    assert!(
        last.is_finite() && last < first / 10.0,
        "loss {first} -> {last}: must fall 10x"
    );
}

/// Host-side Adam over the parameters' gradients (tiny models; AdamW proper is a GPU kernel).
struct Adam {
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    step: i32,
}

impl Adam {
    fn update(&mut self, g: &Gpu, params: &[&Tensor], lr: f32) {
        self.step += 1;
        let (b1, b2) = (0.9f32, 0.999f32);
        for (i, p) in params.iter().enumerate() {
            let grad = p.grad_to_vec().unwrap().unwrap();
            let mut w = p.to_vec().unwrap();
            if self.m.len() <= i {
                self.m.push(vec![0.0; w.len()]);
                self.v.push(vec![0.0; w.len()]);
            }
            for j in 0..w.len() {
                self.m[i][j] = b1 * self.m[i][j] + (1.0 - b1) * grad[j];
                self.v[i][j] = b2 * self.v[i][j] + (1.0 - b2) * grad[j] * grad[j];
                let mh = self.m[i][j] / (1.0 - b1.powi(self.step));
                let vh = self.v[i][j] / (1.0 - b2.powi(self.step));
                w[j] -= lr * mh / (vh.sqrt() + 1e-8);
            }
            g.write(p.buffer(), &w);
        }
    }
}

struct Transformer {
    tok: Tensor,
    pos: Tensor,
    ln: [(Tensor, Tensor); 3],
    wq: Tensor,
    wk: Tensor,
    wv: Tensor,
    wo: Tensor,
    w1: Tensor,
    b1: Tensor,
    w2: Tensor,
    b2: Tensor,
    head: Tensor,
}

impl Transformer {
    fn new(g: &Gpu, vocab: usize, seq: usize, c: usize) -> Self {
        let mut seed = 100;
        let mut p = |shape: &[usize], s: f32| {
            seed += 1;
            Tensor::param_random(g, shape, s, seed).unwrap()
        };
        let ln = || {
            (
                Tensor::param(g, &vec![1.0; c], [c]).unwrap(),
                Tensor::param(g, &vec![0.0; c], [c]).unwrap(),
            )
        };
        let w = 1.0 / (c as f32).sqrt();
        Self {
            tok: p(&[vocab, c], 1.0),
            pos: p(&[seq, c], 1.0),
            wq: p(&[c, c], w),
            wk: p(&[c, c], w),
            wv: p(&[c, c], w),
            wo: p(&[c, c], w),
            w1: p(&[c, 2 * c], w),
            b1: p(&[2 * c], 0.0001),
            w2: p(&[2 * c, c], w / 1.4),
            b2: p(&[c], 0.0001),
            head: p(&[c, vocab], w),
            ln: [ln(), ln(), ln()],
        }
    }

    fn params(&self) -> Vec<&Tensor> {
        let mut v = vec![&self.tok, &self.pos, &self.wq, &self.wk, &self.wv, &self.wo];
        v.extend([&self.w1, &self.b1, &self.w2, &self.b2, &self.head]);
        for (a, b) in &self.ln {
            v.extend([a, b]);
        }
        v
    }

    /// Log-probabilities (B*T, V) for token ids (B, T).
    fn forward(&self, t: &Tape, ids: &[u32], batch: usize, seq: usize) -> Tensor {
        let c = self.tok.shape().dims()[1];
        let positions: Vec<u32> = (0..batch * seq).map(|i| (i % seq) as u32).collect();
        let x = add(
            t,
            &embedding(t, &self.tok, ids).unwrap(),
            &embedding(t, &self.pos, &positions).unwrap(),
        )
        .unwrap();
        let x = t.reshape(&x, [batch, seq, c]).unwrap();
        let h = layer_norm(t, &x, &self.ln[0].0, &self.ln[0].1, 1e-5).unwrap();
        let q = matmul_op(t, &h, &self.wq, None, false).unwrap();
        let k = matmul_op(t, &h, &self.wk, None, false).unwrap();
        let v = matmul_op(t, &h, &self.wv, None, false).unwrap();
        let scores = scale(
            t,
            &matmul_op(t, &q, &k, None, true).unwrap(),
            1.0 / (c as f32).sqrt(),
        )
        .unwrap();
        let ctx = matmul_op(t, &softmax(t, &scores).unwrap(), &v, None, false).unwrap();
        let x = add(t, &x, &matmul_op(t, &ctx, &self.wo, None, false).unwrap()).unwrap();
        let h = layer_norm(t, &x, &self.ln[1].0, &self.ln[1].1, 1e-5).unwrap();
        let h = gelu(
            t,
            &matmul_op(t, &h, &self.w1, Some(&self.b1), false).unwrap(),
        )
        .unwrap();
        let x = add(
            t,
            &x,
            &matmul_op(t, &h, &self.w2, Some(&self.b2), false).unwrap(),
        )
        .unwrap();
        let h = layer_norm(t, &x, &self.ln[2].0, &self.ln[2].1, 1e-5).unwrap();
        let logits = matmul_op(t, &h, &self.head, None, false).unwrap();
        let logits = t
            .reshape(&logits, [batch * seq, self.head.shape().dims()[1]])
            .unwrap();
        log_softmax(t, &logits).unwrap()
    }
}

#[test]
fn one_layer_transformer_learns_to_copy_the_previous_token() {
    let g = common::gpu();
    let (vocab, seq, batch, c) = (8, 8, 16, 32);
    let model = Transformer::new(&g, vocab, seq, c);
    let params = model.params();
    let mut adam = Adam {
        m: vec![],
        v: vec![],
        step: 0,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut losses = Vec::new();
    for _ in 0..150 {
        let ids: Vec<u32> = (0..batch * seq)
            .map(|_| rng.random_range(0..vocab as u32))
            .collect();
        // Target at position i: the token at i - 1 (position 0: itself).
        let mut onehot = vec![0f32; batch * seq * vocab];
        for (i, row) in onehot.chunks_mut(vocab).enumerate() {
            let src = if i % seq == 0 { i } else { i - 1 };
            row[ids[src] as usize] = -1.0 / (batch * seq) as f32;
        }
        let tape = Tape::new(&g);
        let logp = model.forward(&tape, &ids, batch, seq);
        let target = Tensor::from_host(&g, &onehot, logp.shape().clone()).unwrap();
        let loss = sum_all(&tape, &mul(&tape, &logp, &target).unwrap()).unwrap();
        losses.push(loss.to_vec().unwrap()[0]);
        params.iter().for_each(|p| p.zero_grad());
        tape.backward(&loss).unwrap();
        adam.update(&g, &params, 0.01);
    }
    let first = losses[0];
    let last = losses[losses.len() - 10..].iter().sum::<f32>() / 10.0;
    eprintln!("transformer loss {first:.4} -> {last:.4}");
    // Chance level is ln(8) = 2.08; falling 10x below the start needs attention to work.
    assert!(
        last.is_finite() && last < first / 10.0,
        "loss {first} -> {last}: must fall 10x"
    );
}
