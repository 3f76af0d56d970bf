//! Launchers for scaled-dot-product attention: the fused flash-attention forward
//! (`shaders/attention.wgsl`) and backward (`shaders/attention_backward.wgsl`). The unfused
//! path, kept as reference and benchmark baseline, is in `ops/dev/attention_unfused.rs`.
//!
//! Layout everywhere: q, o are (B, H, Tq, D); k, v are (B, H, Tk, D); lse is (B, H, Tq); the
//! optional key padding mask is (B, Tk) u32 with nonzero = key present. Rows whose keys are
//! all masked produce o = 0 and receive no gradient.

use crate::gpu::kernel_params;
use anyhow::{Result, bail};

use super::super::check::{need, storage_buffers};
use crate::gpu::{AttentionRoute, CommandBatch, GpuBuffer, Groups, Kernel};

/// Largest head dimension the fused kernels hold in registers.
pub const MAX_HEAD_DIM: u32 = 64;

/// Which fused-attention variant runs. Both compute every row with the same operations in
/// the same order, so they agree bit for bit; they differ in how rows map to threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttentionKernel {
    /// For CPU drivers: each key or query vec4 read from workgroup memory feeds several rows
    /// (forward: 16 threads x 4 query rows; backward: 32 threads x 2 rows).
    Blocked,
    /// For GPUs: 64 threads, one row each, no large per-thread register arrays.
    Rows,
}

impl AttentionKernel {
    /// The variant for `gpu`'s kernel choice ([`crate::gpu::Kernels`]);
    /// `LOCOMOTION_ATTENTION=blocked|rows` overrides it ([`crate::gpu::AttentionChoice`]).
    pub fn pick(gpu: &crate::gpu::Gpu) -> Self {
        match gpu.attention.route {
            AttentionRoute::Blocked => AttentionKernel::Blocked,
            AttentionRoute::Rows => AttentionKernel::Rows,
            _ if gpu.cpu_kernels() => AttentionKernel::Blocked,
            _ => AttentionKernel::Rows,
        }
    }

    /// (threads per workgroup, rows per thread) of the forward kernel for `shape`. Short
    /// sequences take 8-thread workgroups (32 rows), so that a workgroup computes few rows
    /// past the end (at 65 tokens, 96 instead of 128); long ones 16 threads, which read each
    /// key tile for more rows (measured on lavapipe, BENCHMARKS.md).
    fn forward_block(self, gpu: &crate::gpu::Gpu, shape: &AttentionShape) -> (u32, u32) {
        if let Some(b) = gpu.attention.blocks {
            return (b[0], b[1]);
        }
        match self {
            AttentionKernel::Blocked if shape.tq <= SHORT => (8, 4),
            AttentionKernel::Blocked => (16, 4),
            AttentionKernel::Rows => (64, 1),
        }
    }

    /// (threads per workgroup, rows per thread) of the backward kernel for `shape` (as the
    /// forward: short sequences in 32-row workgroups, long ones 32 threads of 2 rows).
    fn backward_block(self, gpu: &crate::gpu::Gpu, shape: &AttentionShape) -> (u32, u32) {
        if let Some(b) = gpu.attention.blocks {
            return (b[2], b[3]);
        }
        match self {
            AttentionKernel::Blocked if shape.tq.max(shape.tk) <= SHORT => (8, 4),
            AttentionKernel::Blocked => (32, 2),
            AttentionKernel::Rows => (64, 1),
        }
    }
}

/// Sequences up to this length count as short for the CPU blocks.
const SHORT: u32 = 128;

/// Rows of the backward kernel's tiles that fit `limit` bytes of workgroup memory with a head
/// dimension of `dv` vec4s (two tiles of vec4 rows plus two floats a row).
fn backward_tile(dv: u32, limit: u32) -> Option<u32> {
    [32_u32, 16, 8, 4]
        .into_iter()
        .find(|&bc| 2 * bc * dv * 16 + 2 * bc * 4 <= limit)
}

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
    /// q, o, k, v (and their gradients) are (B, T, H, D), the layout a linear layer writes,
    /// instead of (B, H, T, D).
    pub tokens_major: bool,
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
            tokens_major: false,
        }
    }

    /// The same shape over (B, T, H, D) tensors (heads interleaved in each token's row).
    pub fn tokens_major(self) -> Self {
        Self {
            tokens_major: true,
            ..self
        }
    }

    /// The head dimension in vec4s, ceil(D / 4): what the fused kernels compute over.
    fn dv(&self) -> u32 {
        self.head_dim.div_ceil(4)
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

    pub(crate) fn check(&self, what: &str) -> Result<()> {
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

    /// Fail unless q, k, v hold this shape's elements, then each of `rest` (name, buffer,
    /// elements), then the gradients dq, dk, dv if any, then the key mask, if any, its
    /// (B, keys) values.
    pub(crate) fn need(
        &self,
        what: &str,
        [q, k, v]: [&GpuBuffer; 3],
        rest: &[(&str, &GpuBuffer, u64)],
        grads: Option<[&GpuBuffer; 3]>,
        mask: Option<(&GpuBuffer, u32)>,
    ) -> Result<()> {
        let (nq, nk) = (self.q_len(), self.kv_len());
        need(what, &[("q", q, nq), ("k", k, nk), ("v", v, nk)])?;
        need(what, rest)?;
        if let Some([dq, dk, dv]) = grads {
            need(what, &[("dq", dq, nq), ("dk", dk, nk), ("dv", dv, nk)])?;
        }
        if let Some((m, keys)) = mask {
            need(what, &[("mask", m, (self.batch * keys) as u64)])?;
        }
        Ok(())
    }

    /// Fail when the shape asks for the (B, T, H, D) layout of a route that reads
    /// (B, H, T, D) only.
    pub(crate) fn heads_major_only(&self, what: &str) -> Result<()> {
        if self.tokens_major {
            bail!("{what}: only the (B, H, T, D) layout");
        }
        Ok(())
    }

    /// The kernels' parameters; keys from `keys` on count as padding (the matmul route pads
    /// them; the fused kernels have none: [`AttentionShape::params`]).
    pub(super) fn params_with_keys(&self, mask: Option<&GpuBuffer>, keys: u32) -> Params {
        Params {
            keys,
            ..self.params(mask, 0)
        }
    }

    pub(crate) fn params(&self, mask: Option<&GpuBuffer>, stage: u32) -> Params {
        Params {
            b: self.batch,
            h: self.heads,
            tq: self.tq,
            tk: self.tk,
            d: self.head_dim,
            has_mask: mask.is_some() as u32,
            scale: self.scale,
            stage,
            tokens_major: self.tokens_major as u32,
            keys: self.tk,
            _pad: [0; 2],
        }
    }

    pub(crate) fn grid(&self, len: u32, rows_per_group: u32) -> Groups {
        Groups::Grid([len.div_ceil(rows_per_group), self.batch * self.heads, 1])
    }
}

kernel_params! {
    pub(crate) struct Params for [
        "attention",
        "attention_backward",
        "attention_rows",
        "attention_unfused",
        "attention_unfused_backward",
    ] {
        b: u32,
        h: u32,
        tq: u32,
        tk: u32,
        d: u32,
        has_mask: u32,
        scale: f32,
        stage: u32,
        tokens_major: u32,
        /// Keys from this one on are padding (the matmul route's rows kernels; Tk elsewhere).
        keys: u32,
        _pad: [u32; 2],
    }
}

// ---------------------------------------------------------------------------- fused forward

/// Record the fused forward: `o = softmax(scale q k^T + mask) v` and the per-row logsumexp
/// `lse` that the backward pass needs. Without a mask every key is present.
#[allow(clippy::too_many_arguments)]
pub fn attention_forward(
    batch: &mut CommandBatch,
    shape: AttentionShape,
    q: &GpuBuffer,
    k: &GpuBuffer,
    v: &GpuBuffer,
    mask: Option<&GpuBuffer>,
    o: &GpuBuffer,
    lse: &GpuBuffer,
) -> Result<()> {
    shape.check("attention forward")?;
    let (nq, rows) = (shape.q_len(), shape.rows() as u64);
    shape.need(
        "attention forward",
        [q, k, v],
        &[("o", o, nq), ("lse", lse, rows)],
        None,
        mask.map(|m| (m, shape.tk)),
    )?;
    batch.gpu().counters.flops(shape.forward_flops());
    // The mask binding must be bound even when unused; q stands in (both are read-only).
    let m = mask.unwrap_or(q);
    let which = AttentionKernel::pick(batch.gpu());
    let (tpw, r) = which.forward_block(batch.gpu(), &shape);
    // Two key tiles of 32 rows: 16 KiB at D = 64, WebGPU's minimum.
    let (need, limit) = (
        2 * 32 * shape.dv() * 16,
        batch.gpu().limits.max_compute_workgroup_storage_size,
    );
    if need > limit {
        bail!("attention forward: needs {need} bytes of workgroup memory, the adapter has {limit}");
    }
    let kernel = Kernel::new("attention", "forward")
        .with("TPW", tpw)
        .with("DV", shape.dv())
        .with("R", r);
    batch.dispatch(
        kernel,
        &shape.params(mask, 0),
        &[q, k, v, m, o, lse],
        shape.grid(shape.tq, tpw * r),
    )?;
    Ok(())
}

// --------------------------------------------------------------------------- fused backward

/// Record the fused backward from the forward's `o` and `lse` and the upstream gradient `d_o`:
/// writes `dq` (B, H, Tq, D), `dk`, `dv` (B, H, Tk, D); `delta` (B, H, Tq) is scratch.
#[allow(clippy::too_many_arguments)]
pub fn attention_backward(
    batch: &mut CommandBatch,
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
    let (nq, rows) = (shape.q_len(), shape.rows() as u64);
    shape.need(
        "attention backward",
        [q, k, v],
        &[
            ("o", o, nq),
            ("d_o", d_o, nq),
            ("lse", lse, rows),
            ("delta", delta, rows),
        ],
        Some(grads),
        mask.map(|m| (m, shape.tk)),
    )?;
    let [dq, dk, dv] = grads;
    storage_buffers(batch.gpu(), "attention backward", 11)?;
    batch.gpu().counters.flops(shape.backward_flops());
    let m = mask.unwrap_or(q);
    let bufs = [q, k, v, m, o, d_o, lse, delta, dq, dk, dv];
    let which = AttentionKernel::pick(batch.gpu());
    let (tpw, r) = which.backward_block(batch.gpu(), &shape);
    // The tile is what fits the adapter's workgroup memory (16 KiB is WebGPU's minimum).
    let limit = batch.gpu().limits.max_compute_workgroup_storage_size;
    let Some(bc) = backward_tile(shape.dv(), limit) else {
        bail!("attention backward: {limit} bytes of workgroup memory are too few");
    };
    let kernel = Kernel::new("attention_backward", "backward")
        .with("TPW", tpw)
        .with("BC", bc)
        .with("DV", shape.dv())
        .with("R", r);
    // delta first: both gradient stages read it.
    for (stage, len) in [(0, shape.tq), (1, shape.tk), (2, shape.tq)] {
        let groups = shape.grid(len, tpw * r);
        batch.dispatch(kernel, &shape.params(mask, stage), &bufs, groups)?;
    }
    Ok(())
}
