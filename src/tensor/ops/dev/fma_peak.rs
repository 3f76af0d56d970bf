//! `shaders/dev/fma_peak.wgsl`: fused multiply-adds on registers only, the arithmetic ceiling
//! `bench kernels` sets beside the matmuls (what the driver's ALUs give through WGSL), with
//! its CPU reference.

use crate::gpu::{CommandBatch, GpuBuffer, GpuError, Groups, Kernel, kernel_params};

kernel_params! {
    /// The uniform of `fma_peak`.
    pub(crate) struct Params for ["fma_peak"] {
        n: u32,
        iters: u32,
        a: f32,
        b: f32,
    }
}

/// Accumulators (vec4s) each invocation keeps, and the FMAs on each a round.
const ACCUMULATORS: usize = 4;
const PER_ROUND: usize = 2;

/// FLOPs of one [`fma_peak`] over `n` invocations and `iters` rounds.
pub fn fma_peak_flops(n: usize, iters: u32) -> f64 {
    n as f64 * iters as f64 * (ACCUMULATORS * PER_ROUND * 4 * 2) as f64
}

/// Record `out[i]` = the sum of 4 vec4 accumulators started at `x[i] + j` after `iters`
/// rounds of two `acc = fma(acc, a, b)` each, for i < n (`x` holds n vec4s, `out` n floats).
pub fn fma_peak(
    batch: &mut CommandBatch,
    x: &GpuBuffer,
    out: &GpuBuffer,
    n: usize,
    iters: u32,
    (a, b): (f32, f32),
) -> Result<(), GpuError> {
    if x.bytes() < 16 * n as u64 || out.bytes() < 4 * n as u64 {
        return Err(GpuError::Launch {
            kernel: "fma_peak".into(),
            reason: format!(
                "{n} invocations need {} input and {} output bytes, got {} and {}",
                16 * n,
                4 * n,
                x.bytes(),
                out.bytes()
            ),
        });
    }
    let params = Params {
        n: n as u32,
        iters,
        a,
        b,
    };
    batch.dispatch(
        Kernel::new("fma_peak", "fma_peak"),
        &params,
        &[x, out],
        Groups::Linear((n as u64).div_ceil(64)),
    )
}

/// The CPU reference of [`fma_peak`] (`x` holds 4 floats an invocation).
pub fn fma_peak_reference(x: &[f32], iters: u32, (a, b): (f32, f32)) -> Vec<f32> {
    x.chunks_exact(4)
        .map(|v| {
            let mut s = [0.0f32; 4];
            for j in 0..ACCUMULATORS {
                for (c, sc) in s.iter_mut().enumerate() {
                    let mut acc = v[c] + j as f32;
                    for _ in 0..iters as usize * PER_ROUND {
                        acc = acc.mul_add(a, b);
                    }
                    *sc += acc;
                }
            }
            s[0] + s[1] + s[2] + s[3]
        })
        .collect()
}
