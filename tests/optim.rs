//! The AdamW optimizer over tape parameters: several clipped steps against an f64 CPU AdamW
//! (decay only on matrices, scheduled learning rates), and a 2-layer MLP that it trains.

mod common;

use common::mlp::Mlp;
use common::{gpu, random, rel_err};
use locomotion::tensor::ops::adamw::AdamWHyper as Hyper;
use locomotion::tensor::ops::elementwise::add;
use locomotion::tensor::ops::reduce::sum_all;
use locomotion::tensor::ops::unary::mul;
use locomotion::tensor::{Shape, Tape, Tensor};
use locomotion::train::optim::{AdamW, decays};
use locomotion::train::schedule::LrSchedule;

/// CPU AdamW in f64 with global-norm clipping; returns the norm before clipping.
#[allow(clippy::too_many_arguments)]
fn cpu_step(
    h: &Hyper,
    lr: f64,
    t: i32,
    max_norm: f64,
    p: &mut [Vec<f64>],
    g: &[Vec<f64>],
    m: &mut [Vec<f64>],
    v: &mut [Vec<f64>],
    decay: &[bool],
) -> f64 {
    let norm = g.iter().flatten().map(|x| x * x).sum::<f64>().sqrt();
    let scale = if max_norm > 0.0 {
        (max_norm / (norm + 1e-6)).min(1.0)
    } else {
        1.0
    };
    let (b1, b2) = (h.beta1 as f64, h.beta2 as f64);
    for i in 0..p.len() {
        let wd = if decay[i] { h.weight_decay as f64 } else { 0.0 };
        for j in 0..p[i].len() {
            let gj = g[i][j] * scale;
            m[i][j] = b1 * m[i][j] + (1.0 - b1) * gj;
            v[i][j] = b2 * v[i][j] + (1.0 - b2) * gj * gj;
            let mh = m[i][j] / (1.0 - b1.powi(t));
            let vh = v[i][j] / (1.0 - b2.powi(t));
            p[i][j] -= lr * (wd * p[i][j] + mh / (vh.sqrt() + h.eps as f64));
        }
    }
    norm
}

#[test]
fn decay_rule_spares_biases_norms_and_tables() {
    assert!(decays("text.layers.0.attn.q.weight", &[8, 8]));
    assert!(decays("heads.vtm", &[8, 2]));
    assert!(!decays("text.layers.0.attn.q.bias", &[8]));
    assert!(!decays("text.embeddings.ln.gamma", &[8]));
    assert!(!decays("text.embeddings.word", &[30, 8]));
    assert!(!decays("video.pos.space", &[4, 8]));
    assert!(!decays("heads.vtc.temperature", &[1]));
}

#[test]
fn clipped_steps_match_cpu_adamw_with_scheduled_lr() {
    let g = gpu();
    let shapes = [("mlp.weight", vec![3, 5]), ("mlp.bias", vec![5])];
    let init: Vec<Vec<f32>> = shapes
        .iter()
        .enumerate()
        .map(|(i, (_, s))| random(s.iter().product(), 10 + i as u64))
        .collect();
    let tensors: Vec<Tensor> = shapes
        .iter()
        .zip(&init)
        .map(|((_, s), d)| Tensor::param(&g, d, Shape(s.clone())).unwrap())
        .collect();
    let hyper = Hyper {
        weight_decay: 0.1,
        ..Hyper::default()
    };
    let max_norm = 0.5;
    let named = shapes
        .iter()
        .zip(&tensors)
        .map(|((n, _), t)| (n.to_string(), t.clone()));
    let mut opt = AdamW::new(&g, named, hyper, max_norm).unwrap();
    assert_eq!(opt.decay_of("mlp.weight"), Some(true));
    assert_eq!(opt.decay_of("mlp.bias"), Some(false));
    let sched = LrSchedule {
        base_lr: 0.05,
        final_lr: 0.005,
        warmup_steps: 1,
        total_steps: 4,
    };

    let mut p: Vec<Vec<f64>> = init
        .iter()
        .map(|x| x.iter().map(|&v| v as f64).collect())
        .collect();
    let mut m: Vec<Vec<f64>> = p.iter().map(|x| vec![0.0; x.len()]).collect();
    let mut v = m.clone();
    for step in 0..4u64 {
        // loss = sum(w * c_w) + sum(b * c_b): the gradients are the fresh constants.
        let cs: Vec<Vec<f32>> = init
            .iter()
            .enumerate()
            .map(|(i, x)| random(x.len(), 100 * step + i as u64))
            .collect();
        let tape = Tape::new(&g);
        let mut terms = Vec::new();
        for (t, c) in tensors.iter().zip(&cs) {
            let ct = Tensor::from_host(&g, c, t.shape().clone()).unwrap();
            terms.push(sum_all(&tape, &mul(&tape, t, &ct).unwrap()).unwrap());
        }
        let loss = add(&tape, &terms[0], &terms[1]).unwrap();
        opt.zero_grad();
        tape.backward(&loss).unwrap();
        // Step 0 has lr 0 under warmup; the schedule's lr(step + 1) keeps every step moving.
        let lr = sched.lr(step + 1);
        opt.step(lr as f32).unwrap();
        let gs: Vec<Vec<f64>> = cs
            .iter()
            .map(|c| c.iter().map(|&x| x as f64).collect())
            .collect();
        let norm = cpu_step(
            &hyper,
            lr as f32 as f64,
            step as i32 + 1,
            max_norm as f64,
            &mut p,
            &gs,
            &mut m,
            &mut v,
            &[true, false],
        );
        assert!(norm > max_norm as f64, "the test must exercise clipping");
        let gpu_norm = opt.grad_norm().unwrap() as f64;
        assert!(
            (gpu_norm - norm).abs() < 1e-5 * norm,
            "norm {gpu_norm} vs {norm}"
        );
    }
    assert_eq!(opt.steps(), 4);
    for (i, t) in tensors.iter().enumerate() {
        let got: Vec<f32> = t
            .to_vec()
            .unwrap()
            .iter()
            .zip(&init[i])
            .map(|(a, b)| a - b)
            .collect();
        let want: Vec<f32> = p[i]
            .iter()
            .zip(&init[i])
            .map(|(a, &b)| (a - b as f64) as f32)
            .collect();
        let e = rel_err(&got, &want);
        assert!(e < 1e-4, "{}: parameter change rel err {e}", shapes[i].0);
    }
}

#[test]
fn user_errors_are_one_line() {
    let g = gpu();
    let w = Tensor::param(&g, &random(4, 1), [2, 2]).unwrap();
    let c = Tensor::from_host(&g, &random(4, 2), [2, 2]).unwrap();
    let e = AdamW::new(&g, [("c".to_string(), c)], Hyper::default(), 1.0)
        .err()
        .unwrap();
    assert!(e.to_string().contains("'c' is not a trainable"), "{e}");
    let twice = [("w".to_string(), w.clone()), ("w2".to_string(), w.clone())];
    let e = AdamW::new(&g, twice, Hyper::default(), 1.0).err().unwrap();
    assert!(e.to_string().contains("listed twice"), "{e}");
    let mut opt = AdamW::new(&g, [("w".to_string(), w)], Hyper::default(), 1.0).unwrap();
    let e = opt.step(1e-3).err().unwrap();
    assert!(e.to_string().contains("run backward"), "{e}");
    assert!(opt.set_decay("nope", true).is_err());
}

#[test]
fn adamw_trains_the_two_layer_mlp() {
    let g = gpu();
    let mlp = Mlp::new(&g);
    let names = ["l1.weight", "l1.bias", "l2.weight", "l2.bias"];
    let named = names.map(String::from).into_iter().zip(mlp.params());
    let named: Vec<(String, Tensor)> = named.map(|(s, t)| (s, t.clone())).collect();
    let hyper = Hyper {
        weight_decay: 0.01,
        ..Hyper::default()
    };
    let mut opt = AdamW::new(&g, named, hyper, 1.0).unwrap();
    let mut losses = Vec::new();
    for _ in 0..150 {
        let tape = Tape::new(&g);
        let loss = mlp.loss(&tape);
        losses.push(loss.to_vec().unwrap()[0]);
        opt.zero_grad();
        tape.backward(&loss).unwrap();
        opt.step(0.02).unwrap();
    }
    let (first, last) = (losses[0], *losses.last().unwrap());
    eprintln!("AdamW MLP loss {first:.4} -> {last:.4} in 150 steps");
    assert!(
        last.is_finite() && last < first / 20.0,
        "loss {first} -> {last}: must fall 20x"
    );
}
