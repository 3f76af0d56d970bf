//! Attention as matmuls (CPU drivers from mid-sized scores, GPUs wherever the scores fit one
//! binding; see [`matmul_route`]): q, k, v padded heads-major to a multiple of 4 rows,
//! scores in global memory, the products on the fastest matmul and the row-wise softmax and
//! gradient terms in `shaders/attention_rows.wgsl`.

use crate::gpu::kernel_params;
use anyhow::{Result, bail};

use super::super::check::need;
use super::super::matmul::{MatmulDims, MatmulKernel, matmul};
use super::launch::AttentionShape;
use crate::gpu::{AttentionRoute, CommandBatch, GpuBuffer, Groups, Kernel};

/// Score-matrix size (Tq·Tk, padded) from which attention runs as matmuls on CPU drivers.
/// Measured with `bench train` on lavapipe: the tiny preset's VTC step (65 video tokens,
/// padded to 68; text of 16 to 32 tokens) takes 321-328 ms with the route against 401-448 ms
/// with the fused kernels, in alternating runs on one machine (BENCHMARKS.md).
pub const MATMUL_ROUTE_MIN_SCORES: u64 = 16 * 16;

/// The largest score matrix (bytes, padded) one attention call keeps in memory on the GPU
/// path: every layer keeps its probabilities until the backward, so 12 layers at this size
/// hold 3 GiB.
pub const GPU_ROUTE_MAX_SCORE_BYTES: u64 = 256 << 20;

/// Whether attention at `shape` runs as matmuls on `gpu` (see [`attention_matmul_forward`]),
/// which needs D a multiple of 4 and the padded score matrix within one storage binding
/// (sequences are padded to a multiple of 4, [`pad_heads`]):
/// - with the CPU-driver kernels, from score matrices of [`MATMUL_ROUTE_MIN_SCORES`]: there
///   the register-blocked kernel's workgroup-memory reads cost most and the subgroup matmul
///   is several times faster;
/// - with the GPU kernels, while the scores take at most [`GPU_ROUTE_MAX_SCORE_BYTES`]. The
///   fused kernels keep per-thread arrays indexed at run time (`attention.wgsl`: two
///   64-vec4 arrays and 128 floats a thread; the backward four 64-vec4 arrays, over NVIDIA's
///   255 registers), which GPUs spill to memory, while the route is SGEMM products (no
///   per-thread arrays, the GPU matmul's tiles) around a row-wise softmax. Its price is the
///   probabilities kept for the backward, B·H·Tq·Tk floats a layer: 120 MB for `small` at
///   batch 32 (393 video tokens), 3.8 GB for `base` (1569 tokens), which takes the fused
///   kernels instead.
///
/// `LOCOMOTION_ATTENTION=blocked|rows` keeps the fused kernels, `=matmul` takes this route
/// wherever D and the binding size allow.
pub fn matmul_route(gpu: &crate::gpu::Gpu, shape: &AttentionShape) -> bool {
    let padded = padded(shape);
    let fits = shape.head_dim.is_multiple_of(4)
        && 4 * padded.scores_len() <= gpu.limits.max_storage_buffer_binding_size;
    match gpu.attention.route {
        AttentionRoute::Blocked | AttentionRoute::Rows => false,
        AttentionRoute::Matmul => fits,
        AttentionRoute::Auto if !gpu.cpu_kernels() => {
            fits && 4 * padded.scores_len() <= GPU_ROUTE_MAX_SCORE_BYTES
        }
        AttentionRoute::Auto => {
            fits && padded.tq as u64 * padded.tk as u64 >= MATMUL_ROUTE_MIN_SCORES
        }
    }
}

/// The heads-major shape the matmul route computes on: Tq and Tk padded to multiples of 4.
pub fn padded(shape: &AttentionShape) -> AttentionShape {
    AttentionShape {
        tq: shape.tq.next_multiple_of(4),
        tk: shape.tk.next_multiple_of(4),
        tokens_major: false,
        ..*shape
    }
}

kernel_params! {
    pub(crate) struct PadParams for ["attention_pad"] {
        b: u32,
        h: u32,
        t: u32,
        t4: u32,
        d: u32,
        tokens_major: u32,
        _pad: [u32; 2],
    }
}

/// Record `y` (B, H, T4, D) = `x` with zero rows from T on (`attention_pad.wgsl`); `x` is
/// (B, T, H, D) when `tokens_major`, else (B, H, T, D). `dims` = [B, H, T, T4, D], D a
/// multiple of 4.
pub fn pad_heads(
    batch: &mut CommandBatch,
    x: &GpuBuffer,
    y: &GpuBuffer,
    dims: [u32; 5],
    tokens_major: bool,
) -> Result<()> {
    pad_dispatch(batch, "pad", x, y, dims, tokens_major, dims[3])
}

/// Record the inverse of [`pad_heads`]: `y` = `x` (B, H, T4, D) without its padding rows.
pub fn unpad_heads(
    batch: &mut CommandBatch,
    x: &GpuBuffer,
    y: &GpuBuffer,
    dims: [u32; 5],
    tokens_major: bool,
) -> Result<()> {
    pad_dispatch(batch, "unpad", x, y, dims, tokens_major, dims[2])
}

fn pad_dispatch(
    batch: &mut CommandBatch,
    entry: &'static str,
    x: &GpuBuffer,
    y: &GpuBuffer,
    [b, h, t, t4, d]: [u32; 5],
    tokens_major: bool,
    rows: u32,
) -> Result<()> {
    if t4 < t || !d.is_multiple_of(4) {
        bail!("attention padding: {t4} padded rows for {t} rows of D = {d} (a multiple of 4)");
    }
    let (n, np) = (
        b as u64 * h as u64 * t as u64 * d as u64,
        b as u64 * h as u64 * t4 as u64 * d as u64,
    );
    let (nx, ny) = if entry == "pad" { (n, np) } else { (np, n) };
    need("attention padding", &[("x", x, nx), ("y", y, ny)])?;
    let total = b as u64 * h as u64 * rows as u64;
    batch.dispatch(
        Kernel::new("attention_pad", entry),
        &PadParams {
            b,
            h,
            t,
            t4,
            d,
            tokens_major: tokens_major as u32,
            _pad: [0; 2],
        },
        &[x, y],
        Groups::Linear(total.div_ceil(64)),
    )?;
    Ok(())
}

/// The dims of one per-head product of the matmul route: (B·H) products of (m, k) by (k, n).
fn per_head(shape: &AttentionShape, m: u32, n: u32, k: u32, ta: bool, tb: bool) -> MatmulDims {
    MatmulDims {
        m,
        n,
        k,
        batch: shape.batch * shape.heads,
        trans_a: ta,
        trans_b: tb,
        shared_a: false,
        shared_b: false,
    }
}

fn product(
    batch: &mut CommandBatch,
    d: MatmulDims,
    a: &GpuBuffer,
    b: &GpuBuffer,
    c: &GpuBuffer,
) -> Result<()> {
    let kernel = MatmulKernel::pick(batch.gpu(), &d);
    matmul(batch, kernel, d, a, b, None, c, false)?;
    Ok(())
}

/// Record attention as matmuls with the scores in global memory (heads-major (B, H, T, D)
/// buffers only; Tk and D multiples of 4): s = q k^T, scaled, masked and softmaxed row by
/// row (`attention_rows.wgsl`) into the probabilities P (left in `scores`, which the
/// backward reads) with `lse`, then o = P v. Keys from `keys` on are padding ([`pad_heads`]:
/// zero rows of k and v) and count as masked; `mask`, if any, is (B, keys). Padded query rows
/// (zero) give rows of o that [`unpad_heads`] drops. The products run on the fastest matmul
/// ([`MatmulKernel::pick`]); the same results as the fused kernels up to rounding (one
/// softmax over the whole row instead of online over tiles of 32 keys).
#[allow(clippy::too_many_arguments)]
pub fn attention_matmul_forward(
    batch: &mut CommandBatch,
    shape: AttentionShape,
    q: &GpuBuffer,
    k: &GpuBuffer,
    v: &GpuBuffer,
    mask: Option<&GpuBuffer>,
    keys: u32,
    scores: &GpuBuffer,
    o: &GpuBuffer,
    lse: &GpuBuffer,
) -> Result<()> {
    shape.check("attention as matmuls")?;
    if keys == 0 || keys > shape.tk {
        bail!(
            "attention as matmuls: {keys} keys present of Tk = {}",
            shape.tk
        );
    }
    shape.heads_major_only("attention as matmuls")?;
    let (nq, rows) = (shape.q_len(), shape.rows() as u64);
    shape.need(
        "attention as matmuls",
        [q, k, v],
        &[
            ("scores", scores, shape.scores_len()),
            ("o", o, nq),
            ("lse", lse, rows),
        ],
        None,
        mask.map(|m| (m, keys)),
    )?;
    if !shape.tk.is_multiple_of(4) || !shape.head_dim.is_multiple_of(4) {
        bail!("attention as matmuls: Tk and D must be multiples of 4, got {shape:?}");
    }
    let s = &shape;
    product(
        batch,
        per_head(s, s.tq, s.tk, s.head_dim, false, true),
        q,
        k,
        scores,
    )?;
    // The mask binding must be bound even when unused; q stands in (read-only).
    let m = mask.unwrap_or(q);
    batch.dispatch(
        Kernel::new("attention_rows", "softmax"),
        &shape.params_with_keys(mask, keys),
        &[m, scores, lse],
        Groups::Linear(rows.div_ceil(64)),
    )?;
    product(
        batch,
        per_head(s, s.tq, s.head_dim, s.tk, false, false),
        scores,
        v,
        o,
    )
}

/// The backward of [`attention_matmul_forward`] from its probabilities `probs`, output `o`
/// and the upstream gradient `d_o`: dP = do v^T (into `ds`), delta = rowsum(do * o), dS =
/// scale * P * (dP - delta), then dq = dS k, dk = dS^T q, dv = P^T do. `ds` (B, H, Tq, Tk)
/// and `delta` (B, H, Tq) are scratch.
#[allow(clippy::too_many_arguments)]
pub fn attention_matmul_backward(
    batch: &mut CommandBatch,
    shape: AttentionShape,
    q: &GpuBuffer,
    k: &GpuBuffer,
    v: &GpuBuffer,
    probs: &GpuBuffer,
    o: &GpuBuffer,
    d_o: &GpuBuffer,
    ds: &GpuBuffer,
    delta: &GpuBuffer,
    grads: [&GpuBuffer; 3],
) -> Result<()> {
    shape.check("attention as matmuls, backward")?;
    shape.heads_major_only("attention as matmuls, backward")?;
    let (nq, ns, rows) = (shape.q_len(), shape.scores_len(), shape.rows() as u64);
    shape.need(
        "attention as matmuls, backward",
        [q, k, v],
        &[
            ("probs", probs, ns),
            ("o", o, nq),
            ("d_o", d_o, nq),
            ("ds", ds, ns),
            ("delta", delta, rows),
        ],
        Some(grads),
        None,
    )?;
    let [dq, dk, dv] = grads;
    if !shape.tk.is_multiple_of(4) || !shape.head_dim.is_multiple_of(4) {
        bail!("attention as matmuls, backward: Tk and D must be multiples of 4, got {shape:?}");
    }
    let s = &shape;
    let (tq, tk, d) = (s.tq, s.tk, s.head_dim);
    product(batch, per_head(s, tq, tk, d, false, true), d_o, v, ds)?;
    let rows_kernel = |entry| Kernel::new("attention_rows", entry);
    batch.dispatch(
        rows_kernel("delta_rows"),
        &shape.params(None, 0),
        &[o, d_o, delta],
        Groups::Linear(rows.div_ceil(64)),
    )?;
    batch.dispatch(
        rows_kernel("dscores"),
        &shape.params(None, 0),
        &[probs, ds, delta],
        Groups::Linear((ns / 4).div_ceil(64)),
    )?;
    product(batch, per_head(s, tq, d, tk, false, false), ds, k, dq)?;
    product(batch, per_head(s, tk, d, tq, true, false), ds, q, dk)?;
    product(batch, per_head(s, tk, d, tq, true, false), probs, d_o, dv)
}
