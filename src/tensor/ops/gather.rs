//! Launchers for `shaders/gather.wgsl`: rows of a table picked by indices that live in a GPU
//! buffer (written by another kernel, e.g. the hard-negative draw), with a deterministic
//! backward that needs no host-side grouping, and the tape op.

use crate::gpu::kernel_params;

use crate::gpu::{CommandBatch, Gpu, GpuBuffer, GpuError, Groups, Kernel};
use crate::tensor::{Result, Shape, Tape, Tensor, TensorError};

kernel_params! {
    pub(crate) struct Params for ["gather"] {
        n: u32,
        v: u32,
        c: u32,
        _pad: u32,
    }
}

fn params(n: usize, v: usize, c: usize) -> Params {
    Params {
        n: n as u32,
        v: v as u32,
        c: c as u32,
        _pad: 0,
    }
}

/// Record one `gather.wgsl` entry over `dims` = [n, v, c], 64 values a workgroup:
/// - "forward", `bufs` = [ids, w, out]: out (n, c) = w[ids] for an f32 table w (v, c); an
///   index ≥ v gives zeros;
/// - "rows_u32", the same `bufs`: the same for a u32 table (e.g. attention masks);
/// - "backward", `bufs` = [ids, dy, dw]: dw (v, c) = Σ dy[t] over the t with ids[t] = v
///   (t ascending).
pub fn launch(
    batch: &mut CommandBatch,
    entry: &'static str,
    bufs: [&GpuBuffer; 3],
    [n, v, c]: [usize; 3],
) -> std::result::Result<(), GpuError> {
    let rows = if entry == "backward" { v } else { n };
    batch.dispatch(
        Kernel::new("gather", entry),
        &params(n, v, c),
        &bufs,
        Groups::Linear(((rows * c) as u64).div_ceil(64)),
    )
}

fn check_len(what: &str, buf: &GpuBuffer, n: usize) -> Result<()> {
    if buf.bytes() < 4 * n as u64 {
        return Err(TensorError::Length {
            what: what.into(),
            len: (buf.bytes() / 4) as usize,
            shape: format!("({n},)"),
        });
    }
    Ok(())
}

/// Rows `ids` (a GPU buffer of `n` u32 row indices) of `w` (V, C): output (n, C). The
/// gradient scatters back to `w` deterministically; an index ≥ V reads zeros.
pub fn gather_rows(tape: &Tape, w: &Tensor, ids: &GpuBuffer, n: usize) -> Result<Tensor> {
    w.expect_f32("gather_rows")?;
    if w.shape().rank() != 2 {
        return Err(TensorError::Shape {
            op: "gather_rows",
            a: w.shape().to_string(),
            b: format!("{n} indices"),
            why: "the table must be (rows, width)",
        });
    }
    check_len("gather_rows indices", ids, n)?;
    let (v, c) = (w.shape().dims()[0], w.shape().dims()[1]);
    let gpu = tape.gpu();
    let out = gpu.pool.storage(4 * (n * c).max(1) as u64, "gather out")?;
    let mut batch = CommandBatch::new(gpu);
    launch(&mut batch, "forward", [ids, w.buffer(), &out], [n, v, c])?;
    // The rule keeps its own copy of the indices: the caller's buffer may be reused.
    let saved = if tape.wants(&[w]) {
        let copy = gpu.pool.storage(4 * n.max(1) as u64, "gather saved ids")?;
        batch.copy(ids, &copy, 4 * n as u64);
        Some(copy)
    } else {
        None
    };
    batch.submit();
    Ok(tape.record(
        "gather_rows",
        out,
        Shape::new(&[n, c]),
        &[w],
        move |b, _, dy| {
            let ids = saved.as_ref().expect("saved when recorded");
            let dw = b
                .gpu()
                .pool
                .storage(4 * (v * c).max(1) as u64, "gather grad")?;
            launch(b, "backward", [ids, dy, &dw], [n, v, c])?;
            Ok(vec![Some(dw)])
        },
    ))
}

/// Rows `ids` (`n` u32 indices on the GPU) of the u32 table `w` (v, c) → a new (n, c) buffer.
pub fn gather_rows_u32(
    gpu: &Gpu,
    w: &GpuBuffer,
    ids: &GpuBuffer,
    [n, v, c]: [usize; 3],
) -> Result<GpuBuffer> {
    check_len("gather_rows_u32 indices", ids, n)?;
    check_len("gather_rows_u32 table", w, v * c)?;
    super::forward(gpu, n * c, "gather u32 out", |b, out| {
        launch(b, "rows_u32", [ids, w, out], [n, v, c])
    })
}
