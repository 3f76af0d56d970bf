//! `cargo bench --bench kernels`: the kernel suite (same as `locomotion bench kernels`);
//! `-- --quick` for tiny shapes, `-- --json FILE` to keep the report.

use locomotion::bench::kernels::{Size, run};
use locomotion::gpu::Gpu;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let size = if args.iter().any(|a| a == "--quick") {
        Size::Quick
    } else {
        Size::Full
    };
    let gpu = Gpu::shared()?;
    let report = run(&gpu, size, false)?;
    print!("{}", report.table());
    if let Some(i) = args.iter().position(|a| a == "--json") {
        let path = args
            .get(i + 1)
            .ok_or_else(|| anyhow::anyhow!("--json needs a file name"))?;
        report.write_json(std::path::Path::new(path))?;
    }
    Ok(())
}
