//! Launchers for `shaders/colsum.wgsl`: deterministic two-stage column sums. Bias gradients
//! use [`column_sum`]; layer norm's dgamma / dbeta use [`chunking`] and [`finish`] behind their
//! own first stage.
//!
//! The rows are split into chunks that depend only on the row count and the kernel choice, so
//! every run adds in the same order. With one chunk (rows <= [`CHUNK_ROWS`], or any count on
//! CPU drivers) the result is the one-pass row-order sum bit for bit; with more it is the sum
//! of per-chunk row-order sums, a different rounding of the same sum (see docs/design.md).

use crate::gpu::kernel_params;

use crate::gpu::{CommandBatch, Gpu, GpuBuffer, GpuError, Groups, Kernel};

kernel_params! {
    pub(crate) struct Params for ["colsum"] {
        rows: u32,
        c: u32,
        chunk_rows: u32,
        chunks: u32,
    }
}

/// Rows one first-stage workgroup sums (more only when the chunks would pass [`MAX_CHUNKS`]).
pub const CHUNK_ROWS: usize = 64;
/// Most chunks (the grid's y extent): WebGPU's minimum workgroup count per dimension, fixed
/// rather than read from the device so the summation order is the same everywhere.
pub const MAX_CHUNKS: usize = 65_535;

/// How `rows` rows are split on `gpu`: (rows per chunk, chunks), chunks >= 1. GPUs take
/// chunks of [`CHUNK_ROWS`]; CPU drivers (the kernel choice, see [`crate::gpu::Kernels`]) one
/// chunk of every row, the one-pass sum in one dispatch: their few cores are already busy
/// with the column strips, and each extra dispatch costs there (BENCHMARKS.md).
pub fn chunking(gpu: &Gpu, rows: usize) -> (usize, usize) {
    if gpu.cpu_kernels() {
        return (rows.max(1), 1);
    }
    let chunk_rows = CHUNK_ROWS.max(rows.div_ceil(MAX_CHUNKS));
    (chunk_rows, rows.div_ceil(chunk_rows).max(1))
}

/// Whether a pass over `c` columns runs four columns an invocation (the `…4` entries of
/// colsum.wgsl and layernorm.wgsl: the same sums in the same order, one vec4 load a row).
pub fn by_vec4(c: usize) -> bool {
    c.is_multiple_of(4)
}

/// The grid of a pass over `chunks` chunks of `c` columns: strips of 64 invocations (64
/// columns, or 256 where [`by_vec4`]) by chunks.
pub fn grid(c: usize, chunks: usize) -> Groups {
    let lanes = if by_vec4(c) { c / 4 } else { c };
    Groups::Grid([lanes.div_ceil(64).max(1) as u32, chunks as u32, 1])
}

/// Record `out = sum over rows of x`; x is (rows, c), out (c,). One dispatch when the rows
/// fit one chunk, else two (partials (chunks, c) from the pool, then [`finish`]).
pub fn column_sum(
    batch: &mut CommandBatch,
    x: &GpuBuffer,
    out: &GpuBuffer,
    rows: usize,
    c: usize,
) -> Result<(), GpuError> {
    let (chunk_rows, chunks) = chunking(batch.gpu(), rows);
    if chunks == 1 {
        return pass(batch, x, out, rows, c, chunk_rows, 1);
    }
    let partial = batch
        .gpu()
        .pool
        .storage(4 * (chunks * c).max(1) as u64, "column sum partials")?;
    pass(batch, x, &partial, rows, c, chunk_rows, chunks)?;
    finish(batch, &partial, out, chunks, c)
}

/// Record the second stage: out (c,) = the partials (chunks, c) added in chunk order.
pub fn finish(
    batch: &mut CommandBatch,
    partial: &GpuBuffer,
    out: &GpuBuffer,
    chunks: usize,
    c: usize,
) -> Result<(), GpuError> {
    pass(batch, partial, out, chunks, c, chunks, 1)
}

fn pass(
    batch: &mut CommandBatch,
    x: &GpuBuffer,
    out: &GpuBuffer,
    rows: usize,
    c: usize,
    chunk_rows: usize,
    chunks: usize,
) -> Result<(), GpuError> {
    let params = Params {
        rows: rows as u32,
        c: c as u32,
        chunk_rows: chunk_rows as u32,
        chunks: chunks as u32,
    };
    let entry = if by_vec4(c) { "colsum4" } else { "colsum" };
    batch.dispatch(
        Kernel::new("colsum", entry),
        &params,
        &[x, out],
        grid(c, chunks),
    )
}
