//! Launchers for scaled-dot-product attention: the fused flash-attention forward
//! (`shaders/attention.wgsl`) and backward (`shaders/attention_backward.wgsl`), and the unfused
//! path with the score matrix in global memory (`shaders/attention_unfused.wgsl` and
//! `shaders/attention_unfused_backward.wgsl`), kept as reference and benchmark baseline.
//!
//! Layout everywhere: q, o are (B, H, Tq, D); k, v are (B, H, Tk, D); lse is (B, H, Tq); the
//! optional key padding mask is (B, Tk) u32 with nonzero = key present. Rows whose keys are
//! all masked produce o = 0 and receive no gradient.

use anyhow::{Result, bail};
use bytemuck::{Pod, Zeroable};

use super::check::{need, storage_buffers};
use crate::gpu::{Batch, GpuBuffer, Groups, Kernel};

/// Largest head dimension the fused kernels hold in registers.
pub const MAX_HEAD_DIM: u32 = 64;

/// Rows (queries or keys) owned by one workgroup of the fused kernels.
const ROWS_PER_GROUP: u32 = 64;

/// The dimensions of one attention call and its softmax scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttentionShape {
    /// Batch size B.
    pub batch: u32,
    /// Number of heads H.
    pub heads: u32,
    /// Query length Tq.
    pub tq: u32,
    /// Key/value length Tk (differs from Tq in cross-attention).
    pub tk: u32,
    /// Head dimension D (at most [`MAX_HEAD_DIM`]).
    pub head_dim: u32,
    /// Multiplier of q k^T before the softmax, usually 1 / sqrt(D).
    pub scale: f32,
}

impl AttentionShape {
    /// A shape with the usual scale 1 / sqrt(D).
    pub fn new(batch: u32, heads: u32, tq: u32, tk: u32, head_dim: u32) -> Self {
        Self {
            batch,
            heads,
            tq,
            tk,
            head_dim,
            scale: 1.0 / (head_dim.max(1) as f32).sqrt(),
        }
    }

    /// Floating-point operations of the forward pass (2 matmuls of Tq x Tk x D each).
    pub fn forward_flops(&self) -> f64 {
        4.0 * self.rows() as f64 * self.tk as f64 * self.head_dim as f64
    }

    /// Floating-point operations of the backward pass (recompute of P plus 4 matmuls).
    pub fn backward_flops(&self) -> f64 {
        2.5 * self.forward_flops()
    }

    /// B * H * Tq: the number of query rows.
    pub fn rows(&self) -> u32 {
        self.batch * self.heads * self.tq
    }

    /// Elements of q, o, dq: B * H * Tq * D.
    pub fn q_len(&self) -> u64 {
        self.rows() as u64 * self.head_dim as u64
    }

    /// Elements of k, v, dk, dv: B * H * Tk * D.
    pub fn kv_len(&self) -> u64 {
        (self.batch * self.heads) as u64 * self.tk as u64 * self.head_dim as u64
    }

    /// Elements of the unfused path's score matrix: B * H * Tq * Tk.
    pub fn scores_len(&self) -> u64 {
        self.rows() as u64 * self.tk as u64
    }

    fn check(&self, what: &str) -> Result<()> {
        let s = self;
        if s.batch == 0 || s.heads == 0 || s.tq == 0 || s.tk == 0 || s.head_dim == 0 {
            bail!("{what}: every dimension must be at least 1, got {s:?}");
        }
        if s.head_dim > MAX_HEAD_DIM {
            bail!(
                "{what}: head dimension {} exceeds the supported {MAX_HEAD_DIM}; use more heads",
                s.head_dim
            );
        }
        Ok(())
    }

    fn params(&self, mask: Option<&GpuBuffer>, stage: u32) -> Params {
        Params {
            b: self.batch,
            h: self.heads,
            tq: self.tq,
            tk: self.tk,
            d: self.head_dim,
            has_mask: mask.is_some() as u32,
            scale: self.scale,
            stage,
        }
    }

    fn grid(&self, len: u32) -> Groups {
        Groups::Grid([len.div_ceil(ROWS_PER_GROUP), self.batch * self.heads, 1])
    }
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    b: u32,
    h: u32,
    tq: u32,
    tk: u32,
    d: u32,
    has_mask: u32,
    scale: f32,
    stage: u32,
}

// ---------------------------------------------------------------------------- fused forward

/// Record the fused forward: `o = softmax(scale q k^T + mask) v` and the per-row logsumexp
/// `lse` that the backward pass needs. Without a mask every key is present.
#[allow(clippy::too_many_arguments)]
pub fn attention_forward(
    batch: &mut Batch,
    shape: AttentionShape,
    q: &GpuBuffer,
    k: &GpuBuffer,
    v: &GpuBuffer,
    mask: Option<&GpuBuffer>,
    o: &GpuBuffer,
    lse: &GpuBuffer,
) -> Result<()> {
    shape.check("attention forward")?;
    let (nq, nk, rows) = (shape.q_len(), shape.kv_len(), shape.rows() as u64);
    let mask_len = (shape.batch * shape.tk) as u64;
    need(
        "attention forward",
        &[
            ("q", q, nq),
            ("k", k, nk),
            ("v", v, nk),
            ("o", o, nq),
            ("lse", lse, rows),
        ],
    )?;
    if let Some(m) = mask {
        need("attention forward", &[("mask", m, mask_len)])?;
    }
    // The mask binding must be bound even when unused; q stands in (both are read-only).
    let m = mask.unwrap_or(q);
    batch.dispatch(
        Kernel::new("attention", "forward"),
        &shape.params(mask, 0),
        &[q, k, v, m, o, lse],
        shape.grid(shape.tq),
    )?;
    Ok(())
}

// --------------------------------------------------------------------------- fused backward

/// Record the fused backward from the forward's `o` and `lse` and the upstream gradient `d_o`:
/// writes `dq` (B, H, Tq, D), `dk`, `dv` (B, H, Tk, D); `delta` (B, H, Tq) is scratch.
#[allow(clippy::too_many_arguments)]
pub fn attention_backward(
    batch: &mut Batch,
    shape: AttentionShape,
    q: &GpuBuffer,
    k: &GpuBuffer,
    v: &GpuBuffer,
    mask: Option<&GpuBuffer>,
    o: &GpuBuffer,
    d_o: &GpuBuffer,
    lse: &GpuBuffer,
    delta: &GpuBuffer,
    grads: [&GpuBuffer; 3],
) -> Result<()> {
    shape.check("attention backward")?;
    let (nq, nk, rows) = (shape.q_len(), shape.kv_len(), shape.rows() as u64);
    let [dq, dk, dv] = grads;
    need(
        "attention backward",
        &[
            ("q", q, nq),
            ("k", k, nk),
            ("v", v, nk),
            ("o", o, nq),
            ("d_o", d_o, nq),
            ("lse", lse, rows),
            ("delta", delta, rows),
            ("dq", dq, nq),
            ("dk", dk, nk),
            ("dv", dv, nk),
        ],
    )?;
    if let Some(m) = mask {
        need(
            "attention backward",
            &[("mask", m, (shape.batch * shape.tk) as u64)],
        )?;
    }
    storage_buffers(batch.gpu(), "attention backward", 11)?;
    let m = mask.unwrap_or(q);
    let bufs = [q, k, v, m, o, d_o, lse, delta, dq, dk, dv];
    let kernel = Kernel::new("attention_backward", "backward");
    // delta first: both gradient stages read it.
    for (stage, len) in [(0, shape.tq), (1, shape.tk), (2, shape.tq)] {
        batch.dispatch(kernel, &shape.params(mask, stage), &bufs, shape.grid(len))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------- unfused path

/// Record the unfused forward: the scores go to `scores` (B, H, Tq, Tk) in global memory,
/// are softmaxed in place (so `scores` ends as the attention probabilities), then `o = P v`.
#[allow(clippy::too_many_arguments)]
pub fn attention_unfused(
    batch: &mut Batch,
    shape: AttentionShape,
    q: &GpuBuffer,
    k: &GpuBuffer,
    v: &GpuBuffer,
    mask: Option<&GpuBuffer>,
    scores: &GpuBuffer,
    o: &GpuBuffer,
    lse: &GpuBuffer,
) -> Result<()> {
    shape.check("unfused attention")?;
    let (nq, nk, rows) = (shape.q_len(), shape.kv_len(), shape.rows() as u64);
    need(
        "unfused attention",
        &[
            ("q", q, nq),
            ("k", k, nk),
            ("v", v, nk),
            ("scores", scores, shape.scores_len()),
            ("o", o, nq),
            ("lse", lse, rows),
        ],
    )?;
    if let Some(m) = mask {
        need(
            "unfused attention",
            &[("mask", m, (shape.batch * shape.tk) as u64)],
        )?;
    }
    let m = mask.unwrap_or(q);
    let rows = shape.rows() as u64;
    let kernel = Kernel::new("attention_unfused", "unfused");
    for (stage, n) in [
        (0, rows * shape.tk as u64),
        (1, rows),
        (2, rows * shape.head_dim as u64),
    ] {
        batch.dispatch(
            kernel,
            &shape.params(mask, stage),
            &[q, k, v, m, scores, o, lse],
            Groups::Linear(n.div_ceil(64)),
        )?;
    }
    Ok(())
}

/// Record the unfused backward from the probabilities `probs` (B, H, Tq, Tk) that
/// [`attention_unfused`] left in its `scores` buffer: writes `dq`, `dk`, `dv`; `ds`
/// (B, H, Tq, Tk) and `delta` (B, H, Tq) are scratch.
#[allow(clippy::too_many_arguments)]
pub fn attention_unfused_backward(
    batch: &mut Batch,
    shape: AttentionShape,
    q: &GpuBuffer,
    k: &GpuBuffer,
    v: &GpuBuffer,
    probs: &GpuBuffer,
    d_o: &GpuBuffer,
    ds: &GpuBuffer,
    delta: &GpuBuffer,
    grads: [&GpuBuffer; 3],
) -> Result<()> {
    shape.check("unfused attention backward")?;
    let [dq, dk, dv] = grads;
    let (nq, nk, ns) = (shape.q_len(), shape.kv_len(), shape.scores_len());
    need(
        "unfused attention backward",
        &[
            ("q", q, nq),
            ("k", k, nk),
            ("v", v, nk),
            ("probs", probs, ns),
            ("d_o", d_o, nq),
            ("ds", ds, ns),
            ("delta", delta, shape.rows() as u64),
            ("dq", dq, nq),
            ("dk", dk, nk),
            ("dv", dv, nk),
        ],
    )?;
    let rows = shape.rows() as u64;
    let (tk, d) = (shape.tk as u64, shape.head_dim as u64);
    let keys = (shape.batch * shape.heads) as u64 * tk;
    storage_buffers(batch.gpu(), "unfused attention backward", 10)?;
    let kernel = Kernel::new("attention_unfused_backward", "unfused_backward");
    for (stage, n) in [
        (0, rows * tk),
        (1, rows),
        (2, rows * tk),
        (3, rows * d),
        (4, keys * d),
    ] {
        batch.dispatch(
            kernel,
            &shape.params(None, stage),
            &[q, k, v, probs, d_o, ds, delta, dq, dk, dv],
            Groups::Linear(n.div_ceil(64)),
        )?;
    }
    Ok(())
}
