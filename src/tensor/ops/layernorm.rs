//! Launchers for `shaders/layernorm.wgsl` (fused forward and backward) and the tape op.

use crate::gpu::kernel_params;

use super::colsum;

use crate::gpu::{CommandBatch, GpuBuffer, GpuError, Groups, Kernel};
use crate::tensor::{Result, Tape, Tensor, TensorError};

kernel_params! {
    pub(crate) struct Params for ["layernorm"] {
        rows: u32,
        c: u32,
        eps: f32,
        chunk_rows: u32,
    }
}

/// The row count, width and epsilon of one layer norm.
#[derive(Debug, Clone, Copy)]
pub struct LayerNormDims {
    /// Rows normalised independently.
    pub rows: usize,
    /// Width of each row (the normalised dimension).
    pub c: usize,
    /// Added to the variance (BERT uses 1e-12, most others 1e-5).
    pub eps: f32,
}

impl LayerNormDims {
    /// Whether the one-row-per-invocation kernels (CPU drivers, C a multiple of 4) run
    /// this on `gpu`; they agree with the 64-thread kernels (one workgroup a row) within the
    /// 64 ulp tests/ops_norm.rs allows, since drivers may contract `a*b+c` differently.
    pub fn rows_kernel(&self, gpu: &crate::gpu::Gpu) -> bool {
        gpu.cpu_kernels() && self.c.is_multiple_of(4)
    }

    /// The row kernels' grid: 8 rows a workgroup.
    fn row_groups(&self) -> Groups {
        Groups::Linear((self.rows as u64).div_ceil(8))
    }

    /// The kernel parameters; `chunk_rows` only matters to `backward_params`.
    fn params(&self, chunk_rows: usize) -> Params {
        Params {
            rows: self.rows as u32,
            c: self.c as u32,
            eps: self.eps,
            chunk_rows: chunk_rows as u32,
        }
    }
}

/// Record y = layernorm(x) * w + b and save mean, rstd (rows,); x, y are (rows, C).
#[allow(clippy::too_many_arguments)]
pub fn forward(
    batch: &mut CommandBatch,
    d: LayerNormDims,
    x: &GpuBuffer,
    w: &GpuBuffer,
    b: &GpuBuffer,
    y: &GpuBuffer,
    mean: &GpuBuffer,
    rstd: &GpuBuffer,
) -> std::result::Result<(), GpuError> {
    let (entry, groups) = if d.rows_kernel(batch.gpu()) {
        ("forward_rows", d.row_groups())
    } else {
        ("forward", Groups::Linear(d.rows as u64))
    };
    batch.dispatch(
        Kernel::new("layernorm", entry),
        &d.params(0),
        &[x, w, b, y, mean, rstd],
        groups,
    )
}

/// Record dx (rows, C) and dw, db (C,) from dy and the saved mean and rstd.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    batch: &mut CommandBatch,
    d: LayerNormDims,
    dy: &GpuBuffer,
    x: &GpuBuffer,
    w: &GpuBuffer,
    mean: &GpuBuffer,
    rstd: &GpuBuffer,
    dx: &GpuBuffer,
    dw: &GpuBuffer,
    db: &GpuBuffer,
) -> std::result::Result<(), GpuError> {
    let (entry, groups) = if d.rows_kernel(batch.gpu()) {
        ("backward_input_rows", d.row_groups())
    } else {
        ("backward_input", Groups::Linear(d.rows as u64))
    };
    batch.dispatch(
        Kernel::new("layernorm", entry),
        &d.params(0),
        &[dy, x, w, mean, rstd, dx],
        groups,
    )?;
    // dw and db: per-chunk column sums, then the chunks added in order (colsum.wgsl).
    let (chunk_rows, chunks) = colsum::chunking(batch.gpu(), d.rows);
    let params = d.params(chunk_rows);
    let grid = colsum::grid(d.c, chunks);
    let entry = if colsum::by_vec4(d.c) {
        "backward_params4"
    } else {
        "backward_params"
    };
    let kernel = Kernel::new("layernorm", entry);
    if chunks == 1 {
        return batch.dispatch(kernel, &params, &[dy, x, mean, rstd, dw, db], grid);
    }
    let pool = batch.gpu().pool.clone();
    let bytes = 4 * (chunks * d.c).max(1) as u64;
    let (pw, pb) = (
        pool.storage(bytes, "layernorm dw partials")?,
        pool.storage(bytes, "layernorm db partials")?,
    );
    batch.dispatch(kernel, &params, &[dy, x, mean, rstd, &pw, &pb], grid)?;
    colsum::finish(batch, &pw, dw, chunks, d.c)?;
    colsum::finish(batch, &pb, db, chunks, d.c)
}

/// Layer norm of `x` over its last dimension with gain `w` and bias `b` (both (C,)).
pub fn layer_norm(tape: &Tape, x: &Tensor, w: &Tensor, b: &Tensor, eps: f32) -> Result<Tensor> {
    super::same_shape("layer_norm", w, b)?;
    x.expect_f32("layer_norm")?;
    let c = x.shape().last();
    if w.shape().dims() != [c] {
        return Err(TensorError::Shape {
            op: "layer_norm",
            a: x.shape().to_string(),
            b: w.shape().to_string(),
            why: "gain and bias must be (C,) for input (.., C)",
        });
    }
    let d = LayerNormDims {
        rows: x.shape().rows(),
        c,
        eps,
    };
    let gpu = tape.gpu();
    let pool = &gpu.pool;
    let y = pool.storage(4 * x.numel().max(1) as u64, "layernorm out")?;
    let mean = pool.storage(4 * d.rows.max(1) as u64, "layernorm mean")?;
    let rstd = pool.storage(4 * d.rows.max(1) as u64, "layernorm rstd")?;
    let mut batch = CommandBatch::new(gpu);
    forward(
        &mut batch,
        d,
        x.buffer(),
        w.buffer(),
        b.buffer(),
        &y,
        &mean,
        &rstd,
    )?;
    batch.submit();
    Ok(tape.record(
        "layer_norm",
        y,
        x.shape().clone(),
        &[x, w, b],
        move |bt, ins, dy| {
            let pool = &bt.gpu().pool;
            let dx = pool.storage(4 * (d.rows * d.c).max(1) as u64, "layernorm dx")?;
            let dw = pool.storage(4 * d.c as u64, "layernorm dw")?;
            let db = pool.storage(4 * d.c as u64, "layernorm db")?;
            let (x, w) = (ins[0].buffer(), ins[1].buffer());
            backward(bt, d, dy, x, w, &mean, &rstd, &dx, &dw, &db)?;
            Ok(vec![Some(dx), Some(dw), Some(db)])
        },
    ))
}
