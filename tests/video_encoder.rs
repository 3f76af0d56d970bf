//! The video encoder and its two new kernels: tubelet flattening and [CLS] prepending against
//! CPU references (poisoned outputs, odd shapes) with finite-difference gradient checks, and
//! the whole encoder against an f64 CPU reference on a tiny config, with finite gradients.

mod common;

use common::{POISON, gpu, random, rel_err};
use locomotion::gpu::Batch;
use locomotion::model::bert_cpu::{attention, gelu, layer_norm, linear};
use locomotion::model::checkpoint::{HostTensor, TensorMap};
use locomotion::model::config::{ModelConfig, VideoEncoderConfig};
use locomotion::model::params::model_parameter_shapes;
use locomotion::model::video::VideoEncoder;
use locomotion::tensor::ops::prepend::{self, prepend};
use locomotion::tensor::ops::reduce::sum_all;
use locomotion::tensor::ops::tubelets::{self, tubelets};
use locomotion::tensor::ops::unary::mul;
use locomotion::tensor::{Tape, Tensor};

// ------------------------------------------------------------------------- CPU references

/// video [B, T, C, H, W] -> tubelets [B, N, D] (token (t, y, x), value (c, dt, dy, dx)).
fn cpu_tubelets(v: &[f64], [b, t, c, h, w]: [usize; 5], [tt, th, tw]: [usize; 3]) -> Vec<f64> {
    let (gt, gh, gw) = (t / tt, h / th, w / tw);
    let mut out = Vec::with_capacity(v.len());
    for bi in 0..b {
        for it in 0..gt {
            for iy in 0..gh {
                for ix in 0..gw {
                    for ci in 0..c {
                        for dt in 0..tt {
                            for dy in 0..th {
                                for dx in 0..tw {
                                    let (ti, yi, xi) = (it * tt + dt, iy * th + dy, ix * tw + dx);
                                    out.push(v[(((bi * t + ti) * c + ci) * h + yi) * w + xi]);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// [row; x[b]] for each b; x is (B, N, H).
fn cpu_prepend(row: &[f64], x: &[f64], b: usize, n: usize) -> Vec<f64> {
    let h = row.len();
    let mut out = Vec::new();
    for bi in 0..b {
        out.extend_from_slice(row);
        out.extend_from_slice(&x[bi * n * h..(bi + 1) * n * h]);
    }
    out
}

fn f64s(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

fn f32s(x: &[f64]) -> Vec<f32> {
    x.iter().map(|&v| v as f32).collect()
}

/// Central differences of `f` at `x` in f64.
fn finite_diff(x: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let mut x = x.to_vec();
    (0..x.len())
        .map(|i| {
            let x0 = x[i];
            x[i] = x0 + 1e-5;
            let up = f(&x);
            x[i] = x0 - 1e-5;
            let down = f(&x);
            x[i] = x0;
            (up - down) / 2e-5
        })
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

// ------------------------------------------------------------------------------- kernels

#[test]
fn tubelets_match_cpu_and_their_gradient_is_the_inverse() {
    let g = gpu();
    let (dims, tub) = ([2, 4, 3, 6, 9], [2, 3, 3]);
    let n: usize = dims.iter().product();
    let v0 = random(n, 1);
    // Raw launcher into a poisoned buffer: every patch value must be written.
    let src = g.upload(&v0, "video").unwrap();
    let dst = g.filled(4 * n as u64, POISON, "patches").unwrap();
    let mut batch = Batch::new(&g);
    tubelets::launch(&mut batch, &src, &dst, dims, tub, false).unwrap();
    batch.submit_and_wait().unwrap();
    let want = cpu_tubelets(&f64s(&v0), dims, tub);
    assert_eq!(g.read::<f32>(&dst).unwrap(), f32s(&want));

    let w = random(n, 2);
    let tape = Tape::new(&g);
    let v = Tensor::param(&g, &v0, dims).unwrap();
    let p = tubelets(&tape, &v, tub).unwrap();
    assert_eq!(p.shape().dims(), [2, 2 * 2 * 3, 54]);
    let wt = Tensor::from_host(&g, &w, p.shape().clone()).unwrap();
    tape.backward(&sum_all(&tape, &mul(&tape, &p, &wt).unwrap()).unwrap())
        .unwrap();
    let w64 = f64s(&w);
    let fd = finite_diff(&f64s(&v0), |x| dot(&cpu_tubelets(x, dims, tub), &w64));
    let e = rel_err(&v.grad_to_vec().unwrap().unwrap(), &f32s(&fd));
    assert!(e < 1e-6, "tubelet gradient rel err {e}");
}

#[test]
fn prepend_matches_cpu_and_its_gradient_splits() {
    let g = gpu();
    let (b, n, h) = (3, 5, 7);
    let (r0, x0) = (random(h, 3), random(b * n * h, 4));
    let (row, x) = (g.upload(&r0, "row").unwrap(), g.upload(&x0, "x").unwrap());
    let out = g
        .filled(4 * (b * (n + 1) * h) as u64, POISON, "out")
        .unwrap();
    let mut batch = Batch::new(&g);
    prepend::launch(&mut batch, &row, &x, &out, [b, n, h]).unwrap();
    batch.submit_and_wait().unwrap();
    let want = cpu_prepend(&f64s(&r0), &f64s(&x0), b, n);
    assert_eq!(g.read::<f32>(&out).unwrap(), f32s(&want));

    let w = f64s(&random(b * (n + 1) * h, 5));
    let tape = Tape::new(&g);
    let rt = Tensor::param(&g, &r0, [h]).unwrap();
    let xt = Tensor::param(&g, &x0, [b, n, h]).unwrap();
    let y = prepend(&tape, &rt, &xt).unwrap();
    let wt = Tensor::from_host(&g, &f32s(&w), [b, n + 1, h]).unwrap();
    tape.backward(&sum_all(&tape, &mul(&tape, &y, &wt).unwrap()).unwrap())
        .unwrap();
    let (r, xs) = (f64s(&r0), f64s(&x0));
    let fd_r = finite_diff(&r, |r| dot(&cpu_prepend(r, &xs, b, n), &w));
    let fd_x = finite_diff(&xs, |x| dot(&cpu_prepend(&r, x, b, n), &w));
    let er = rel_err(&rt.grad_to_vec().unwrap().unwrap(), &f32s(&fd_r));
    let ex = rel_err(&xt.grad_to_vec().unwrap().unwrap(), &f32s(&fd_x));
    assert!(
        er < 1e-6 && ex < 1e-6,
        "gradient rel errs: row {er}, x {ex}"
    );
}

// ------------------------------------------------------------------------------- encoder

fn tiny() -> ModelConfig {
    let mut cfg = ModelConfig::preset("tiny").unwrap();
    // 4 frames of 6 x 9 in tubelets 2 x 3 x 3: a 2 x 2 x 3 grid, 12 tokens + [CLS].
    cfg.video = VideoEncoderConfig {
        frames: 4,
        height: 6,
        width: 9,
        channels: 3,
        tubelet: [2, 3, 3],
        hidden_size: 12,
        num_layers: 2,
        num_heads: 3,
        mlp_ratio: 2,
        layer_norm_eps: 1e-6,
    };
    cfg
}

fn random_weights(cfg: &ModelConfig) -> TensorMap {
    let mut w = TensorMap::new();
    for (i, (name, shape)) in model_parameter_shapes(cfg).into_iter().enumerate() {
        if !name.starts_with("video.") {
            continue;
        }
        let r = random(shape.iter().product(), 200 + i as u64);
        let data = if name.ends_with(".gamma") {
            r.iter().map(|v| 1.0 + 0.2 * v).collect()
        } else {
            r.iter().map(|v| 0.4 * v).collect()
        };
        w.insert(name, HostTensor::new(shape, data));
    }
    w
}

/// The encoder in f64-accumulated loops: hidden states [B, 1 + N, Hv].
fn cpu_encoder(cfg: &VideoEncoderConfig, w: &TensorMap, video: &[f32], b: usize) -> Vec<f32> {
    let get = |n: &str| w[n].data.as_slice();
    let hv = cfg.hidden_size;
    let [gt, gh, gw] = cfg.grid();
    let (n, space, d) = (gt * gh * gw, gh * gw, cfg.tubelet_dim());
    let dims = [b, cfg.frames, cfg.channels, cfg.height, cfg.width];
    let patches = f32s(&cpu_tubelets(&f64s(video), dims, cfg.tubelet));
    let tokens = linear(
        &patches,
        d,
        hv,
        get("video.patch.weight"),
        get("video.patch.bias"),
    );
    let (ps, pt) = (get("video.pos.space"), get("video.pos.time"));
    let eps = cfg.layer_norm_eps;
    let mut out = Vec::new();
    for bi in 0..b {
        let mut x: Vec<f32> = get("video.cls").to_vec();
        for t in 0..n {
            for j in 0..hv {
                let (s, tm) = (t % space, t / space);
                x.push(tokens[(bi * n + t) * hv + j] + ps[s * hv + j] + pt[tm * hv + j]);
            }
        }
        for layer in 0..cfg.num_layers {
            let p = |s: &str| format!("video.layers.{layer}.{s}");
            let lin = |x: &[f32], name: &str, din, dout| {
                linear(
                    x,
                    din,
                    dout,
                    get(&p(&format!("{name}.weight"))),
                    get(&p(&format!("{name}.bias"))),
                )
            };
            let mut y = x.clone();
            layer_norm(&mut y, hv, get(&p("ln1.gamma")), get(&p("ln1.beta")), eps);
            let (q, k, v) = (
                lin(&y, "attn.q", hv, hv),
                lin(&y, "attn.k", hv, hv),
                lin(&y, "attn.v", hv, hv),
            );
            let ctx = attention(&q, &k, &v, &vec![1; n + 1], cfg.num_heads);
            let a = lin(&ctx, "attn.out", hv, hv);
            x.iter_mut().zip(&a).for_each(|(xi, ai)| *xi += ai);
            let mut y = x.clone();
            layer_norm(&mut y, hv, get(&p("ln2.gamma")), get(&p("ln2.beta")), eps);
            let inner = hv * cfg.mlp_ratio;
            let up: Vec<f32> = lin(&y, "mlp.up", hv, inner)
                .iter()
                .map(|&u| gelu(u as f64) as f32)
                .collect();
            let m = lin(&up, "mlp.down", inner, hv);
            x.iter_mut().zip(&m).for_each(|(xi, mi)| *xi += mi);
        }
        layer_norm(
            &mut x,
            hv,
            get("video.ln_final.gamma"),
            get("video.ln_final.beta"),
            eps,
        );
        out.extend(x);
    }
    out
}

#[test]
fn tiny_video_encoder_matches_the_cpu_reference() {
    let g = gpu();
    let cfg = tiny();
    let weights = random_weights(&cfg);
    let enc = VideoEncoder::from_weights(&g, &cfg, &weights).unwrap();
    let b = 2;
    let video = random(b * 4 * 3 * 6 * 9, 7);
    let tape = Tape::new(&g);
    let _ng = tape.no_grad();
    let vt = Tensor::from_host(&g, &video, [b, 4, 3, 6, 9]).unwrap();
    let out = enc.forward(&tape, &vt).unwrap();
    assert_eq!(out.hidden.shape().dims(), [b, 13, 12]);
    assert_eq!(out.cls.shape().dims(), [b, 12]);
    let want = cpu_encoder(&cfg.video, &weights, &video, b);
    let e = rel_err(&out.hidden.to_vec().unwrap(), &want);
    assert!(e < 1e-4, "hidden rel err {e}");
    let cls_want: Vec<f32> = (0..b)
        .flat_map(|i| want[i * 13 * 12..i * 13 * 12 + 12].to_vec())
        .collect();
    let e = rel_err(&out.cls.to_vec().unwrap(), &cls_want);
    assert!(e < 1e-4, "cls rel err {e}");
}

#[test]
fn video_gradients_reach_every_parameter_and_the_input() {
    let g = gpu();
    let cfg = tiny();
    let enc = VideoEncoder::random(&g, &cfg, 3).unwrap();
    let b = 2;
    let tape = Tape::new(&g);
    let video = Tensor::param(&g, &random(b * 4 * 3 * 6 * 9, 8), [b, 4, 3, 6, 9]).unwrap();
    let out = enc.forward(&tape, &video).unwrap();
    let w = Tensor::from_host(&g, &random(b * 12, 9), [b, 12]).unwrap();
    tape.backward(&sum_all(&tape, &mul(&tape, &out.cls, &w).unwrap()).unwrap())
        .unwrap();
    for (name, p) in enc
        .parameters()
        .into_iter()
        .chain([("video input".to_string(), video)])
    {
        let grad = p
            .grad_to_vec()
            .unwrap()
            .unwrap_or_else(|| panic!("{name}: no gradient"));
        assert!(
            grad.iter().all(|v| v.is_finite()),
            "{name}: non-finite gradient"
        );
        assert!(
            grad.iter().any(|&v| v != 0.0),
            "{name}: gradient is all zero"
        );
    }
}

#[test]
fn a_video_of_the_wrong_shape_is_a_one_line_error() {
    let g = gpu();
    let cfg = tiny();
    let enc = VideoEncoder::random(&g, &cfg, 3).unwrap();
    let tape = Tape::new(&g);
    let v = Tensor::from_host(&g, &random(4 * 3 * 6 * 8, 1), [1, 4, 3, 6, 8]).unwrap();
    let e = enc.forward(&tape, &v).err().unwrap().to_string();
    assert!(e.contains("does not match") && !e.contains('\n'), "{e}");
    let e = tubelets(&tape, &v, [2, 4, 4]).err().unwrap().to_string();
    assert!(e.contains("divide"), "{e}");
}
