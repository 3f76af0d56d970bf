//! Launchers for the optimizer: the fused AdamW update (`shaders/adamw.wgsl`) and global
//! gradient-norm clipping (`shaders/grad_norm.wgsl`). Clipping writes its scale into a small
//! GPU buffer that AdamW reads, so a training step needs no readback; the norm sits beside it
//! for logging.

use crate::gpu::kernel_params;
use anyhow::{Result, bail};

use super::check::need;
use crate::gpu::{CommandBatch, Gpu, GpuBuffer, Groups, Kernel};

/// Gradient elements summed by one workgroup of the first clipping stage.
const CHUNK: u64 = 1024;

/// AdamW hyper-parameters (decoupled weight decay, as in Loshchilov & Hutter).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWHyper {
    /// Learning rate (already scheduled for this step).
    pub lr: f32,
    /// Decay of the first-moment average.
    pub beta1: f32,
    /// Decay of the second-moment average.
    pub beta2: f32,
    /// Added to the root of the second moment.
    pub eps: f32,
    /// Decoupled weight decay, multiplied by the learning rate.
    pub weight_decay: f32,
}

impl Default for AdamWHyper {
    /// The pre-training recipe of the paper's lineage (VindLU): lr 1e-4, weight decay 0.02.
    fn default() -> Self {
        Self {
            lr: 1e-4,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.02,
        }
    }
}

kernel_params! {
    pub(crate) struct AdamParams for ["adamw"] {
        n: u32,
        lr: f32,
        beta1: f32,
        beta2: f32,
        eps: f32,
        weight_decay: f32,
        bc1: f32,
        bc2: f32,
    }
}

/// Record one AdamW step `step` (counted from 1) over `n` elements: updates `param`, `m` and
/// `v` (each (n,)) in place from `grad` (n,) scaled by `clip[1]` (see [`clip_grad_norm`];
/// [`unclipped`] gives a buffer that leaves gradients as they are).
#[allow(clippy::too_many_arguments)]
pub fn adamw_step(
    batch: &mut CommandBatch,
    opt: &AdamWHyper,
    step: u32,
    param: &GpuBuffer,
    grad: &GpuBuffer,
    m: &GpuBuffer,
    v: &GpuBuffer,
    clip: &GpuBuffer,
    n: u32,
) -> Result<()> {
    launch(batch, opt, step, "adamw", &[param, grad, m, v, clip], n)
}

/// Record one AdamW step over a flat group of tensors laid end to end (`n` elements in all)
/// in one dispatch: `segs` holds one `[end, flags]` pair of u32 per tensor, ends ascending and
/// the last equal to `n`; flags bit 0 applies `opt.weight_decay` (else none), bit 1 marks a
/// tensor with a gradient this step (the others are left as they are). See [`adamw_step`].
#[allow(clippy::too_many_arguments)]
pub fn adamw_flat_step(
    batch: &mut CommandBatch,
    opt: &AdamWHyper,
    step: u32,
    param: &GpuBuffer,
    grad: &GpuBuffer,
    m: &GpuBuffer,
    v: &GpuBuffer,
    clip: &GpuBuffer,
    segs: &GpuBuffer,
    n: u32,
) -> Result<()> {
    if segs.bytes() < 8 || !segs.bytes().is_multiple_of(8) {
        bail!("AdamW: the segment table must hold whole [end, flags] pairs, at least one");
    }
    launch(
        batch,
        opt,
        step,
        "adamw_flat",
        &[param, grad, m, v, clip, segs],
        n,
    )
}

/// Record `entry` over `n` elements with `bufs` (param, grad, m, v, clip, then any more) at
/// bindings 1.., after checking the step count and the sizes (n floats; clip: 2).
fn launch(
    batch: &mut CommandBatch,
    opt: &AdamWHyper,
    step: u32,
    entry: &'static str,
    bufs: &[&GpuBuffer],
    n: u32,
) -> Result<()> {
    if step == 0 {
        bail!("AdamW steps are counted from 1 (bias correction divides by 1 - beta^step)");
    }
    let n64 = n as u64;
    let names = ["param", "grad", "m", "v", "clip"];
    let sizes = [n64, n64, n64, n64, 2];
    let checks: Vec<(&str, &GpuBuffer, u64)> =
        (0..5).map(|i| (names[i], bufs[i], sizes[i])).collect();
    need("AdamW", &checks)?;
    // Bias corrections in f64: beta2^t stays representable long after f32 would round to 1.
    let bc = |beta: f32| (1.0 - (beta as f64).powi(step.min(i32::MAX as u32) as i32)) as f32;
    let params = AdamParams {
        n,
        lr: opt.lr,
        beta1: opt.beta1,
        beta2: opt.beta2,
        eps: opt.eps,
        weight_decay: opt.weight_decay,
        bc1: bc(opt.beta1),
        bc2: bc(opt.beta2),
    };
    let n = n as usize;
    let flat: Vec<(&GpuBuffer, usize)> = bufs[..4].iter().map(|&b| (b, n)).collect();
    super::elementwise::dispatch_flat4(
        batch,
        Kernel::new("adamw", entry),
        &params,
        &flat,
        &bufs[4..],
        n,
    )?;
    Ok(())
}

/// A clip buffer [norm 0, scale 1] for AdamW steps without gradient clipping.
pub fn unclipped(gpu: &Gpu) -> Result<GpuBuffer> {
    Ok(gpu.upload(&[0.0f32, 1.0], "unclipped gradient scale")?)
}

// ------------------------------------------------------------------------ gradient clipping

kernel_params! {
    pub(crate) struct NormParams for ["grad_norm"] {
        n: u32,
        offset: u32,
        max_norm: f32,
        _pad: u32,
    }
}

/// Number of f32 partial sums [`clip_grad_norm`] needs for gradients of these lengths.
pub fn partials_len(lengths: &[u32]) -> u64 {
    lengths.iter().map(|&n| (n as u64).div_ceil(CHUNK)).sum()
}

/// Record global gradient-norm clipping over `grads` (each a buffer and its length): the sum
/// of squares is reduced per 1024-element chunk into `partials` (at least [`partials_len`]
/// floats), then in one workgroup into `clip` (2,) = [norm, scale] with
/// scale = min(1, max_norm / (norm + 1e-6)); `max_norm <= 0` only measures the norm.
pub fn clip_grad_norm(
    batch: &mut CommandBatch,
    grads: &[(&GpuBuffer, u32)],
    max_norm: f32,
    partials: &GpuBuffer,
    clip: &GpuBuffer,
) -> Result<()> {
    let lengths: Vec<u32> = grads.iter().map(|g| g.1).collect();
    let total = partials_len(&lengths);
    if total == 0 {
        bail!("gradient clipping needs at least one non-empty gradient");
    }
    if partials.bytes() < 4 * total {
        bail!(
            "gradient clipping needs {total} partial sums but the partials buffer holds {}",
            partials.bytes() / 4
        );
    }
    need("gradient clipping", &[("clip", clip, 2)])?;
    for (i, &(grad, n)) in grads.iter().enumerate() {
        need(
            "gradient clipping",
            &[(&format!("gradient {i}"), grad, n as u64)],
        )?;
    }
    let mut offset = 0u64;
    for &(grad, n) in grads {
        let groups = (n as u64).div_ceil(CHUNK);
        if groups == 0 {
            continue;
        }
        let params = NormParams {
            n,
            offset: offset as u32,
            max_norm,
            _pad: 0,
        };
        batch.dispatch(
            Kernel::new("grad_norm", "sumsq_partial"),
            &params,
            &[grad, partials],
            Groups::Linear(groups),
        )?;
        offset += groups;
    }
    let params = NormParams {
        n: total as u32,
        offset: 0,
        max_norm,
        _pad: 0,
    };
    batch.dispatch(
        Kernel::new("grad_norm", "clip_scale"),
        &params,
        &[partials, clip],
        Groups::Linear(1),
    )?;
    Ok(())
}

/// Read the global gradient norm that [`clip_grad_norm`] wrote into `clip` (for logging).
pub fn read_grad_norm(gpu: &Gpu, clip: &GpuBuffer) -> Result<f32> {
    Ok(gpu.read::<f32>(clip)?[0])
}
