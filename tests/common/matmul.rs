//! Matmul helpers shared by the matmul tests: the f64 reference and one random case run
//! through any launcher.

use locomotion::gpu::{CommandBatch, Gpu, GpuBuffer, GpuError};
use locomotion::tensor::ops::matmul::MatmulDims;

use super::{POISON, random};

/// C = op(A) @ op(B) (+ bias) (+ C0) in f64, per batch element.
pub fn reference(
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

/// op(a) @ op(b) in f64 for a (batch, M, K) and b (K, N) shared or (batch, K, N), (N, K) when
/// `tb`: the gradient checks' reference.
#[allow(clippy::too_many_arguments)]
pub fn cpu_matmul(
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

/// x[0] (rows, k) @ x[1] (k, n) + x[2] (n,) in f64: a linear layer's gradient-check reference.
pub fn cpu_linear(x: &[Vec<f64>], rows: usize, k: usize, n: usize) -> Vec<f64> {
    let mut o = cpu_matmul(&x[0], &x[1], 1, rows, k, n, true, false);
    for (i, v) in o.iter_mut().enumerate() {
        *v += x[2][i % n];
    }
    o
}

/// Random operands for `d` from `seed` (B one shared matrix when `d.shared_b`), the product
/// recorded by `launch(batch, a, b, bias, c)` into a poisoned C (a random one when
/// `accumulate`), with a bias when `use_bias`: (what the kernel wrote, the f64 reference).
pub fn run_case(
    g: &Gpu,
    d: MatmulDims,
    seed: u64,
    use_bias: bool,
    accumulate: bool,
    launch: impl FnOnce(
        &mut CommandBatch,
        &GpuBuffer,
        &GpuBuffer,
        Option<&GpuBuffer>,
        &GpuBuffer,
    ) -> Result<(), GpuError>,
) -> (Vec<f32>, Vec<f32>) {
    let (m, n, k, nb) = (d.m as usize, d.n as usize, d.k as usize, d.batch as usize);
    let bsize = if d.shared_b { k * n } else { nb * k * n };
    let a = random(nb * m * k, seed);
    let b = random(bsize, seed + 1000);
    let bias = random(n, seed + 2000);
    let c0 = random(nb * m * n, seed + 3000);
    let ba = g.upload(&a, "a").unwrap();
    let bb = g.upload(&b, "b").unwrap();
    let bbias = g.upload(&bias, "bias").unwrap();
    let c = if accumulate {
        g.upload(&c0, "c").unwrap()
    } else {
        g.filled(4 * c0.len() as u64, POISON, "c").unwrap()
    };
    let mut bt = CommandBatch::new(g);
    launch(&mut bt, &ba, &bb, use_bias.then_some(&bbias), &c).unwrap();
    bt.submit_and_wait().unwrap();
    let want = reference(
        &d,
        &a,
        &b,
        use_bias.then_some(bias.as_slice()),
        accumulate.then_some(c0.as_slice()),
    );
    (g.read(&c).unwrap(), want)
}
