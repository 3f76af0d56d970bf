//! `cargo bench --bench train`: whole training steps (same as `locomotion bench train`);
//! `-- --quick` for a few small steps, `-- --profile` for the per-kernel breakdown,
//! `-- --json FILE` to keep the report.

use locomotion::bench::encoder::EncoderDims;
use locomotion::bench::train::{TrainBench, run};
use locomotion::gpu::Gpu;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let mut opts = TrainBench {
        profile: has("--profile"),
        ..TrainBench::default()
    };
    if has("--quick") {
        opts.steps = 2;
        opts.warmup = 1;
        opts.batch = 4;
        opts.encoder = Some(EncoderDims {
            seq: 64,
            ..EncoderDims::default()
        });
    }
    let gpu = Gpu::shared()?;
    let report = run(&gpu, &opts)?;
    print!("{}", report.table());
    if let Some(i) = args.iter().position(|a| a == "--json") {
        let path = args
            .get(i + 1)
            .ok_or_else(|| anyhow::anyhow!("--json needs a file name"))?;
        report.write_json(std::path::Path::new(path))?;
    }
    Ok(())
}
