//! Times the CPU-driver matmul kernels at one square size, several times in one process, and
//! prints the best and the median of each (wall clock per call, operand packing and texture
//! copies included): `cargo run --release --example bench_matmul [size] [runs]`.

use std::time::Instant;

use locomotion::gpu::{CommandBatch, Gpu};
use locomotion::tensor::ops::matmul::{MatmulDims, MatmulKernel, matmul};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn arg(i: usize, default: usize, what: &str) -> anyhow::Result<usize> {
    match std::env::args().nth(i) {
        Some(a) => a
            .parse()
            .map_err(|_| anyhow::anyhow!("{what} must be a positive integer, got '{a}'")),
        None => Ok(default),
    }
}

fn main() -> anyhow::Result<()> {
    let n = arg(1, 1024, "size")?;
    let runs = arg(2, 7, "runs")?.max(1);
    let gpu = Gpu::shared()?;
    println!("adapter: {} ({})", gpu.summary.name, gpu.summary.driver);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut random =
        |len: usize| -> Vec<f32> { (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect() };
    let a = gpu.upload(&random(n * n), "a")?;
    let b = gpu.upload(&random(n * n), "b")?;
    let c = gpu.pool.storage(4 * (n * n) as u64, "c")?;
    let d = MatmulDims::new(n, n, n);
    let mut kernels = vec![MatmulKernel::Texture];
    if MatmulKernel::subgroup_fits(&gpu, &d) {
        kernels.push(MatmulKernel::Subgroup);
    }
    let mut times = vec![Vec::new(); kernels.len()];
    // Interleaved, so that both kernels see the same changes in the machine's load.
    for run in 0..=runs {
        for (i, &kernel) in kernels.iter().enumerate() {
            let t = Instant::now();
            let mut bt = CommandBatch::new(&gpu);
            matmul(&mut bt, kernel, d, &a, &b, None, &c, false)?;
            bt.submit_and_wait()?;
            if run > 0 {
                times[i].push(t.elapsed().as_secs_f64());
            }
        }
    }
    for (kernel, mut t) in kernels.into_iter().zip(times) {
        t.sort_by(f64::total_cmp);
        let gflops = |s: f64| d.flops() / s / 1e9;
        println!(
            "{kernel:?} M=N=K={n}: best {:.1} ms ({:.2} GFLOP/s), median {:.1} ms ({:.2} GFLOP/s) over {runs} runs",
            t[0] * 1e3,
            gflops(t[0]),
            t[t.len() / 2] * 1e3,
            gflops(t[t.len() / 2]),
        );
    }
    Ok(())
}
