//! Matmul (SGEMM, tiled, naive and, where the adapter has subgroups, the subgroup kernel)
//! against a CPU reference on shapes that are not multiples of the 128x64, 64x64 (or 32x32)
//! tile, with batches, transposed operands, bias and accumulation; its gradient check. The
//! SGEMM kernel's split-K and GPU-path tests are in ops_matmul_sgemm.rs.

mod common;
mod gradcheck;

use common::matmul::{cpu_linear, cpu_matmul, run_case};
use common::{gpu, random, rel_err};
use gradcheck::{check, input};
use locomotion::gpu::CommandBatch;
use locomotion::tensor::ops::matmul::{MatmulDims, MatmulKernel, matmul, matmul_op};

#[test]
fn matmul_matches_reference_on_odd_shapes() {
    let g = gpu();
    let mut seed = 10;
    // The subgroup kernel runs wherever the adapter allows it (lavapipe does), and a CPU
    // adapter that allows it must pick it.
    let mut kernels = vec![
        MatmulKernel::Sgemm,
        MatmulKernel::Tiled,
        MatmulKernel::Naive,
    ];
    if MatmulKernel::subgroup_fits(&g, &MatmulDims::new(1, 1, 1)) {
        kernels.push(MatmulKernel::Subgroup);
        kernels.push(MatmulKernel::SubgroupBuffers);
        // Empty operands would need empty textures: the other kernels take those.
        assert!(!MatmulKernel::subgroup_fits(&g, &MatmulDims::new(4, 4, 0)));
        assert!(!MatmulKernel::subgroup_fits(&g, &MatmulDims::new(4, 0, 4)));
        if g.is_cpu() {
            assert_eq!(
                MatmulKernel::pick(&g, &MatmulDims::new(67, 45, 33)),
                MatmulKernel::Subgroup
            );
            // Small or transposed products skip the packing; large aligned ones keep it.
            let big = MatmulDims::new(1024, 1024, 1024);
            let mut big_t = big;
            big_t.trans_a = true;
            for (d, want) in [
                (MatmulDims::new(68, 44, 36), MatmulKernel::SubgroupBuffers),
                (big, MatmulKernel::Subgroup),
                (big_t, MatmulKernel::SubgroupBuffers),
            ] {
                assert_eq!(MatmulKernel::pick(&g, &d), want, "{d:?}");
            }
        }
    }
    for (m, n, k, batch) in [
        (1, 1, 1, 1),
        (67, 45, 33, 1),
        (130, 70, 17, 2),
        (5, 129, 100, 3),
        // N (and K) multiples of 64: the subgroup kernel copies untransposed operands as they
        // are, except a B whose K rows need padding.
        (45, 128, 64, 2),
        (20, 64, 40, 1),
        // Multiples of 4 but not of the 32 x 32 block: the buffer-reading subgroup kernel
        // takes these (K any when only A is transposed: 130 and 33 tails read zeros).
        (68, 44, 36, 2),
        (36, 100, 32, 3),
        (64, 36, 130, 1),
        (4, 4, 4, 1),
        (100, 20, 33, 2),
    ] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            for &kernel in &kernels {
                seed += 1;
                let mut d = MatmulDims::new(m, n, k);
                d.batch = batch;
                d.trans_a = ta;
                d.trans_b = tb;
                if kernel == MatmulKernel::SubgroupBuffers && !MatmulKernel::buffers_fit(&g, &d) {
                    continue;
                }
                d.shared_b = seed % 3 == 0;
                let (use_bias, accumulate) = (seed % 2 == 0, seed % 5 == 0);
                let (got, want) =
                    run_case(&g, d, seed, use_bias, accumulate, |bt, a, b, bias, c| {
                        matmul(bt, kernel, d, a, b, bias, c, accumulate)
                    });
                let e = rel_err(&got, &want);
                assert!(
                    e < 1e-5,
                    "{kernel:?} m{m} n{n} k{k} b{batch} ta{ta} tb{tb}: rel err {e}"
                );
            }
        }
    }
}

#[test]
fn cpu_driver_matmul_matches_reference_on_edge_tiles() {
    let g = gpu();
    // K a multiple of 16 and N of 4 (what the kernel needs), M and N not multiples of its
    // 16 x 32 block, batched, shared weights, bias and accumulation.
    let cases = [
        (1, 4, 16, 1, false),
        (67, 44, 48, 2, false),
        (5, 132, 16, 3, true),
        (33, 36, 160, 1, true),
    ];
    for (i, (m, n, k, batch, shared)) in cases.into_iter().enumerate() {
        let seed = 500 + i as u64;
        let mut d = MatmulDims::new(m, n, k);
        d.batch = batch;
        d.shared_b = shared;
        assert!(MatmulKernel::cpu_fits(&d));
        let accumulate = i % 2 == 1;
        let (got, want) = run_case(&g, d, seed, true, accumulate, |bt, a, b, bias, c| {
            matmul(bt, MatmulKernel::Cpu, d, a, b, bias, c, accumulate)
        });
        let e = rel_err(&got, &want);
        assert!(e < 1e-5, "m{m} n{n} k{k} b{batch}: rel err {e}");
    }
    let mut d = MatmulDims::new(4, 4, 15);
    d.trans_b = true;
    assert!(!MatmulKernel::cpu_fits(&d));
    let buf = g.upload(&random(64, 1), "x").unwrap();
    let mut bt = CommandBatch::new(&g);
    let e = matmul(&mut bt, MatmulKernel::Cpu, d, &buf, &buf, None, &buf, false).unwrap_err();
    assert!(e.to_string().contains("K % 16"), "{e}");
    // Buffers smaller than the dimensions say are refused (the kernels skip bounds checks).
    let d = MatmulDims::new(8, 9, 8);
    let e = matmul(
        &mut bt,
        MatmulKernel::Tiled,
        d,
        &buf,
        &buf,
        None,
        &buf,
        false,
    )
    .unwrap_err();
    assert!(e.to_string().contains("B holds 256 bytes but"), "{e}");
}

#[test]
fn matmul_gradients_match_finite_differences() {
    let g = gpu();
    // A weight shared by every row, with bias: (2, 5, 7) @ (7, 3) + (3,)
    check(
        &g,
        &[input(&[2, 5, 7], 1), input(&[7, 3], 2), input(&[3], 3)],
        |t, x| matmul_op(t, &x[0], &x[1], Some(&x[2]), false).unwrap(),
        |x| cpu_linear(x, 10, 7, 3),
        1e-3,
    );
    // K and N multiples of 64: on a CPU adapter the tape picks the buffer-reading subgroup
    // kernel for so small a product (the texture one without subgroups) forward and backward.
    let d = MatmulDims::new(3, 64, 64);
    if g.is_cpu() {
        let want = if MatmulKernel::buffers_fit(&g, &d) {
            MatmulKernel::SubgroupBuffers
        } else {
            MatmulKernel::Texture
        };
        assert_eq!(MatmulKernel::pick(&g, &d), want);
    }
    check(
        &g,
        &[input(&[3, 64], 11), input(&[64, 64], 12), input(&[64], 13)],
        |t, x| matmul_op(t, &x[0], &x[1], Some(&x[2]), false).unwrap(),
        |x| cpu_linear(x, 3, 64, 64),
        1e-3,
    );
    // Multiples of 4 off the 32 x 32 block: (2, 5, 12) @ (12, 8) + bias forward, and both
    // backward products (dA = dC Bᵀ, dB = Aᵀ dC with K = 10 rows) on the buffer-reading
    // subgroup kernel where the adapter has it.
    if g.is_cpu() && MatmulKernel::buffers_fit(&g, &MatmulDims::new(10, 8, 12)) {
        let mut da = MatmulDims::new(10, 12, 8);
        da.trans_b = true;
        let mut db = MatmulDims::new(12, 8, 10);
        db.trans_a = true;
        for d in [MatmulDims::new(10, 8, 12), da, db] {
            assert_eq!(MatmulKernel::pick(&g, &d), MatmulKernel::SubgroupBuffers);
        }
    }
    // dX = dY Wᵀ of 2048 rows packs its small B for the texture kernel; the weight gradient
    // (A transposed) and a batch of them keep reading buffers.
    if g.is_cpu() && MatmulKernel::subgroup_fits(&g, &MatmulDims::new(2048, 512, 128)) {
        let mut dx = MatmulDims::new(2048, 512, 128);
        dx.trans_b = true;
        assert_eq!(MatmulKernel::pick(&g, &dx), MatmulKernel::Subgroup);
        let mut fewer = dx;
        fewer.m = 1040;
        let mut dw = MatmulDims::new(128, 512, 2048);
        dw.trans_a = true;
        let mut batched = dx;
        batched.batch = 2;
        let mut small_b = dx;
        small_b.n = 128;
        for d in [fewer, dw, batched, small_b] {
            assert_eq!(
                MatmulKernel::pick(&g, &d),
                MatmulKernel::SubgroupBuffers,
                "{d:?}"
            );
        }
    }
    check(
        &g,
        &[input(&[2, 5, 12], 21), input(&[12, 8], 22), input(&[8], 23)],
        |t, x| matmul_op(t, &x[0], &x[1], Some(&x[2]), false).unwrap(),
        |x| cpu_linear(x, 10, 12, 8),
        1e-3,
    );
    // Batched with B transposed in multiples of 4 (the buffer kernel on a CPU adapter):
    // (3, 8, 12) @ (3, 4, 12)^T
    check(
        &g,
        &[input(&[3, 8, 12], 24), input(&[3, 4, 12], 25)],
        |t, x| matmul_op(t, &x[0], &x[1], None, true).unwrap(),
        |x| cpu_matmul(&x[0], &x[1], 3, 8, 12, 4, false, true),
        1e-3,
    );
    // Batched with B transposed, as attention scores are: (3, 4, 6) @ (3, 5, 6)^T
    check(
        &g,
        &[input(&[3, 4, 6], 4), input(&[3, 5, 6], 5)],
        |t, x| matmul_op(t, &x[0], &x[1], None, true).unwrap(),
        |x| cpu_matmul(&x[0], &x[1], 3, 4, 6, 5, false, true),
        1e-3,
    );
    // Shared and transposed (a Linear layer with PyTorch's (out, in) weight layout).
    check(
        &g,
        &[input(&[9, 4], 6), input(&[5, 4], 7)],
        |t, x| matmul_op(t, &x[0], &x[1], None, true).unwrap(),
        |x| cpu_matmul(&x[0], &x[1], 1, 9, 4, 5, true, true),
        1e-3,
    );
}

#[test]
fn matmul_rejects_mismatched_shapes_with_one_line() {
    let g = gpu();
    let tape = locomotion::tensor::Tape::new(&g);
    let a = locomotion::tensor::Tensor::from_host(&g, &random(6, 1), [2, 3]).unwrap();
    let b = locomotion::tensor::Tensor::from_host(&g, &random(8, 2), [4, 2]).unwrap();
    let e = matmul_op(&tape, &a, &b, None, false)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("matmul") && e.contains("[2, 3]") && !e.contains('\n'),
        "{e}"
    );
}

#[test]
fn texture_matmul_matches_reference_on_edge_tiles() {
    let g = gpu();
    // K and N multiples of 64 (texture rows are copied 256-byte aligned); M and N not
    // multiples of the 8 x 256 workgroup block.
    let cases = [(1, 64, 64), (67, 128, 64), (13, 320, 192)];
    for (i, (m, n, k)) in cases.into_iter().enumerate() {
        let seed = 700 + i as u64;
        let d = MatmulDims::new(m, n, k);
        assert!(MatmulKernel::texture_fits(&g, &d));
        let (accumulate, use_bias) = (i == 1, i != 0);
        let (got, want) = run_case(&g, d, seed, use_bias, accumulate, |bt, a, b, bias, c| {
            matmul(bt, MatmulKernel::Texture, d, a, b, bias, c, accumulate)
        });
        let e = rel_err(&got, &want);
        assert!(e < 1e-5, "m{m} n{n} k{k}: rel err {e}");
    }
    let mut d = MatmulDims::new(8, 64, 64);
    d.batch = 2;
    assert!(!MatmulKernel::texture_fits(&g, &d));
    assert!(!MatmulKernel::texture_fits(&g, &MatmulDims::new(8, 64, 48)));
    let buf = g.upload(&random(8192, 1), "x").unwrap();
    let mut bt = CommandBatch::new(&g);
    let e = matmul(
        &mut bt,
        MatmulKernel::Texture,
        d,
        &buf,
        &buf,
        None,
        &buf,
        false,
    )
    .unwrap_err();
    assert!(e.to_string().contains("K % 64"), "{e}");
}
