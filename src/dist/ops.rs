//! The tape op and the gradient exchange that make N replicas train as one: rows gathered
//! from every replica with their gradients routed back, and the summed parameter gradients.

use std::time::Instant;

use super::Shard;
use crate::gpu::{CommandBatch, Gpu, GpuError};
use crate::tensor::{Result, Shape, Tape, Tensor, TensorError};

/// Every replica's rows of `local` (`[b_r, ...]`, the first axis this replica's samples) as
/// one `[B, ...]` tensor in rank order, recorded on `tape`. Its backward sums every
/// replica's gradient of the whole tensor and keeps this replica's rows: each replica then
/// computes the loss of the whole batch from the gathered rows, scaled by 1/N, and the summed
/// parameter gradients are those of the whole batch.
///
/// The forward and the backward each wait for every replica (a readback, an exchange through
/// the host, an upload), so replicas must record the same ops in the same order.
pub fn gather_with_grad(tape: &Tape, local: &Tensor, shard: &Shard) -> Result<Tensor> {
    local.expect_f32("gather across replicas")?;
    let dims = local.shape().dims().to_vec();
    let rows = shard.range.len();
    if dims.first() != Some(&rows) {
        return Err(TensorError::Shape {
            op: "gather across replicas",
            a: local.shape().to_string(),
            b: format!("{rows} rows"),
            why: "the first axis must be this replica's samples",
        });
    }
    let width = local.numel() / rows.max(1);
    let all = shard.comm.all_gather(&local.to_vec()?)?;
    if all.len() != shard.total * width {
        return Err(GpuError::Collective(format!(
            "gather across replicas: {} values arrived, {} expected ({} rows of {width})",
            all.len(),
            shard.total * width,
            shard.total
        ))
        .into());
    }
    let gpu = tape.gpu();
    let buf = gpu.upload(&all, "rows of every replica")?;
    let mut out_dims = dims;
    out_dims[0] = shard.total;
    let (comm, range, n) = (shard.comm.clone(), shard.range.clone(), all.len());
    Ok(tape.record(
        "gather across replicas",
        buf,
        Shape::new(&out_dims),
        &[local],
        move |batch: &mut CommandBatch, _inputs: &[Tensor], dy| {
            // The gradient so far is recorded, not computed: run it, then read it.
            let fresh = CommandBatch::new(batch.gpu());
            std::mem::replace(batch, fresh).submit_and_wait()?;
            let gpu = batch.gpu();
            let mut d = gpu.read::<f32>(dy)?;
            d.truncate(n);
            comm.all_reduce_sum(&mut d)?;
            let own = &d[range.start * width..range.end * width];
            Ok(vec![Some(
                gpu.upload(own, "gradient of this replica's rows")?,
            )])
        },
    ))
}

/// Sum every parameter's gradient over the replicas (one flattened buffer per replica: one
/// copy pass, one readback, one exchange, one upload), with `extra` host values appended to
/// the exchange and returned summed (the trainer's stop flag rides along). Every replica must
/// hold a gradient for the same parameters. Returns the summed extras and the host seconds the
/// whole exchange took.
pub fn all_reduce_grads(
    gpu: &Gpu,
    params: &[(String, Tensor)],
    shard: &Shard,
    extra: &[f32],
) -> Result<(Vec<f32>, f64)> {
    let t0 = Instant::now();
    let with_grad: Vec<&Tensor> = params
        .iter()
        .map(|(_, t)| t)
        .filter(|t| t.grad().is_some())
        .collect();
    let total: usize = with_grad.iter().map(|t| t.numel()).sum();
    let mut host = if total == 0 {
        Vec::new()
    } else {
        let flat = gpu.pool.storage(4 * total as u64, "flattened gradients")?;
        copy_grads(gpu, &with_grad, &flat, true);
        let mut v = gpu.read::<f32>(&flat)?;
        v.truncate(total);
        v
    };
    host.extend_from_slice(extra);
    shard.comm.all_reduce_sum(&mut host)?;
    if total > 0 {
        let flat = gpu.upload(&host[..total], "summed gradients")?;
        copy_grads(gpu, &with_grad, &flat, false);
    }
    Ok((host[total..].to_vec(), t0.elapsed().as_secs_f64()))
}

/// Record and submit one copy per gradient between each of `params`' gradients and its
/// place in `flat` (laid end to end in order): into `flat` when `to_flat`, back otherwise.
fn copy_grads(gpu: &Gpu, params: &[&Tensor], flat: &crate::gpu::GpuBuffer, to_flat: bool) {
    let mut batch = CommandBatch::new(gpu);
    batch.hold(flat);
    let mut off = 0u64;
    for t in params {
        let g = t.grad();
        let grad = g.as_ref().expect("filtered on a gradient");
        let bytes = 4 * t.numel() as u64;
        batch.hold(grad);
        let (src, src_off, dst, dst_off) = match to_flat {
            true => (grad, 0, flat, off),
            false => (flat, off, grad, 0),
        };
        batch
            .encoder()
            .copy_buffer_to_buffer(src.raw(), src_off, dst.raw(), dst_off, bytes);
        batch.note_copy();
        off += bytes;
    }
    batch.submit();
}
