//! Matmul (tiled, naive and, where the adapter has subgroups, the subgroup kernel) against a
//! CPU reference on shapes that are not multiples of the 64x64 (or 32x32) tile, with batches,
//! transposed operands, bias and accumulation; its gradient check.

mod common;
mod gradcheck;

use common::{POISON, gpu, random, rel_err};
use gradcheck::{check, input};
use locomotion::gpu::Batch;
use locomotion::tensor::ops::matmul::{MatmulDims, MatmulKernel, matmul, matmul_op};

/// C = op(A) @ op(B) (+ bias) (+ C0) in f64, per batch element.
fn reference(
    d: &MatmulDims,
    a: &[f32],
    b: &[f32],
    bias: Option<&[f32]>,
    c0: Option<&[f32]>,
) -> Vec<f32> {
    let (m, n, k) = (d.m as usize, d.n as usize, d.k as usize);
    let mut out = vec![0f32; d.batch as usize * m * n];
    for z in 0..d.batch as usize {
        let ab = if d.shared_a { 0 } else { z * m * k };
        let bb = if d.shared_b { 0 } else { z * k * n };
        for i in 0..m {
            for j in 0..n {
                let mut s = 0f64;
                for l in 0..k {
                    let av = if d.trans_a {
                        a[ab + l * m + i]
                    } else {
                        a[ab + i * k + l]
                    };
                    let bv = if d.trans_b {
                        b[bb + j * k + l]
                    } else {
                        b[bb + l * n + j]
                    };
                    s += av as f64 * bv as f64;
                }
                let o = z * m * n + i * n + j;
                s += bias.map_or(0.0, |bs| bs[j] as f64) + c0.map_or(0.0, |c| c[o] as f64);
                out[o] = s as f32;
            }
        }
    }
    out
}

#[test]
fn matmul_matches_reference_on_odd_shapes() {
    let g = gpu();
    let mut seed = 10;
    // The subgroup kernel runs wherever the adapter allows it (lavapipe does), and a CPU
    // adapter that allows it must pick it.
    let mut kernels = vec![MatmulKernel::Tiled, MatmulKernel::Naive];
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
                let bsize = if d.shared_b {
                    k * n
                } else {
                    batch as usize * k * n
                };
                let a = random(batch as usize * m * k, seed);
                let b = random(bsize, seed + 1000);
                let bias = random(n, seed + 2000);
                let c0 = random(batch as usize * m * n, seed + 3000);
                let use_bias = seed % 2 == 0;
                let accumulate = seed % 5 == 0;
                let ba = g.upload(&a, "a").unwrap();
                let bb = g.upload(&b, "b").unwrap();
                let bbias = g.upload(&bias, "bias").unwrap();
                let c = if accumulate {
                    g.upload(&c0, "c").unwrap()
                } else {
                    g.filled(4 * c0.len() as u64, POISON, "c").unwrap()
                };
                let mut bt = Batch::new(&g);
                matmul(
                    &mut bt,
                    kernel,
                    d,
                    &ba,
                    &bb,
                    use_bias.then_some(&bbias),
                    &c,
                    accumulate,
                )
                .unwrap();
                bt.submit_and_wait().unwrap();
                let got: Vec<f32> = g.read(&c).unwrap();
                let want = reference(
                    &d,
                    &a,
                    &b,
                    use_bias.then_some(bias.as_slice()),
                    accumulate.then_some(c0.as_slice()),
                );
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
        let bsize = if shared {
            k * n
        } else {
            batch as usize * k * n
        };
        let a = random(batch as usize * m * k, seed);
        let b = random(bsize, seed + 1);
        let bias = random(n, seed + 2);
        let c0 = random(batch as usize * m * n, seed + 3);
        let accumulate = i % 2 == 1;
        let ba = g.upload(&a, "a").unwrap();
        let bb = g.upload(&b, "b").unwrap();
        let bbias = g.upload(&bias, "bias").unwrap();
        let c = if accumulate {
            g.upload(&c0, "c").unwrap()
        } else {
            g.filled(4 * c0.len() as u64, POISON, "c").unwrap()
        };
        let mut bt = Batch::new(&g);
        matmul(
            &mut bt,
            MatmulKernel::Cpu,
            d,
            &ba,
            &bb,
            Some(&bbias),
            &c,
            accumulate,
        )
        .unwrap();
        bt.submit_and_wait().unwrap();
        let want = reference(&d, &a, &b, Some(&bias), accumulate.then_some(c0.as_slice()));
        let e = rel_err(&g.read::<f32>(&c).unwrap(), &want);
        assert!(e < 1e-5, "m{m} n{n} k{k} b{batch}: rel err {e}");
    }
    let mut d = MatmulDims::new(4, 4, 15);
    d.trans_b = true;
    assert!(!MatmulKernel::cpu_fits(&d));
    let buf = g.upload(&random(64, 1), "x").unwrap();
    let mut bt = Batch::new(&g);
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

#[allow(clippy::too_many_arguments)]
fn cpu_matmul(
    a: &[f64],
    b: &[f64],
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
    shared: bool,
    tb: bool,
) -> Vec<f64> {
    let mut out = vec![0.0; batch * m * n];
    for z in 0..batch {
        let bb = if shared { 0 } else { z * k * n };
        for i in 0..m {
            for j in 0..n {
                out[z * m * n + i * n + j] = (0..k)
                    .map(|l| {
                        let bv = if tb {
                            b[bb + j * k + l]
                        } else {
                            b[bb + l * n + j]
                        };
                        a[z * m * k + i * k + l] * bv
                    })
                    .sum();
            }
        }
    }
    out
}

#[test]
fn matmul_gradients_match_finite_differences() {
    let g = gpu();
    // A weight shared by every row, with bias: (2, 5, 7) @ (7, 3) + (3,)
    check(
        &g,
        &[input(&[2, 5, 7], 1), input(&[7, 3], 2), input(&[3], 3)],
        |t, x| matmul_op(t, &x[0], &x[1], Some(&x[2]), false).unwrap(),
        |x| {
            let mut o = cpu_matmul(&x[0], &x[1], 1, 10, 7, 3, true, false);
            for (i, v) in o.iter_mut().enumerate() {
                *v += x[2][i % 3];
            }
            o
        },
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
        |x| {
            let mut o = cpu_matmul(&x[0], &x[1], 1, 3, 64, 64, true, false);
            for (i, v) in o.iter_mut().enumerate() {
                *v += x[2][i % 64];
            }
            o
        },
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
    check(
        &g,
        &[input(&[2, 5, 12], 21), input(&[12, 8], 22), input(&[8], 23)],
        |t, x| matmul_op(t, &x[0], &x[1], Some(&x[2]), false).unwrap(),
        |x| {
            let mut o = cpu_matmul(&x[0], &x[1], 1, 10, 12, 8, true, false);
            for (i, v) in o.iter_mut().enumerate() {
                *v += x[2][i % 8];
            }
            o
        },
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
        let a = random(m * k, seed);
        let b = random(k * n, seed + 1);
        let bias = random(n, seed + 2);
        let c0 = random(m * n, seed + 3);
        let accumulate = i == 1;
        let use_bias = i != 0;
        let ba = g.upload(&a, "a").unwrap();
        let bb = g.upload(&b, "b").unwrap();
        let bbias = g.upload(&bias, "bias").unwrap();
        let c = if accumulate {
            g.upload(&c0, "c").unwrap()
        } else {
            g.filled(4 * c0.len() as u64, POISON, "c").unwrap()
        };
        let mut bt = Batch::new(&g);
        let bias_arg = use_bias.then_some(&bbias);
        matmul(
            &mut bt,
            MatmulKernel::Texture,
            d,
            &ba,
            &bb,
            bias_arg,
            &c,
            accumulate,
        )
        .unwrap();
        bt.submit_and_wait().unwrap();
        let want = reference(
            &d,
            &a,
            &b,
            use_bias.then_some(bias.as_slice()),
            accumulate.then_some(c0.as_slice()),
        );
        let e = rel_err(&g.read::<f32>(&c).unwrap(), &want);
        assert!(e < 1e-5, "m{m} n{n} k{k}: rel err {e}");
    }
    let mut d = MatmulDims::new(8, 64, 64);
    d.batch = 2;
    assert!(!MatmulKernel::texture_fits(&g, &d));
    assert!(!MatmulKernel::texture_fits(&g, &MatmulDims::new(8, 64, 48)));
    let buf = g.upload(&random(8192, 1), "x").unwrap();
    let mut bt = Batch::new(&g);
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
