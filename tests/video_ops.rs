//! Tubelet embedding (im2col / col2im), [CLS] prepending and L2 normalisation: the raw kernels
//! against CPU references on poisoned outputs, and the tape ops' gradients against central
//! finite differences in f64, on odd sizes.

mod common;

use common::{POISON, gpu, random, rel_err};
use locomotion::gpu::Batch;
use locomotion::tensor::ops::normalize::l2_normalize;
use locomotion::tensor::ops::prepend_cls::prepend_cls;
use locomotion::tensor::ops::reduce::sum_all;
use locomotion::tensor::ops::tubelet::{self, TubeletGrid, tubelet_embedding};
use locomotion::tensor::ops::unary::mul;
use locomotion::tensor::{Shape, Tape, Tensor};

fn f64s(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

/// Central differences of `f` at `x` in f64 with step 1e-5.
fn finite_diff(x: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let h = 1e-5;
    let mut x = x.to_vec();
    (0..x.len())
        .map(|i| {
            let x0 = x[i];
            x[i] = x0 + h;
            let up = f(&x);
            x[i] = x0 - h;
            let down = f(&x);
            x[i] = x0;
            (up - down) / (2.0 * h)
        })
        .collect()
}

fn grad(t: &Tensor) -> Vec<f32> {
    t.grad_to_vec().unwrap().expect("a gradient reached it")
}

fn check_grad(name: &str, gpu: &[f32], fd: &[f64]) {
    let fd: Vec<f32> = fd.iter().map(|&v| v as f32).collect();
    let e = rel_err(gpu, &fd);
    assert!(
        e < 1e-4,
        "{name}: GPU gradient vs finite differences rel err {e}"
    );
}

/// CPU im2col: video [B, T, C, H, W] → [B, N, C·t·h·w], tokens (time, row, col), values
/// (channel, frame, row, col).
fn cpu_tubelets<T: Copy>(v: &[T], g: &TubeletGrid) -> Vec<T> {
    let [tt, ph, pw] = g.tubelet;
    let [gt, gh, gw] = g.grid();
    let (c, h, w, t) = (g.channels, g.height, g.width, g.frames);
    let mut out = Vec::with_capacity(v.len());
    for b in 0..g.batch {
        for it in 0..gt {
            for iy in 0..gh {
                for ix in 0..gw {
                    for ci in 0..c {
                        for dt in 0..tt {
                            for dy in 0..ph {
                                for dx in 0..pw {
                                    let (ti, y, x) = (it * tt + dt, iy * ph + dy, ix * pw + dx);
                                    out.push(v[(((b * t + ti) * c + ci) * h + y) * w + x]);
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

// 2 clips of 6 frames, 3 channels, 10 × 15 pixels, tubelets 3 × 5 × 5: N = 2·2·3 = 12,
// D = 225; no size is a multiple of the 64-thread workgroup.
const VIDEO: [usize; 5] = [2, 6, 3, 10, 15];
const TUBELET: [usize; 3] = [3, 5, 5];

#[test]
fn im2col_and_col2im_match_the_cpu_rearrangement() {
    let g = gpu();
    let grid = TubeletGrid::new(&Shape(VIDEO.to_vec()), TUBELET).unwrap();
    assert_eq!((grid.tokens(), grid.dim()), (12, 225));
    let n = grid.numel();
    let video = random(n, 1);
    let src = g.upload(&video, "video").unwrap();
    let patches = g.filled(4 * n as u64, POISON, "patches").unwrap();
    let back = g.filled(4 * n as u64, POISON, "video again").unwrap();
    let mut batch = Batch::new(&g);
    tubelet::launch(&mut batch, "im2col", &grid, &src, &patches).unwrap();
    tubelet::launch(&mut batch, "col2im", &grid, &patches, &back).unwrap();
    batch.submit_and_wait().unwrap();
    let got = g.read::<f32>(&patches).unwrap()[..n].to_vec();
    let want = cpu_tubelets(&video, &grid);
    assert!(rel_err(&got, &want) < 1e-6, "im2col differs from the CPU");
    // col2im inverts im2col exactly: every element written once, none left poisoned.
    assert_eq!(g.read::<f32>(&back).unwrap()[..n], video[..]);
}

#[test]
fn tubelet_rejects_a_tubelet_that_does_not_divide_the_video() {
    let err = TubeletGrid::new(&Shape(VIDEO.to_vec()), [4, 5, 5]).unwrap_err();
    assert!(err.to_string().contains("must divide"), "{err}");
}

#[test]
fn tubelet_embedding_gradients_match_finite_differences() {
    let g = gpu();
    let grid = TubeletGrid::new(&Shape(VIDEO.to_vec()), TUBELET).unwrap();
    let (n, nt, d, hid) = (grid.numel(), grid.tokens(), grid.dim(), 7);
    let (v0, w0, b0) = (random(n, 2), random(d * hid, 3), random(hid, 4));
    let r = random(grid.batch * nt * hid, 5);
    let tape = Tape::new(&g);
    let video = Tensor::param(&g, &v0, VIDEO).unwrap();
    let w = Tensor::param(&g, &w0, [d, hid]).unwrap();
    let b = Tensor::param(&g, &b0, [hid]).unwrap();
    let rt = Tensor::from_host(&g, &r, [grid.batch, nt, hid]).unwrap();
    let y = tubelet_embedding(&tape, &video, TUBELET, &w, &b).unwrap();
    assert_eq!(y.shape().dims(), [grid.batch, nt, hid]);
    let loss = sum_all(&tape, &mul(&tape, &y, &rt).unwrap()).unwrap();
    let got = loss.to_vec().unwrap()[0] as f64;
    tape.backward(&loss).unwrap();

    let rr = f64s(&r);
    let l = |v: &[f64], w: &[f64], b: &[f64]| -> f64 {
        let p = cpu_tubelets(v, &grid);
        let mut s = 0.0;
        for row in 0..grid.batch * nt {
            for o in 0..hid {
                let mut acc = b[o];
                for k in 0..d {
                    acc += p[row * d + k] * w[k * hid + o];
                }
                s += acc * rr[row * hid + o];
            }
        }
        s
    };
    let (v, wf, bf) = (f64s(&v0), f64s(&w0), f64s(&b0));
    let want = l(&v, &wf, &bf);
    assert!(
        (got - want).abs() < 1e-4 * want.abs(),
        "loss {got} vs {want}"
    );
    check_grad(
        "dvideo",
        &grad(&video),
        &finite_diff(&v, |x| l(x, &wf, &bf)),
    );
    check_grad("dweight", &grad(&w), &finite_diff(&wf, |x| l(&v, x, &bf)));
    check_grad("dbias", &grad(&b), &finite_diff(&bf, |x| l(&v, &wf, x)));
}

#[test]
fn prepend_cls_puts_the_token_first_and_sums_its_gradient_over_the_batch() {
    let g = gpu();
    let (b, n, d) = (3, 5, 13);
    let (x0, c0, r) = (
        random(b * n * d, 6),
        random(d, 7),
        random(b * (n + 1) * d, 8),
    );
    let tape = Tape::new(&g);
    let x = Tensor::param(&g, &x0, [b, n, d]).unwrap();
    let cls = Tensor::param(&g, &c0, [d]).unwrap();
    let rt = Tensor::from_host(&g, &r, [b, n + 1, d]).unwrap();
    let y = prepend_cls(&tape, &x, &cls).unwrap();
    assert_eq!(y.shape().dims(), [b, n + 1, d]);
    let cpu = |x: &[f64], c: &[f64]| -> Vec<f64> {
        let mut out = Vec::new();
        for bi in 0..b {
            out.extend_from_slice(c);
            out.extend_from_slice(&x[bi * n * d..(bi + 1) * n * d]);
        }
        out
    };
    let (xf, cf) = (f64s(&x0), f64s(&c0));
    let want: Vec<f32> = cpu(&xf, &cf).iter().map(|&v| v as f32).collect();
    assert_eq!(y.to_vec().unwrap(), want);
    let loss = sum_all(&tape, &mul(&tape, &y, &rt).unwrap()).unwrap();
    tape.backward(&loss).unwrap();
    let rr = f64s(&r);
    let l = |x: &[f64], c: &[f64]| -> f64 { cpu(x, c).iter().zip(&rr).map(|(a, b)| a * b).sum() };
    check_grad("dx", &grad(&x), &finite_diff(&xf, |v| l(v, &cf)));
    check_grad("dcls", &grad(&cls), &finite_diff(&cf, |v| l(&xf, v)));
}

#[test]
fn l2_normalize_gives_unit_rows_and_its_gradient_matches_finite_differences() {
    let g = gpu();
    let (rows, dim) = (5, 11);
    let (x0, r) = (random(rows * dim, 9), random(rows * dim, 10));
    let tape = Tape::new(&g);
    let x = Tensor::param(&g, &x0, [rows, dim]).unwrap();
    let rt = Tensor::from_host(&g, &r, [rows, dim]).unwrap();
    let y = l2_normalize(&tape, &x).unwrap();
    let cpu = |x: &[f64]| -> Vec<f64> {
        let mut out = Vec::new();
        for row in x.chunks(dim) {
            let n = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            out.extend(row.iter().map(|v| v / n));
        }
        out
    };
    let xf = f64s(&x0);
    let want: Vec<f32> = cpu(&xf).iter().map(|&v| v as f32).collect();
    let got = y.to_vec().unwrap();
    assert!(rel_err(&got, &want) < 1e-6);
    for row in got.chunks(dim) {
        let n: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((n - 1.0).abs() < 1e-5, "row norm {n}");
    }
    let loss = sum_all(&tape, &mul(&tape, &y, &rt).unwrap()).unwrap();
    tape.backward(&loss).unwrap();
    let rr = f64s(&r);
    let fd = finite_diff(&xf, |v| cpu(v).iter().zip(&rr).map(|(a, b)| a * b).sum());
    check_grad("dx", &grad(&x), &fd);
}
