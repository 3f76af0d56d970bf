//! Tubelet embedding (im2col / col2im), [CLS] prepending and L2 normalisation: the raw kernels
//! against CPU references on poisoned outputs, and the tape ops' gradients against central
//! finite differences in f64, on odd sizes.

mod common;

use common::fd::{f64s, finite_diff, grad};
use common::vlm::cpu_tubelets;
use common::{POISON, gpu, random, rel_err};
use locomotion::gpu::CommandBatch;
use locomotion::tensor::ops::normalize::{self, l2_normalize};
use locomotion::tensor::ops::prepend_cls::{self as prepend, prepend_cls};
use locomotion::tensor::ops::reduce::sum_all;
use locomotion::tensor::ops::tubelet::{self, TubeletGrid, tubelet_embedding};
use locomotion::tensor::ops::unary::mul;
use locomotion::tensor::{Shape, Tape, Tensor};

fn check_grad(name: &str, gpu: &[f32], fd: &[f64]) {
    let fd: Vec<f32> = fd.iter().map(|&v| v as f32).collect();
    let e = rel_err(gpu, &fd);
    assert!(
        e < 1e-4,
        "{name}: GPU gradient vs finite differences rel err {e}"
    );
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
    let mut batch = CommandBatch::new(&g);
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

#[test]
fn prepend_and_normalize_kernels_write_every_output_element() {
    let g = gpu();
    let (b, n, d) = (3, 22, 5);
    let (x0, c0, dy0) = (
        random(b * n * d, 11),
        random(d, 12),
        random(b * (n + 1) * d, 13),
    );
    let up = |v: &[f32]| g.upload(v, "input").unwrap();
    let poisoned = |len: usize| g.filled(4 * len as u64, POISON, "output").unwrap();
    let (x, cls, dy) = (up(&x0), up(&c0), up(&dy0));
    let (out, dx, dcls) = (poisoned(b * (n + 1) * d), poisoned(b * n * d), poisoned(d));
    let (rows, dim) = (b * n, d);
    let (y, dxn) = (poisoned(rows * dim), poisoned(rows * dim));
    let dyn_ = up(&dy0[..rows * dim]);
    let mut batch = CommandBatch::new(&g);
    prepend::launch(&mut batch, &x, &cls, &out, [b, n, d]).unwrap();
    prepend::launch_backward(&mut batch, &dy, &dx, &dcls, [b, n, d]).unwrap();
    normalize::launch(&mut batch, &x, &y, rows, dim).unwrap();
    normalize::launch_backward(&mut batch, &x, &dyn_, &dxn, rows, dim).unwrap();
    batch.submit_and_wait().unwrap();
    let read = |buf, len: usize| g.read::<f32>(buf).unwrap()[..len].to_vec();

    let mut want_out = Vec::new();
    let (mut want_dx, mut want_dcls) = (Vec::new(), vec![0.0f64; d]);
    for bi in 0..b {
        want_out.extend_from_slice(&c0);
        want_out.extend_from_slice(&x0[bi * n * d..(bi + 1) * n * d]);
        let row = &dy0[bi * (n + 1) * d..(bi + 1) * (n + 1) * d];
        want_dx.extend_from_slice(&row[d..]);
        for (acc, v) in want_dcls.iter_mut().zip(&row[..d]) {
            *acc += *v as f64;
        }
    }
    let want_dcls: Vec<f32> = want_dcls.iter().map(|&v| v as f32).collect();
    assert_eq!(read(&out, want_out.len()), want_out);
    assert_eq!(read(&dx, want_dx.len()), want_dx);
    assert!(rel_err(&read(&dcls, d), &want_dcls) < 1e-6);

    let (mut want_y, mut want_dxn) = (Vec::new(), Vec::new());
    for (xr, gr) in x0.chunks(dim).zip(dy0.chunks(dim)) {
        let nrm = xr.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
        let ydy: f64 = xr
            .iter()
            .zip(gr)
            .map(|(&a, &b)| a as f64 * b as f64)
            .sum::<f64>()
            / nrm;
        for (&xv, &gv) in xr.iter().zip(gr) {
            let yv = xv as f64 / nrm;
            want_y.push(yv as f32);
            want_dxn.push(((gv as f64 - yv * ydy) / nrm) as f32);
        }
    }
    assert!(rel_err(&read(&y, rows * dim), &want_y) < 1e-6);
    assert!(rel_err(&read(&dxn, rows * dim), &want_dxn) < 1e-5);
}

/// CPU reference of `model::video::frame_differences` over `[b, t, f]` (f = C·H·W).
fn cpu_frame_differences(x: &[f64], b: usize, t: usize, f: usize) -> Vec<f64> {
    let mut y = x.to_vec();
    for bi in 0..b {
        for s in 1..t {
            for k in 0..f {
                let at = |s: usize| (bi * t + s) * f + k;
                y[at(s)] = x[at(s)] - x[at(s - 1)];
            }
        }
    }
    y
}

#[test]
fn frame_differences_keep_frame_zero_and_difference_the_rest() {
    // Odd sizes: 2 clips of 5 frames of 3×3×7 (one element an invocation), then of 3×2×2
    // (12 features: one vec4 an invocation).
    for (b, t, c, h, w) in [(2, 5, 3, 3, 7), (2, 5, 3, 2, 2)] {
        frame_differences_case(b, t, c, h, w);
    }
}

fn frame_differences_case(b: usize, t: usize, c: usize, h: usize, w: usize) {
    use locomotion::model::video::frame_differences;
    let g = gpu();
    let f = c * h * w;
    let x0 = random(b * t * f, 31);
    let tape = Tape::new(&g);
    let x = Tensor::param(&g, &x0, [b, t, c, h, w]).unwrap();
    let y = frame_differences(&tape, &x).unwrap();
    assert_eq!(y.shape().dims(), [b, t, c, h, w]);
    let want: Vec<f32> = cpu_frame_differences(&f64s(&x0), b, t, f)
        .iter()
        .map(|&v| v as f32)
        .collect();
    assert!(rel_err(&y.to_vec().unwrap(), &want) < 1e-5);
    // Gradient of sum(y · r) against central differences of the reference.
    let r = random(b * t * f, 32);
    let rt = Tensor::from_host(&g, &r, [b, t, c, h, w]).unwrap();
    let loss = sum_all(&tape, &mul(&tape, &y, &rt).unwrap()).unwrap();
    tape.backward(&loss).unwrap();
    let fd = finite_diff(&f64s(&x0), |xs| {
        cpu_frame_differences(xs, b, t, f)
            .iter()
            .zip(&r)
            .map(|(a, b)| a * *b as f64)
            .sum()
    });
    check_grad("frame differences", &grad(&x), &fd);
    let e = frame_differences(&tape, &Tensor::from_host(&g, &x0, [b * t, f]).unwrap())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("[B, T, C, H, W]"), "{e}");
}

#[test]
fn the_frame_difference_kernel_matches_the_cpu_reference_both_ways_on_random_input() {
    use locomotion::tensor::ops::frame_diff;
    let g = gpu();
    // More than one 64-thread workgroup row in every direction, nothing a multiple of 64;
    // 1004 features run one vec4 an invocation (frame_diff4), 1001 one element.
    for f in [1001, 1004] {
        let (b, t) = (3, 7);
        let n = b * t * f;
        let (x0, dy0) = (random(n, 41), random(n, 42));
        let up = |v: &[f32]| g.upload(v, "input").unwrap();
        let (x, dy) = (up(&x0), up(&dy0));
        let (y, dx) = (
            g.filled(4 * n as u64, POISON, "y").unwrap(),
            g.filled(4 * n as u64, POISON, "dx").unwrap(),
        );
        let mut batch = CommandBatch::new(&g);
        frame_diff::launch(&mut batch, &x, &y, [b, t, f], false).unwrap();
        frame_diff::launch(&mut batch, &dy, &dx, [b, t, f], true).unwrap();
        batch.submit_and_wait().unwrap();
        let want: Vec<f32> = cpu_frame_differences(&f64s(&x0), b, t, f)
            .iter()
            .map(|&v| v as f32)
            .collect();
        assert!(rel_err(&g.read::<f32>(&y).unwrap()[..n], &want) < 1e-6);
        // The gradient is the transpose: dx[t] = dy[t] − dy[t + 1], the last frame as is.
        let mut want_dx = dy0.clone();
        for bi in 0..b {
            for s in 0..t - 1 {
                for k in 0..f {
                    want_dx[(bi * t + s) * f + k] -= dy0[(bi * t + s + 1) * f + k];
                }
            }
        }
        assert!(
            rel_err(&g.read::<f32>(&dx).unwrap()[..n], &want_dx) < 1e-6,
            "f = {f}"
        );
    }
}
