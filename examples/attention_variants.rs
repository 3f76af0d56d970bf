//! The fused-attention variants and block shapes side by side at the tiny preset's shapes,
//! interleaved round by round so a shared machine's load falls on all of them alike; prints
//! the fastest round of each (GPU timestamps). `cargo run --release --example
//! attention_variants -- [rounds]`.

use locomotion::bench::attention::{AttentionBuffers, bench_data};
use locomotion::gpu::{AttentionChoice, AttentionRoute, CommandBatch, Gpu, Profiler};
use locomotion::tensor::ops::attention::AttentionShape;

fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    let gpu = Gpu::shared()?;
    let shapes = [
        (
            "video self",
            AttentionShape::new(16, 2, 65, 65, 32).tokens_major(),
        ),
        (
            "text self",
            AttentionShape::new(16, 2, 24, 24, 32).tokens_major(),
        ),
        (
            "cross",
            AttentionShape::new(16, 2, 24, 65, 32).tokens_major(),
        ),
        (
            "encoder",
            AttentionShape::new(8, 4, 256, 256, 32).tokens_major(),
        ),
    ];
    let (blocked, rows) = (AttentionRoute::Blocked, AttentionRoute::Rows);
    let configs: [(&str, AttentionRoute, Option<[u32; 4]>); 7] = [
        ("blocked (default)", blocked, None),
        ("blocked 16x4 / 32x2", blocked, Some([16, 4, 32, 2])),
        ("blocked 8x4 / 8x2", blocked, Some([8, 4, 8, 2])),
        ("blocked 8x4 / 16x2", blocked, Some([8, 4, 16, 2])),
        ("blocked 8x4 / 8x4", blocked, Some([8, 4, 8, 4])),
        ("blocked 16x2 / 16x2", blocked, Some([16, 2, 16, 2])),
        ("rows (GPUs)", rows, None),
    ];
    // One profiler per variant, on the same device with that attention choice.
    let mut profs: Vec<Profiler> = configs
        .iter()
        .map(|&(_, route, blocks)| {
            Profiler::new(
                &gpu.with_attention(AttentionChoice { route, blocks }),
                false,
            )
        })
        .collect();
    let mut best = vec![[f64::INFINITY; 2]; shapes.len() * configs.len()];
    for round in 0..rounds {
        for (si, (_, s)) in shapes.iter().enumerate() {
            let bufs = AttentionBuffers::new(&gpu, s, bench_data)?;
            for (ci, prof) in profs.iter_mut().enumerate() {
                let err = |e: anyhow::Error| locomotion::gpu::GpuError::Readback(e.to_string());
                let f = prof.time("forward", 5, |b: &mut CommandBatch| {
                    bufs.fused_forward(b, *s).map_err(err)
                })?;
                let w = prof.time("backward", 5, |b: &mut CommandBatch| {
                    bufs.fused_backward(b, *s).map_err(err)
                })?;
                let slot = &mut best[si * configs.len() + ci];
                slot[0] = slot[0].min(f.seconds);
                slot[1] = slot[1].min(w.seconds);
            }
        }
        eprintln!("round {} of {rounds} done", round + 1);
    }
    println!(
        "{:<12} {:<22} {:>12} {:>12}",
        "shape", "variant", "fwd (ms)", "bwd (ms)"
    );
    for (si, (name, _)) in shapes.iter().enumerate() {
        for (ci, (label, _, _)) in configs.iter().enumerate() {
            let [f, b] = best[si * configs.len() + ci];
            println!("{name:<12} {label:<22} {:>12.3} {:>12.3}", f * 1e3, b * 1e3);
        }
    }
    Ok(())
}
