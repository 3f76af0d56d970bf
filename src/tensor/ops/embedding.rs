//! Launchers for `shaders/embedding.wgsl`: a gather forward and a deterministic, race-free
//! backward (tokens grouped by id on the host), and the tape op.

use crate::gpu::kernel_params;

use crate::gpu::{CommandBatch, GpuBuffer, GpuError, Groups, Kernel};
use crate::tensor::{Result, Shape, Tape, Tensor, TensorError};

kernel_params! {
    pub(crate) struct Params for ["embedding"] {
        n: u32,
        v: u32,
        c: u32,
        _pad: u32,
    }
}

/// Tokens grouped by id: `order` lists token positions id by id, `offsets[v]..offsets[v+1]`
/// delimits id v's positions (a counting sort; stable, so sums run in token order).
pub fn group_by_id(ids: &[u32], vocab: usize) -> Result<(Vec<u32>, Vec<u32>)> {
    let mut offsets = vec![0u32; vocab + 1];
    for (pos, &id) in ids.iter().enumerate() {
        if id as usize >= vocab {
            return Err(TensorError::BadId { id, pos, vocab });
        }
        offsets[id as usize + 1] += 1;
    }
    for v in 0..vocab {
        offsets[v + 1] += offsets[v];
    }
    let mut next = offsets.clone();
    let mut order = vec![0u32; ids.len()];
    for (pos, &id) in ids.iter().enumerate() {
        order[next[id as usize] as usize] = pos as u32;
        next[id as usize] += 1;
    }
    Ok((order, offsets))
}

/// Record one `embedding.wgsl` entry over `dims` = [n, v, c]:
/// - "forward", `bufs` = [ids, w, out]: out (n, c) = w[ids] for a table w (v, c);
/// - "backward", `bufs` = [order, offsets, dy, dw]: dw (v, c) from dy (n, c), with `order`
///   and `offsets` from [`group_by_id`].
pub fn launch(
    batch: &mut CommandBatch,
    entry: &'static str,
    bufs: &[&GpuBuffer],
    [n, v, c]: [usize; 3],
) -> std::result::Result<(), GpuError> {
    let p = Params {
        n: n as u32,
        v: v as u32,
        c: c as u32,
        _pad: 0,
    };
    let rows = if entry == "backward" { v } else { n };
    // Rows of C % 4 = 0 go four columns an invocation: the same values, one vec4 a lane.
    let (entry, lanes) = match (entry, c.is_multiple_of(4)) {
        ("forward", true) => ("forward4", rows * c / 4),
        ("backward", true) => ("backward4", rows * c / 4),
        _ => (entry, rows * c),
    };
    batch.dispatch(
        Kernel::new("embedding", entry),
        &p,
        bufs,
        Groups::Linear((lanes as u64).div_ceil(64)),
    )
}

/// Rows of the table `w` (V, C) for the token `ids`: output (ids.len(), C).
pub fn embedding(tape: &Tape, w: &Tensor, ids: &[u32]) -> Result<Tensor> {
    w.expect_f32("embedding")?;
    if w.shape().rank() != 2 {
        return Err(TensorError::Shape {
            op: "embedding",
            a: w.shape().to_string(),
            b: format!("{} ids", ids.len()),
            why: "the table must be (vocab, width)",
        });
    }
    let (v, c) = (w.shape().dims()[0], w.shape().dims()[1]);
    let n = ids.len();
    let (order, offsets) = group_by_id(ids, v)?;
    let gpu = tape.gpu();
    let ids_buf = gpu.upload(ids, "token ids")?;
    let out = gpu
        .pool
        .storage(4 * (n * c).max(1) as u64, "embedding out")?;
    let mut batch = CommandBatch::new(gpu);
    launch(
        &mut batch,
        "forward",
        &[&ids_buf, w.buffer(), &out],
        [n, v, c],
    )?;
    batch.submit();
    let saved = if tape.wants(&[w]) {
        Some((
            gpu.upload(&order, "token order")?,
            gpu.upload(&offsets, "id offsets")?,
        ))
    } else {
        None
    };
    Ok(tape.record(
        "embedding",
        out,
        Shape::new(&[n, c]),
        &[w],
        move |b, _, dy| {
            let (order, offsets) = saved.as_ref().expect("saved when recorded");
            let dw = b.gpu().pool.storage(4 * (v * c) as u64, "embedding grad")?;
            launch(b, "backward", &[order, offsets, dy, &dw], [n, v, c])?;
            Ok(vec![Some(dw)])
        },
    ))
}
