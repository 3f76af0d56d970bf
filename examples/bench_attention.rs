//! Times fused against unfused attention on the default adapter and prints the table:
//! `cargo run --release --example bench_attention [iters]`.

use locomotion::bench::attention::{bench_attention, default_shapes, format_table};
use locomotion::gpu::Gpu;

fn main() -> anyhow::Result<()> {
    let iters = match std::env::args().nth(1) {
        Some(a) => a
            .parse()
            .map_err(|_| anyhow::anyhow!("iters must be a positive integer, got '{a}'"))?,
        None => 5,
    };
    let gpu = Gpu::shared()?;
    println!(
        "adapter: {} ({}, {})",
        gpu.summary.name, gpu.summary.backend, gpu.summary.driver
    );
    let bench = bench_attention(&gpu, &default_shapes(), iters, false)?;
    print!("{}", format_table(&bench));
    Ok(())
}
