//! Times the CPU-driver matmul kernels at given shapes, several times in one process, and
//! prints the best and the median of each (wall clock per product, operand packing and texture
//! copies included), kernels interleaved so that all see the same load:
//! `cargo run --release --example bench_matmul [SHAPE ...] [runs]`, where SHAPE is a square
//! size (`1024`) or `MxNxK` with optional `:ta` (A transposed), `:tb` (B transposed) and
//! `:bN` (a batch of N products), e.g. `128x128x2048:ta` or `256x32x256:ta:b32`; the default
//! is `1024 7`. Small products are recorded 8 to a submit so the submit's cost is shared.
//! The first line is the register-only FMA rate, the ceiling of every product.

use std::time::Instant;

use locomotion::gpu::{CommandBatch, Gpu};
use locomotion::tensor::ops::matmul::{MatmulDims, MatmulKernel, matmul};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `1024` or `MxNxK[:ta][:tb][:bN]`.
fn parse_shape(s: &str) -> anyhow::Result<MatmulDims> {
    let bad = || anyhow::anyhow!("shape '{s}': expected N or MxNxK[:ta][:tb][:bN]");
    let mut parts = s.split(':');
    let dims: Vec<usize> = parts
        .next()
        .ok_or_else(bad)?
        .split('x')
        .map(|x| x.parse().map_err(|_| bad()))
        .collect::<anyhow::Result<_>>()?;
    let mut d = match dims[..] {
        [n] => MatmulDims::new(n, n, n),
        [m, n, k] => MatmulDims::new(m, n, k),
        _ => return Err(bad()),
    };
    for p in parts {
        match p {
            "ta" => d.trans_a = true,
            "tb" => d.trans_b = true,
            _ if p.starts_with('b') => d.batch = p[1..].parse().map_err(|_| bad())?,
            _ => return Err(bad()),
        }
    }
    if d.m == 0 || d.n == 0 || d.k == 0 || d.batch == 0 {
        return Err(bad());
    }
    Ok(d)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (shapes, runs) = match args.last().map(|a| a.parse::<usize>()) {
        Some(Ok(r)) if args.len() > 1 => (&args[..args.len() - 1], r.max(1)),
        _ if args.is_empty() => (&[][..], 7),
        _ => (&args[..], 7),
    };
    let shapes: Vec<MatmulDims> = if shapes.is_empty() {
        vec![MatmulDims::new(1024, 1024, 1024)]
    } else {
        shapes
            .iter()
            .map(|s| parse_shape(s))
            .collect::<anyhow::Result<_>>()?
    };
    let gpu = Gpu::shared()?;
    println!("adapter: {} ({})", gpu.summary.name, gpu.summary.driver);
    fma_ceiling(&gpu, runs)?;
    for d in shapes {
        bench_shape(&gpu, d, runs)?;
    }
    Ok(())
}

/// The register-only FMA rate (`shaders/dev/fma_peak.wgsl`): the ceiling of every row below.
fn fma_ceiling(gpu: &Gpu, runs: usize) -> anyhow::Result<()> {
    use locomotion::tensor::ops::dev::fma_peak::{fma_peak, fma_peak_flops};
    let (n, iters) = (16 * 1024, 2048);
    let x = gpu.upload(&vec![0.5f32; 4 * n], "x")?;
    let out = gpu.pool.storage(4 * n as u64, "out")?;
    let mut times = Vec::new();
    for run in 0..=runs {
        let t = Instant::now();
        let mut bt = CommandBatch::new(gpu);
        fma_peak(&mut bt, &x, &out, n, iters, (0.999, 0.001))?;
        bt.submit_and_wait()?;
        if run > 0 {
            times.push(t.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    let gflops = |s: f64| fma_peak_flops(n, iters) / s / 1e9;
    println!(
        "FMA ceiling (registers only): best {:.2} GFLOP/s, median {:.2} GFLOP/s over {runs} runs",
        gflops(times[0]),
        gflops(times[times.len() / 2])
    );
    Ok(())
}

fn bench_shape(gpu: &Gpu, d: MatmulDims, runs: usize) -> anyhow::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut random =
        |len: usize| -> Vec<f32> { (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect() };
    let (nb, m, n, k) = (
        d.batch.max(1) as usize,
        d.m as usize,
        d.n as usize,
        d.k as usize,
    );
    let a = gpu.upload(&random(nb * m * k), "a")?;
    let b = gpu.upload(&random(nb * k * n), "b")?;
    let c = gpu.pool.storage(4 * (nb * m * n) as u64, "c")?;
    let mut kernels = Vec::new();
    if MatmulKernel::buffers_fit(gpu, &d) {
        kernels.push(MatmulKernel::SubgroupBuffers);
    }
    if MatmulKernel::subgroup_fits(gpu, &d) {
        kernels.push(MatmulKernel::Subgroup);
    }
    if MatmulKernel::texture_fits(gpu, &d) {
        kernels.push(MatmulKernel::Texture);
    }
    // Products of under ~50 MFLOP share a submit, 8 at a time.
    let per = if d.flops() < 5e7 { 8 } else { 1 };
    let mut times = vec![Vec::new(); kernels.len()];
    for run in 0..=runs {
        for (i, &kernel) in kernels.iter().enumerate() {
            let t = Instant::now();
            let mut bt = CommandBatch::new(gpu);
            for _ in 0..per {
                matmul(&mut bt, kernel, d, &a, &b, None, &c, false)?;
            }
            bt.submit_and_wait()?;
            if run > 0 {
                times[i].push(t.elapsed().as_secs_f64() / per as f64);
            }
        }
    }
    let picked = MatmulKernel::pick(gpu, &d);
    for (kernel, mut t) in kernels.into_iter().zip(times) {
        t.sort_by(f64::total_cmp);
        let gflops = |s: f64| d.flops() / s / 1e9;
        let mark = if kernel == picked { " (picked)" } else { "" };
        println!(
            "{kernel:?}{mark} {}{}{}: best {:.2} ms ({:.2} GFLOP/s), median {:.2} ms ({:.2} GFLOP/s) over {runs} runs",
            d.shape_label(),
            if d.trans_a { " A^T" } else { "" },
            if d.trans_b { " B^T" } else { "" },
            t[0] * 1e3,
            gflops(t[0]),
            t[t.len() / 2] * 1e3,
            gflops(t[t.len() / 2]),
        );
    }
    Ok(())
}
