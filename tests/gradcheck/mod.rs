//! Gradient checks: an op's GPU forward against its CPU reference, and its GPU backward
//! against central finite differences (f64) of that reference.

#![allow(dead_code)]

use locomotion::gpu::Gpu;
use locomotion::tensor::ops::{reduce, unary};
use locomotion::tensor::{Tape, Tensor};

use crate::common::{random, rel_err};

/// One input: values and shape.
pub struct Input {
    pub data: Vec<f32>,
    pub shape: Vec<usize>,
}

/// Random input of `shape` from `seed` (uniform in [-1, 1)).
pub fn input(shape: &[usize], seed: u64) -> Input {
    Input {
        data: random(shape.iter().product(), seed),
        shape: shape.to_vec(),
    }
}

/// Check forward (rel err < 1e-4) and every input's gradient (rel err < `tol` against central
/// differences of `cpu` in f64) of the loss sum(op(inputs) * r) for random weights r.
pub fn check(
    g: &Gpu,
    inputs: &[Input],
    gpu_op: impl Fn(&Tape, &[Tensor]) -> Tensor,
    cpu_op: impl Fn(&[Vec<f64>]) -> Vec<f64>,
    tol: f64,
) {
    let tape = Tape::new(g);
    let params: Vec<Tensor> = inputs
        .iter()
        .map(|i| Tensor::param(g, &i.data, i.shape.as_slice()).unwrap())
        .collect();
    let out = gpu_op(&tape, &params);
    let host: Vec<Vec<f64>> = inputs
        .iter()
        .map(|i| i.data.iter().map(|&v| v as f64).collect())
        .collect();
    let want = cpu_op(&host);
    let got = out.to_vec().unwrap();
    let want32: Vec<f32> = want.iter().map(|&v| v as f32).collect();
    let e = rel_err(&got, &want32);
    assert!(e < 1e-4, "forward rel err {e}");
    let r = random(want.len(), 4242);
    let rt = Tensor::from_host(g, &r, out.shape().clone()).unwrap();
    let weighted = unary::mul(&tape, &out, &rt).unwrap();
    let loss = reduce::sum_all(&tape, &weighted).unwrap();
    tape.backward(&loss).unwrap();
    assert!(tape.is_empty(), "backward consumes the tape");
    let loss_of =
        |xs: &[Vec<f64>]| -> f64 { cpu_op(xs).iter().zip(&r).map(|(a, &b)| a * b as f64).sum() };
    for (which, p) in params.iter().enumerate() {
        let got = p
            .grad_to_vec()
            .unwrap()
            .expect("a gradient for every input");
        let mut fd = Vec::with_capacity(got.len());
        let mut xs = host.clone();
        for j in 0..xs[which].len() {
            let h = 1e-5;
            let keep = xs[which][j];
            xs[which][j] = keep + h;
            let up = loss_of(&xs);
            xs[which][j] = keep - h;
            let down = loss_of(&xs);
            xs[which][j] = keep;
            fd.push(((up - down) / (2.0 * h)) as f32);
        }
        let e = rel_err(&got, &fd);
        assert!(
            e < tol,
            "input {which}: gradient rel err {e} against finite differences"
        );
    }
}
