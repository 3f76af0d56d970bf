//! `bench kernels`: each kernel family at a few shapes, the naive matmul beside the tiled one
//! with the speedup. Other families (fused vs unfused attention) add a function here and a
//! line in [`run`].

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Report, Suite};
use crate::gpu::{Gpu, GpuBuffer};
use crate::tensor::ops::embedding;
use crate::tensor::ops::layernorm::{self, LayerNormDims};
use crate::tensor::ops::matmul::{MatmulDims, MatmulKernel, matmul};
use crate::tensor::ops::reduce::{self, Reduce};
use crate::tensor::ops::{elementwise, softmax, unary};

pub use super::Size;

/// Random values in [-1, 1) uploaded as a buffer (never zeros: some drivers shortcut them).
fn random(gpu: &Gpu, n: usize, seed: u64) -> anyhow::Result<GpuBuffer> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let data: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    Ok(gpu.upload(&data, "benchmark input")?)
}

fn out(gpu: &Gpu, n: usize) -> anyhow::Result<GpuBuffer> {
    Ok(gpu.pool.storage(4 * n as u64, "benchmark output")?)
}

/// Matmul: tiled, CPU-driver variants (vec4, textures, subgroup where the adapter has it) vs
/// naive at square sizes, plus a batched transposed product shaped like
/// attention scores.
pub fn matmuls(suite: &mut Suite, size: Size) -> anyhow::Result<()> {
    let gpu = suite.gpu().clone();
    let sizes: &[usize] = match size {
        Size::Quick => &[64, 128], // multiples of 64: every matmul variant can run
        Size::Full => &[256, 512, 1024],
    };
    for &n in sizes {
        let d = MatmulDims::new(n, n, n);
        let (a, b, c) = (
            random(&gpu, n * n, 1)?,
            random(&gpu, n * n, 2)?,
            out(&gpu, n * n)?,
        );
        let shape = format!("M=N=K={n}");
        let iters = if n >= 1024 { 3 } else { 5 };
        let flops = Some(d.flops());
        let run = |suite: &mut Suite, name: &str, kernel, iters| {
            suite.time(name, &shape, flops, None, iters, |bt| {
                matmul(bt, kernel, d, &a, &b, None, &c, false)
            })
        };
        let tiled = run(
            suite,
            "matmul tiled (64x64, 8x8/thread)",
            MatmulKernel::Tiled,
            iters,
        )?;
        let cpu = run(
            suite,
            "matmul vec4 for CPU drivers (16x32/group)",
            MatmulKernel::Cpu,
            iters,
        )?;
        let tex = run(
            suite,
            "matmul textures for CPU drivers (8x256/group)",
            MatmulKernel::Texture,
            iters,
        )?;
        let subgroup = if MatmulKernel::subgroup_fits(&gpu, &d) {
            Some(run(
                suite,
                "matmul subgroup, packed textures (32x32/group)",
                MatmulKernel::Subgroup,
                iters,
            )?)
        } else {
            None
        };
        let buffers = if MatmulKernel::buffers_fit(&gpu, &d) {
            Some(run(
                suite,
                "matmul subgroup, buffers (32x32/group)",
                MatmulKernel::SubgroupBuffers,
                iters,
            )?)
        } else {
            None
        };
        let naive = run(suite, "matmul naive", MatmulKernel::Naive, 1)?;
        suite.speedup(&format!("matmul tiled vs naive, {shape}"), naive, tiled);
        suite.speedup(&format!("matmul vec4 vs naive, {shape}"), naive, cpu);
        suite.speedup(&format!("matmul textures vs naive, {shape}"), naive, tex);
        if let Some(subgroup) = subgroup {
            suite.speedup(
                &format!("matmul subgroup vs naive, {shape}"),
                naive,
                subgroup,
            );
            suite.speedup(
                &format!("matmul subgroup vs textures, {shape}"),
                tex,
                subgroup,
            );
            if let Some(buffers) = buffers {
                suite.speedup(
                    &format!("matmul subgroup buffers vs packed textures, {shape}"),
                    subgroup,
                    buffers,
                );
            }
        }
    }
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
    suite.time(
        "matmul batched, B transposed (Q K^T)",
        &format!("{heads}x{t}x{t}, K={hd}"),
        Some(d.flops()),
        None,
        3,
        |bt| matmul(bt, MatmulKernel::Tiled, d, &q, &k, None, &s, false),
    )?;
    if MatmulKernel::subgroup_fits(&gpu, &d) {
        suite.time(
            "matmul batched, B transposed (Q K^T), subgroup",
            &format!("{heads}x{t}x{t}, K={hd}"),
            Some(d.flops()),
            None,
            3,
            |bt| matmul(bt, MatmulKernel::Subgroup, d, &q, &k, None, &s, false),
        )?;
    }
    if MatmulKernel::buffers_fit(&gpu, &d) {
        suite.time(
            "matmul batched, B transposed (Q K^T), subgroup buffers",
            &format!("{heads}x{t}x{t}, K={hd}"),
            Some(d.flops()),
            None,
            3,
            |bt| {
                matmul(
                    bt,
                    MatmulKernel::SubgroupBuffers,
                    d,
                    &q,
                    &k,
                    None,
                    &s,
                    false,
                )
            },
        )?;
    }
    Ok(())
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
        embedding::launch(bt, &ids, &table, &o, rows, vocab, c)
    })?;
    suite.time(
        "embedding backward (grouped, no atomics)",
        &eshape,
        None,
        Some(f + 4.0 * (vocab * c) as f64),
        5,
        |bt| embedding::launch_backward(bt, &order, &offsets, &y, &dtable, rows, vocab, c),
    )?;
    Ok(())
}

/// Run the whole kernel suite on `gpu`.
pub fn run(gpu: &Gpu, size: Size, force_wall: bool) -> anyhow::Result<Report> {
    let mut suite = Suite::new(gpu, 35, force_wall);
    matmuls(&mut suite, size)?;
    memory_bound(&mut suite, size)?;
    super::attention::kernel_rows(&mut suite, size)?;
    super::losses::kernel_rows(&mut suite, size)?;
    Ok(suite.finish())
}
