//! The GPU matmul (`MatmulKernel::Sgemm`, shaders/matmul_sgemm.wgsl) on the path a GPU takes
//! (`LOCOMOTION_KERNELS=gpu`, forced on whatever adapter is here): against the f64 reference
//! on shapes that are not multiples of its 128x64 tile or 8-deep k-tile, every transpose, with
//! whole-vec4 and scalar loads, split-K on and off; the split policy; determinism of the
//! split-K sum; and gradient checks through the tape on odd shapes.

mod common;
mod gradcheck;

use common::matmul::{cpu_linear, cpu_matmul, run_case};
use common::{gpu_path, rel_err};
use gradcheck::{check, input};
use locomotion::tensor::ops::matmul::sgemm_splits;
use locomotion::tensor::ops::matmul::{MatmulDims, MatmulKernel, matmul_op, matmul_sgemm};

#[test]
fn sgemm_matches_reference_with_and_without_split_k() {
    let g = gpu_path();
    let mut seed = 100;
    for (m, n, k, batch) in [
        (1, 1, 1, 1),
        // Off the tile in every dimension, K off the k-tile: scalar loads.
        (130, 70, 17, 2),
        (67, 45, 33, 3),
        (5, 129, 300, 1),
        // Rows multiples of 4 (whole-vec4 loads), still off the tile; K over several splits.
        (132, 68, 260, 2),
        (36, 100, 44, 1),
        // One full tile and a row past it.
        (129, 64, 16, 1),
        // Empty K: bias (or zeros) only.
        (7, 9, 0, 1),
    ] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            for splits in [1, 3] {
                seed += 1;
                let mut d = MatmulDims::new(m, n, k);
                d.batch = batch;
                d.trans_a = ta;
                d.trans_b = tb;
                d.shared_b = seed % 3 == 0;
                let splits = if k == 0 { 1 } else { splits };
                let (use_bias, accumulate) = (seed % 2 == 0, seed % 5 == 0);
                let (got, want) =
                    run_case(&g, d, seed, use_bias, accumulate, |bt, a, b, bias, c| {
                        matmul_sgemm(bt, d, a, b, bias, c, accumulate, splits)
                    });
                let e = rel_err(&got, &want);
                assert!(
                    e < 1e-5,
                    "m{m} n{n} k{k} b{batch} ta{ta} tb{tb} splits {splits}: rel err {e}"
                );
            }
        }
    }
}

#[test]
fn the_gpu_path_picks_sgemm_and_splits_small_grids_along_k() {
    let g = gpu_path();
    // The model's shapes (`small`: 2048 rows of width 384, heads of 64) and 1024³.
    let fwd = MatmulDims::new(2048, 128, 384);
    let mut dw = MatmulDims::new(384, 128, 2048);
    dw.trans_a = true;
    let square = MatmulDims::new(1024, 1024, 1024);
    for d in [fwd, dw, square] {
        assert_eq!(MatmulKernel::pick(&g, &d), MatmulKernel::Sgemm, "{d:?}");
    }
    // 6 tiles for a weight gradient: split, each split at least 128 deep.
    let s = sgemm_splits(&g, &dw);
    assert!((2..=16).contains(&s), "{s} splits for {dw:?}");
    // 128 tiles fill a GPU: no split; nor for a K too short to split.
    assert_eq!(sgemm_splits(&g, &square), 1);
    assert_eq!(sgemm_splits(&g, &MatmulDims::new(100, 100, 200)), 1);
    // Zero splits are an error, not a hang.
    let buf = g.upload(&[1f32; 16], "x").unwrap();
    let mut bt = locomotion::gpu::CommandBatch::new(&g);
    let d = MatmulDims::new(4, 4, 4);
    let e = matmul_sgemm(&mut bt, d, &buf, &buf, None, &buf, false, 0).unwrap_err();
    assert!(e.to_string().contains("K-splits"), "{e}");
}

#[test]
fn split_k_sums_in_a_fixed_order() {
    // Two runs of a split product agree to the bit (no atomics; the partials are summed in
    // split order), and agree with the unsplit product to rounding.
    let g = gpu_path();
    let mut d = MatmulDims::new(37, 21, 1000);
    d.trans_a = true;
    let run = |splits| {
        run_case(&g, d, 7, true, false, |bt, a, b, bias, c| {
            matmul_sgemm(bt, d, a, b, bias, c, false, splits)
        })
    };
    let (first, want) = run(7);
    let (second, _) = run(7);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&first), bits(&second));
    let (whole, _) = run(1);
    assert!(rel_err(&first, &want) < 1e-5 && rel_err(&whole, &want) < 1e-5);
}

#[test]
fn sgemm_gradients_match_finite_differences() {
    let g = gpu_path();
    // A weight shared by 300 rows, with bias: its gradient (5 x 3, K = 300) runs split-K.
    let mut dw = MatmulDims::new(5, 3, 300);
    dw.trans_a = true;
    assert!(sgemm_splits(&g, &dw) > 1);
    check(
        &g,
        &[input(&[2, 150, 5], 1), input(&[5, 3], 2), input(&[3], 3)],
        |t, x| matmul_op(t, &x[0], &x[1], Some(&x[2]), false).unwrap(),
        |x| cpu_linear(x, 300, 5, 3),
        1e-3,
    );
    // Batched with B transposed, as attention scores are: (3, 7, 6) @ (3, 5, 6)^T
    check(
        &g,
        &[input(&[3, 7, 6], 4), input(&[3, 5, 6], 5)],
        |t, x| matmul_op(t, &x[0], &x[1], None, true).unwrap(),
        |x| cpu_matmul(&x[0], &x[1], 3, 7, 6, 5, false, true),
        1e-3,
    );
    // Shared and transposed (PyTorch's (out, in) weight layout), rows off the tile.
    check(
        &g,
        &[input(&[131, 4], 6), input(&[5, 4], 7)],
        |t, x| matmul_op(t, &x[0], &x[1], None, true).unwrap(),
        |x| cpu_matmul(&x[0], &x[1], 1, 131, 4, 5, true, true),
        1e-3,
    );
}
