//! The register-only FMA ceiling `bench kernels` prints beside the matmuls
//! (`shaders/dev/fma_peak.wgsl`) against its CPU reference, on an invocation count that is
//! not a multiple of the 64-wide workgroup, and its one-line refusal of short buffers.

mod common;

use common::{gpu, random, rel_err};
use locomotion::gpu::CommandBatch;
use locomotion::tensor::ops::dev::fma_peak::{fma_peak, fma_peak_flops, fma_peak_reference};

#[test]
fn fma_peak_matches_the_cpu_reference() {
    let g = gpu();
    for (n, iters, seed) in [(1, 0, 1), (67, 5, 2), (200, 33, 3)] {
        let x = random(4 * n, seed);
        let xb = g.upload(&x, "x").unwrap();
        let out = g.pool.storage(4 * n as u64, "out").unwrap();
        let mut bt = CommandBatch::new(&g);
        fma_peak(&mut bt, &xb, &out, n, iters, (0.999, 0.001)).unwrap();
        bt.submit_and_wait().unwrap();
        let got: Vec<f32> = g.read(&out).unwrap();
        let got = got[..n].to_vec();
        let want = fma_peak_reference(&x, iters, (0.999, 0.001));
        let e = rel_err(&got, &want);
        assert!(e < 1e-5, "n {n} iters {iters}: rel err {e}");
    }
    assert_eq!(fma_peak_flops(100, 10), 100.0 * 10.0 * 64.0);
}

#[test]
fn fma_peak_refuses_short_buffers_in_one_line() {
    let g = gpu();
    let x = g.upload(&[0.0f32; 8], "x").unwrap();
    let out = g.pool.storage(64, "out").unwrap();
    let mut bt = CommandBatch::new(&g);
    let e = fma_peak(&mut bt, &x, &out, 4, 1, (1.0, 0.0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("fma_peak") && !e.contains('\n'), "{e}");
}
