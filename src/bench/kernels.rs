//! `bench kernels`: each kernel family at a few shapes (the matmuls in `bench/matmul.rs`:
//! the kernel picked here beside the earlier ones and the naive baseline, with speedups).
//! Other families (fused vs unfused attention) add a function here and a line in [`run`].

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Suite, SuiteReport};
use crate::gpu::{Gpu, GpuBuffer};
use crate::tensor::ops::embedding;
use crate::tensor::ops::layernorm::{self, LayerNormDims};
use crate::tensor::ops::reduce::{self, Reduce};
use crate::tensor::ops::{elementwise, softmax, unary};

pub use super::Size;

/// Random values in [-1, 1) uploaded as a buffer (never zeros: some drivers shortcut them).
pub(super) fn random(gpu: &Gpu, n: usize, seed: u64) -> anyhow::Result<GpuBuffer> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let data: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    Ok(gpu.upload(&data, "benchmark input")?)
}

/// A storage buffer of `n` floats for a kernel to write.
pub(super) fn out(gpu: &Gpu, n: usize) -> anyhow::Result<GpuBuffer> {
    Ok(gpu.pool.storage(4 * n as u64, "benchmark output")?)
}

/// Memory-bound families: elementwise, GELU, reductions, softmax, layer norm, embedding.
pub fn memory_bound(suite: &mut Suite, size: Size) -> anyhow::Result<()> {
    let gpu = suite.gpu().clone();
    let (rows, c) = match size {
        Size::Quick => (256, 256),
        Size::Full => (4096, 768),
    };
    let n = rows * c;
    let shape = format!("{rows}x{c}");
    let (x, y, o) = (random(&gpu, n, 5)?, random(&gpu, n, 6)?, out(&gpu, n)?);
    let f = 4.0 * n as f64;
    suite.time(
        "add (broadcast bias)",
        &shape,
        None,
        Some(2.0 * f),
        5,
        |bt| elementwise::launch(bt, "add_broadcast", &x, &y, &o, n, 1.0, 1.0, c),
    )?;
    suite.time("gelu (erf)", &shape, None, Some(2.0 * f), 5, |bt| {
        unary::launch(bt, "gelu", &x, &o, n, 0.0, 0.0, 0)
    })?;
    suite.time("gelu backward", &shape, None, Some(3.0 * f), 5, |bt| {
        elementwise::launch(bt, "gelu_backward", &x, &y, &o, n, 0.0, 0.0, 1)
    })?;
    let r = out(&gpu, rows)?;
    suite.time(
        "reduce sum over last axis",
        &shape,
        None,
        Some(f),
        5,
        |bt| reduce::launch(bt, Reduce::Sum, &x, &r, rows, c, 1),
    )?;
    suite.time(
        "softmax (fused, stable)",
        &shape,
        None,
        Some(2.0 * f),
        5,
        |bt| softmax::launch(bt, &x, &o, rows, c, false),
    )?;
    suite.time("softmax backward", &shape, None, Some(3.0 * f), 5, |bt| {
        softmax::launch_backward(bt, &x, &y, &o, rows, c, false)
    })?;
    let (w, b) = (random(&gpu, c, 7)?, random(&gpu, c, 8)?);
    let (mean, rstd) = (out(&gpu, rows)?, out(&gpu, rows)?);
    let d = LayerNormDims { rows, c, eps: 1e-5 };
    suite.time(
        "layer norm forward (fused)",
        &shape,
        None,
        Some(2.0 * f),
        5,
        |bt| layernorm::forward(bt, d, &x, &w, &b, &o, &mean, &rstd),
    )?;
    let (dw, db) = (out(&gpu, c)?, out(&gpu, c)?);
    suite.time(
        "layer norm backward (fused)",
        &shape,
        None,
        Some(3.0 * f),
        5,
        |bt| layernorm::backward(bt, d, &y, &x, &w, &mean, &rstd, &o, &dw, &db),
    )?;
    let vocab = 8192;
    let ids: Vec<u32> = (0..rows).map(|i| (i * 7919 % vocab) as u32).collect();
    let (order, offsets) = embedding::group_by_id(&ids, vocab)?;
    let ids = gpu.upload(&ids, "ids")?;
    let table = random(&gpu, vocab * c, 9)?;
    let dtable = out(&gpu, vocab * c)?;
    let (order, offsets) = (
        gpu.upload(&order, "order")?,
        gpu.upload(&offsets, "offsets")?,
    );
    let eshape = format!("{rows} ids, {vocab}x{c}");
    suite.time("embedding gather", &eshape, None, Some(2.0 * f), 5, |bt| {
        embedding::launch(bt, "forward", &[&ids, &table, &o], [rows, vocab, c])
    })?;
    suite.time(
        "embedding backward (grouped, no atomics)",
        &eshape,
        None,
        Some(f + 4.0 * (vocab * c) as f64),
        5,
        |bt| {
            let bufs = [&order, &offsets, &y, &dtable];
            embedding::launch(bt, "backward", &bufs, [rows, vocab, c])
        },
    )?;
    Ok(())
}

/// Run the whole kernel suite on `gpu`.
pub fn run(gpu: &Gpu, size: Size, force_wall: bool) -> anyhow::Result<SuiteReport> {
    let mut suite = Suite::new(gpu, 35, force_wall);
    super::matmul::matmuls(&mut suite, size)?;
    memory_bound(&mut suite, size)?;
    super::attention::kernel_rows(&mut suite, size)?;
    super::losses::kernel_rows(&mut suite, size)?;
    Ok(suite.finish())
}
