//! Loss rows of `locomotion bench kernels`: cross-entropy over an MLM-sized vocabulary and
//! symmetric InfoNCE over a contrastive batch, forward and backward.

use anyhow::Result;

use super::Size;
use super::Suite;
use crate::tensor::ops::loss::{
    IGNORE_INDEX, cross_entropy_backward, cross_entropy_forward, info_nce_backward,
    info_nce_forward,
};

/// Time cross-entropy (N rows over a BERT vocabulary, every 7th row ignored as MLM does with
/// unmasked tokens) and InfoNCE (B x B similarities), forward and backward.
pub fn kernel_rows(suite: &mut Suite, size: Size) -> Result<()> {
    let (n, c, b) = match size {
        Size::Quick => (32usize, 1000usize, 16usize),
        Size::Full => (512, 30522, 256),
    };
    let gpu = suite.gpu().clone();
    let l = |r: Result<()>| r.map_err(crate::tensor::ops::launch_err);
    let logits: Vec<f32> = (0..n * c)
        .map(|i| ((i * 7919) % 1000) as f32 / 250.0 - 2.0)
        .collect();
    let targets: Vec<u32> = (0..n)
        .map(|i| {
            if i % 7 == 0 {
                IGNORE_INDEX
            } else {
                ((i * 131) % c) as u32
            }
        })
        .collect();
    let logits = gpu.upload(&logits, "bench logits")?;
    let targets = gpu.upload(&targets, "bench targets")?;
    let stats = gpu.pool.storage(8 * n as u64, "bench ce stats")?;
    let loss = gpu.pool.storage(8, "bench ce loss")?;
    let dloss = gpu.upload(&[1.0f32], "bench dloss")?;
    let dlogits = gpu.pool.storage(4 * (n * c) as u64, "bench dlogits")?;
    let (n32, c32) = (n as u32, c as u32);
    let shape = format!("N={n} C={c}");
    // Compulsory traffic: the logits read once forward, read and written once backward.
    let bytes = (4 * n * c) as f64;
    suite.time(
        "cross-entropy forward",
        &shape,
        None,
        Some(bytes),
        3,
        |bt| {
            l(cross_entropy_forward(
                bt,
                &logits,
                &targets,
                &stats,
                &loss,
                n32,
                c32,
                IGNORE_INDEX,
            ))
        },
    )?;
    suite.time(
        "cross-entropy backward",
        &shape,
        None,
        Some(2.0 * bytes),
        3,
        |bt| {
            l(cross_entropy_backward(
                bt,
                &logits,
                &targets,
                &stats,
                &loss,
                &dloss,
                &dlogits,
                n32,
                c32,
                IGNORE_INDEX,
            ))
        },
    )?;

    let sim: Vec<f32> = (0..b * b)
        .map(|i| ((i * 7919) % 997) as f32 / 498.5 - 1.0)
        .collect();
    let sim = gpu.upload(&sim, "bench sim")?;
    let log_scale = gpu.upload(&[2.659f32], "bench log scale")?;
    let nstats = gpu.pool.storage(8 * b as u64, "bench nce stats")?;
    let nloss = gpu.pool.storage(4, "bench nce loss")?;
    let dsim = gpu.pool.storage(4 * (b * b) as u64, "bench dsim")?;
    let dscale = gpu.pool.storage(4, "bench dscale")?;
    let b32 = b as u32;
    let shape = format!("B={b}");
    // The similarity matrix is read twice forward (rows, columns).
    let bytes = (8 * b * b) as f64;
    suite.time("InfoNCE forward", &shape, None, Some(bytes), 3, |bt| {
        l(info_nce_forward(bt, &sim, &log_scale, &nstats, &nloss, b32))
    })?;
    suite.time("InfoNCE backward", &shape, None, Some(bytes), 3, |bt| {
        l(info_nce_backward(
            bt, &sim, &log_scale, &nstats, &dloss, &dsim, &dscale, b32,
        ))
    })?;
    Ok(())
}
