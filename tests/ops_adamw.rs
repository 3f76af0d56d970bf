//! AdamW against an f64 CPU AdamW over several steps, and global gradient-norm clipping
//! against a CPU norm, including the clip scale applied inside AdamW without a readback.

mod common;

use common::fd::f64s;
use common::{POISON, gpu, random, rel_err};
use locomotion::gpu::{CommandBatch, Gpu, GpuBuffer};
use locomotion::tensor::ops::adamw::{
    AdamWHyper, adamw_step, clip_grad_norm, partials_len, read_grad_norm, unclipped,
};

/// One CPU AdamW step in f64 (decoupled weight decay, bias correction), PyTorch's formula.
fn cpu_adamw(o: &AdamWHyper, t: u32, p: &mut [f64], g: &[f64], m: &mut [f64], v: &mut [f64]) {
    let (b1, b2) = (o.beta1 as f64, o.beta2 as f64);
    let (bc1, bc2) = (1.0 - b1.powi(t as i32), 1.0 - b2.powi(t as i32));
    for i in 0..p.len() {
        m[i] = b1 * m[i] + (1.0 - b1) * g[i];
        v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
        p[i] -= o.lr as f64
            * (o.weight_decay as f64 * p[i] + (m[i] / bc1) / ((v[i] / bc2).sqrt() + o.eps as f64));
    }
}

fn f32s(x: &[f64]) -> Vec<f32> {
    x.iter().map(|&v| v as f32).collect()
}

fn zeros(g: &Gpu, n: usize, what: &str) -> GpuBuffer {
    g.upload(&vec![0.0f32; n], what).unwrap()
}

/// Runs `steps` AdamW steps on GPU and CPU with fresh gradients each step and compares the
/// total parameter change and the moments. `max_norm` > 0 clips the gradient on the GPU.
fn compare_adamw(n: usize, steps: u32, opt: AdamWHyper, max_norm: f32, seed: u64) {
    let g = gpu();
    let p0 = random(n, seed);
    let param = g.upload(&p0, "param").unwrap();
    let (m, v) = (zeros(&g, n, "m"), zeros(&g, n, "v"));
    let partials = g
        .filled(4 * partials_len(&[n as u32]), POISON, "partials")
        .unwrap();
    let clip = if max_norm > 0.0 {
        g.filled(8, POISON, "clip").unwrap()
    } else {
        unclipped(&g).unwrap()
    };
    let (mut cp, mut cm, mut cv) = (f64s(&p0), vec![0.0; n], vec![0.0; n]);
    for t in 1..=steps {
        // Gradients of a few units, so a max_norm of 1 really clips.
        let grad: Vec<f32> = random(n, seed + 100 * t as u64)
            .iter()
            .map(|x| 3.0 * x)
            .collect();
        let gb = g.upload(&grad, "grad").unwrap();
        let mut batch = CommandBatch::new(&g);
        if max_norm > 0.0 {
            clip_grad_norm(&mut batch, &[(&gb, n as u32)], max_norm, &partials, &clip).unwrap();
        }
        adamw_step(&mut batch, &opt, t, &param, &gb, &m, &v, &clip, n as u32).unwrap();
        batch.submit_and_wait().unwrap();
        let mut cg = f64s(&grad);
        if max_norm > 0.0 {
            let norm = cg.iter().map(|x| x * x).sum::<f64>().sqrt();
            let scale = (max_norm as f64 / (norm + 1e-6)).min(1.0);
            assert!(scale < 1.0, "the test gradient should be clipped");
            cg.iter_mut().for_each(|x| *x *= scale);
        }
        cpu_adamw(&opt, t, &mut cp, &cg, &mut cm, &mut cv);
    }
    let got: Vec<f32> = g.read(&param).unwrap();
    // Compare the change, not the parameters: the update is small next to the weights.
    let dg: Vec<f32> = got.iter().zip(&p0).map(|(a, b)| a - b).collect();
    let dc: Vec<f32> = cp
        .iter()
        .zip(&p0)
        .map(|(a, &b)| (a - b as f64) as f32)
        .collect();
    let e = rel_err(&dg, &dc);
    assert!(
        e < 1e-4,
        "n={n} clip={max_norm}: parameter change rel err {e}"
    );
    let e = rel_err(&g.read::<f32>(&m).unwrap(), &f32s(&cm));
    assert!(e < 1e-4, "n={n}: first moment rel err {e}");
    let e = rel_err(&g.read::<f32>(&v).unwrap(), &f32s(&cv));
    assert!(e < 1e-4, "n={n}: second moment rel err {e}");
}

#[test]
fn adamw_matches_cpu_over_several_steps() {
    let opt = AdamWHyper {
        lr: 1e-2,
        weight_decay: 0.1,
        ..AdamWHyper::default()
    };
    compare_adamw(1037, 5, opt, 0.0, 1);
    compare_adamw(1, 3, AdamWHyper::default(), 0.0, 2);
}

#[test]
fn adamw_applies_the_clip_scale_from_the_gpu() {
    let opt = AdamWHyper {
        lr: 1e-2,
        ..AdamWHyper::default()
    };
    compare_adamw(3001, 4, opt, 1.0, 3);
}

#[test]
fn global_norm_over_many_buffers_matches_cpu() {
    let g = gpu();
    let lengths = [1u32, 1000, 1024, 2049, 70_001];
    let data: Vec<Vec<f32>> = lengths
        .iter()
        .enumerate()
        .map(|(i, &n)| random(n as usize, 10 + i as u64))
        .collect();
    let bufs: Vec<GpuBuffer> = data.iter().map(|d| g.upload(d, "grad").unwrap()).collect();
    let norm: f64 = data
        .iter()
        .flatten()
        .map(|&x| (x as f64).powi(2))
        .sum::<f64>()
        .sqrt();
    let partials = g
        .filled(4 * partials_len(&lengths), POISON, "partials")
        .unwrap();
    let grads: Vec<(&GpuBuffer, u32)> = bufs.iter().zip(lengths).collect();
    for (max_norm, want_scale) in [(10.0f32, 10.0 / (norm + 1e-6)), (1e6, 1.0), (0.0, 1.0)] {
        let clip = g.filled(8, POISON, "clip").unwrap();
        let mut batch = CommandBatch::new(&g);
        clip_grad_norm(&mut batch, &grads, max_norm, &partials, &clip).unwrap();
        batch.submit_and_wait().unwrap();
        let got = g.read::<f32>(&clip).unwrap();
        assert_eq!(read_grad_norm(&g, &clip).unwrap(), got[0]);
        // The reduction order is fixed: a second run gives the same bits.
        let mut batch = CommandBatch::new(&g);
        clip_grad_norm(&mut batch, &grads, max_norm, &partials, &clip).unwrap();
        batch.submit_and_wait().unwrap();
        assert_eq!(g.read::<f32>(&clip).unwrap(), got);
        let e = (got[0] as f64 - norm).abs() / norm;
        assert!(e < 1e-5, "norm {} vs {norm}", got[0]);
        let e = (got[1] as f64 - want_scale).abs() / want_scale;
        assert!(
            e < 1e-5,
            "max_norm {max_norm}: scale {} vs {want_scale}",
            got[1]
        );
    }
}

#[test]
fn bad_optimizer_input_is_an_error_not_a_panic() {
    let g = gpu();
    let b = g.upload(&[1.0f32; 4], "x").unwrap();
    let clip = unclipped(&g).unwrap();
    let mut batch = CommandBatch::new(&g);
    let e = adamw_step(
        &mut batch,
        &AdamWHyper::default(),
        0,
        &b,
        &b,
        &b,
        &b,
        &clip,
        4,
    )
    .unwrap_err();
    assert!(e.to_string().contains("counted from 1"), "{e}");
    let small = g.upload(&[0.0f32; 1], "partials").unwrap();
    let big = g.upload(&vec![1.0f32; 3000], "grad").unwrap();
    let e = clip_grad_norm(&mut batch, &[(&big, 3000)], 1.0, &small, &clip).unwrap_err();
    assert!(e.to_string().contains("partial sums"), "{e}");
}
