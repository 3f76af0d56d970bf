//! The matmul rows of `bench kernels`: the kernel the launchers pick on this adapter as the
//! figure (on the GPU path the SGEMM kernel, with split-K where its grid is small), beside
//! the earlier 64x64 tiled kernel and the naive baseline; the CPU-driver kernels only with the
//! CPU variants (a CPU adapter, or `LOCOMOTION_KERNELS=cpu`). Square sizes, the model's
//! shapes (a `small` layer over 2048 token rows and its weight gradient) and 4096³ on GPUs.

use super::kernels::{out, random};
use super::{Size, Suite};
use crate::gpu::Gpu;
use crate::tensor::ops::matmul::{MatmulDims, MatmulKernel, matmul, matmul_sgemm, sgemm_splits};

/// FLOPs one timed batch should hold (so every size gets enough iterations to time): about
/// 50 ms of an H100's fp32 peak on a GPU, a second or so on lavapipe.
fn flop_budget(gpu: &Gpu) -> f64 {
    if gpu.is_cpu() { 2e9 } else { 1e12 }
}

/// Iterations of a product of `flops` in one timed batch: the budget's worth, 3 to 200.
pub fn iterations(gpu: &Gpu, flops: f64) -> u32 {
    (flop_budget(gpu) / flops.max(1.0)).clamp(3.0, 200.0) as u32
}

/// The products timed at `size` on `gpu`: (label, dims).
pub fn shapes(gpu: &Gpu, size: Size) -> Vec<(String, MatmulDims)> {
    let square = |n: usize| (format!("M=N=K={n}"), MatmulDims::new(n, n, n));
    // The weight gradient of a layer: dW (K_in, N) = Aᵀ dC over every token row.
    let grad = |rows: usize, k_in: usize, n: usize| {
        let mut d = MatmulDims::new(k_in, n, rows);
        d.trans_a = true;
        (format!("dW {k_in}x{n}, K={rows} (Aᵀ)"), d)
    };
    let model = |m: usize, n: usize, k: usize| (format!("{m}x{n}x{k}"), MatmulDims::new(m, n, k));
    let mut v = match size {
        // Multiples of 64: every matmul variant can run.
        Size::Quick => vec![
            square(64),
            square(128),
            model(128, 64, 96),
            grad(512, 40, 24),
        ],
        Size::Full => vec![
            square(256),
            square(512),
            square(1024),
            model(2048, 128, 384),
            model(2048, 384, 384),
            model(2048, 1536, 384),
            grad(2048, 384, 384),
        ],
    };
    if size == Size::Full && !gpu.is_cpu() {
        v.push(square(4096));
    }
    v
}

/// Time every matmul variant that runs here at each of [`shapes`], and the speedups.
pub fn matmuls(suite: &mut Suite, size: Size) -> anyhow::Result<()> {
    let gpu = suite.gpu().clone();
    let cpu_variants = gpu.cpu_kernels();
    fma_ceiling(suite, size)?;
    for (shape, d) in shapes(&gpu, size) {
        let (m, n, k) = (d.m as usize, d.n as usize, d.k as usize);
        let (a, b, c) = (
            random(&gpu, m * k, 1)?,
            random(&gpu, k * n, 2)?,
            out(&gpu, m * n)?,
        );
        let iters = iterations(&gpu, d.flops());
        let flops = Some(d.flops());
        let run = |suite: &mut Suite, name: &str, kernel| {
            suite.time(name, &shape, flops, None, iters, |bt| {
                matmul(bt, kernel, d, &a, &b, None, &c, false)
            })
        };
        let picked = MatmulKernel::pick(&gpu, &d);
        let splits = sgemm_splits(&gpu, &d);
        let sgemm_name = if splits > 1 {
            format!("matmul SGEMM (128x64, 8x4/thread), split-K {splits}")
        } else {
            "matmul SGEMM (128x64, 8x4/thread)".to_string()
        };
        let sgemm = run(suite, &sgemm_name, MatmulKernel::Sgemm)?;
        if splits > 1 {
            let whole = suite.time(
                "matmul SGEMM (128x64, 8x4/thread), no split",
                &shape,
                flops,
                None,
                iters,
                |bt| matmul_sgemm(bt, d, &a, &b, None, &c, false, 1),
            )?;
            suite.speedup(
                &format!("matmul SGEMM split-K vs none, {shape}"),
                whole,
                sgemm,
            );
        }
        let tiled = run(
            suite,
            "matmul tiled (64x64, 8x8/thread)",
            MatmulKernel::Tiled,
        )?;
        suite.speedup(&format!("matmul SGEMM vs tiled, {shape}"), tiled, sgemm);
        let mut best = sgemm;
        if cpu_variants {
            let fits = [
                (
                    MatmulKernel::SubgroupBuffers,
                    "matmul subgroup buffers for CPU drivers (32x32/group)",
                ),
                (
                    MatmulKernel::Subgroup,
                    "matmul subgroup textures for CPU drivers (32x32/group)",
                ),
                (
                    MatmulKernel::Texture,
                    "matmul textures for CPU drivers (8x256/group)",
                ),
                (
                    MatmulKernel::Cpu,
                    "matmul vec4 for CPU drivers (16x32/group)",
                ),
            ];
            for (kernel, name) in fits {
                if runs(&gpu, kernel, &d) {
                    let t = run(suite, name, kernel)?;
                    if kernel == picked {
                        best = t;
                    }
                }
            }
        }
        // The naive kernel only at sizes where it finishes in seconds on a CPU driver.
        if !gpu.is_cpu() || d.flops() <= 2.0 * 1024f64.powi(3) {
            let naive = run(suite, "matmul naive", MatmulKernel::Naive)?;
            suite.speedup(
                &format!("matmul {picked:?} (picked) vs naive, {shape}"),
                naive,
                best,
            );
        }
    }
    batched_scores(suite, size)
}

/// Whether `kernel` can run `d` on `gpu`.
fn runs(gpu: &Gpu, kernel: MatmulKernel, d: &MatmulDims) -> bool {
    match kernel {
        MatmulKernel::SubgroupBuffers => MatmulKernel::buffers_fit(gpu, d),
        MatmulKernel::Subgroup => MatmulKernel::subgroup_fits(gpu, d),
        MatmulKernel::Texture => MatmulKernel::texture_fits(gpu, d),
        MatmulKernel::Cpu => MatmulKernel::cpu_fits(d),
        MatmulKernel::Sgemm | MatmulKernel::Tiled | MatmulKernel::Naive => true,
    }
}

/// A batched product with B transposed, shaped like attention scores (Q Kᵀ), on the kernel
/// picked here and the tiled one.
fn batched_scores(suite: &mut Suite, size: Size) -> anyhow::Result<()> {
    let gpu = suite.gpu().clone();
    let (heads, t, hd) = match size {
        Size::Quick => (2, 64, 32),
        Size::Full => (12, 256, 64),
    };
    let mut d = MatmulDims::new(t, t, hd);
    d.batch = heads as u32;
    d.trans_b = true;
    let (q, k, s) = (
        random(&gpu, heads * t * hd, 3)?,
        random(&gpu, heads * t * hd, 4)?,
        out(&gpu, heads * t * t)?,
    );
    let shape = format!("{heads}x{t}x{t}, K={hd}");
    let iters = iterations(&gpu, d.flops());
    let picked = MatmulKernel::pick(&gpu, &d);
    for kernel in [picked, MatmulKernel::Tiled] {
        suite.time(
            &format!("matmul batched, B transposed (Q K^T), {kernel:?}"),
            &shape,
            Some(d.flops()),
            None,
            iters,
            |bt| matmul(bt, kernel, d, &q, &k, None, &s, false),
        )?;
    }
    Ok(())
}

/// The arithmetic ceiling the matmul rows sit under: FMAs on registers only
/// (`shaders/dev/fma_peak.wgsl`), 16 Ki invocations (64 Ki on a GPU) of 4 vec4 accumulators.
fn fma_ceiling(suite: &mut Suite, size: Size) -> anyhow::Result<()> {
    use crate::tensor::ops::dev::fma_peak::{fma_peak, fma_peak_flops};
    let gpu = suite.gpu().clone();
    let n = if gpu.is_cpu() { 16 * 1024 } else { 64 * 1024 };
    let iters = match size {
        Size::Quick => 16,
        Size::Full => 1024,
    };
    let (x, o) = (random(&gpu, 4 * n, 11)?, out(&gpu, n)?);
    let shape = format!("{n} invocations x {iters} rounds x 8 vec4 FMAs");
    suite.time(
        "FMA ceiling (registers only, dev)",
        &shape,
        Some(fma_peak_flops(n, iters)),
        None,
        5,
        |bt| fma_peak(bt, &x, &o, n, iters, (0.999, 0.001)),
    )?;
    Ok(())
}
