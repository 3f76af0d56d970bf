//! `cargo bench --bench composite`: the compositor benchmark (GPU vs single-threaded CPU
//! reference), the same as `locomotion bench composite`.

fn main() -> anyhow::Result<()> {
    let gpu = locomotion::gpu::Gpu::shared()?;
    let rows = locomotion::bench::composite::run(&gpu, &Default::default())?;
    print!(
        "{}",
        locomotion::bench::composite::table(&gpu.summary.name, &rows)
    );
    Ok(())
}
