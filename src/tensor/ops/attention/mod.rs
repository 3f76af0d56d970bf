//! Scaled-dot-product attention on the tape: the tape ops ([`attention`], [`attention_masked`],
//! [`attention_tokens`]) and their backward rules, over two routes with the same numbers up to
//! rounding: the fused flash-attention kernels ([`launch`]) and attention as matmuls
//! ([`matmul_route`], where [`matmul_route()`] says). The forward saves what its backward
//! needs (fused: o and lse; matmul route: the probabilities and padded copies).

use crate::gpu::{CommandBatch, GpuBuffer, GpuError};
use crate::tensor::{Result, Shape, Tape, Tensor, TensorError};

use super::{launch_err, shape_err, storage};

pub mod launch;
pub(crate) mod matmul_route;

pub use launch::{
    AttentionKernel, AttentionShape, MAX_HEAD_DIM, attention_backward, attention_forward,
};
pub use matmul_route::{
    GPU_ROUTE_MAX_SCORE_BYTES, MATMUL_ROUTE_MIN_SCORES, attention_matmul_backward,
    attention_matmul_forward, matmul_route, pad_heads, padded, unpad_heads,
};

/// Scaled-dot-product attention `softmax(q k^T / sqrt(D) + mask) v` on the tape.
/// q is (B, H, Tq, D); k, v are (B, H, Tk, D); `mask` is (B, Tk) with nonzero = key present
/// (padding keys are 0). Output (B, H, Tq, D). Fused kernels or matmuls, as
/// [`matmul_route()`] says; the backward takes the same route.
pub fn attention(
    tape: &Tape,
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&[u32]>,
) -> Result<Tensor> {
    attention_masked(tape, q, k, v, mask.map(KeyMask::Host))
}

/// A key padding mask (B, Tk), nonzero = key present: host values (uploaded) or a buffer
/// already on the GPU (e.g. gathered there), so no host round trip is needed.
#[derive(Clone, Copy)]
pub enum KeyMask<'a> {
    /// Values on the host.
    Host(&'a [u32]),
    /// A u32 buffer on the GPU holding at least B·Tk values.
    Gpu(&'a GpuBuffer),
}

/// [`attention`] with the key mask given as a [`KeyMask`].
pub fn attention_masked(
    tape: &Tape,
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<KeyMask>,
) -> Result<Tensor> {
    for t in [q, k, v] {
        t.expect_f32("attention")?;
    }
    let (qd, kd) = (q.shape().dims(), k.shape().dims());
    if qd.len() != 4 || kd.len() != 4 {
        return Err(shape_err("attention", q, k, "q and k must be (B, H, T, D)"));
    }
    if qd[0] != kd[0] || qd[1] != kd[1] || qd[3] != kd[3] {
        return Err(shape_err("attention", q, k, "B, H and D must agree"));
    }
    if v.shape() != k.shape() {
        return Err(shape_err("attention", k, v, "k and v must be equal"));
    }
    let s = AttentionShape::new(
        qd[0] as u32,
        qd[1] as u32,
        qd[2] as u32,
        kd[2] as u32,
        qd[3] as u32,
    );
    attention_on_tape(tape, s, [q, k, v], mask, q.shape().clone())
}

/// The sizes of an attention over token rows (see [`attention_tokens`]).
#[derive(Debug, Clone, Copy)]
pub struct TokenAttention {
    /// Batch B.
    pub batch: usize,
    /// Query tokens per sequence Lq.
    pub lq: usize,
    /// Key tokens per sequence Lk.
    pub lk: usize,
    /// Heads H (they split each row's width W into H slices of W / H).
    pub heads: usize,
}

/// Multi-head attention straight over the rows a linear layer writes: q `[B·Lq, W]`, k and v
/// `[B·Lk, W]`, each row holding the H heads side by side; output `[B·Lq, W]` in the same
/// layout. The same kernels and numbers as [`attention_masked`] over the heads split out,
/// without the two permutes (and their gradients) around it.
pub fn attention_tokens(
    tape: &Tape,
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    a: TokenAttention,
    mask: Option<KeyMask>,
) -> Result<Tensor> {
    for t in [q, k, v] {
        t.expect_f32("attention")?;
    }
    let w = q.shape().last();
    if a.heads == 0 || !w.is_multiple_of(a.heads) {
        return Err(shape_err(
            "attention",
            q,
            k,
            "the heads must divide the width",
        ));
    }
    if q.shape().dims() != [a.batch * a.lq, w] || k.shape().dims() != [a.batch * a.lk, w] {
        return Err(shape_err(
            "attention",
            q,
            k,
            "q must be [B·Lq, W] and k [B·Lk, W]",
        ));
    }
    if v.shape() != k.shape() {
        return Err(shape_err("attention", k, v, "k and v must be equal"));
    }
    let s = AttentionShape::new(
        a.batch as u32,
        a.heads as u32,
        a.lq as u32,
        a.lk as u32,
        (w / a.heads) as u32,
    )
    .tokens_major();
    attention_on_tape(tape, s, [q, k, v], mask, q.shape().clone())
}

/// Attention over `qkv` as `s` describes, on the tape with its backward: the fused kernels,
/// or the matmul route ([`matmul_attention`]) where [`matmul_route()`] takes it.
fn attention_on_tape(
    tape: &Tape,
    s: AttentionShape,
    [q, k, v]: [&Tensor; 3],
    mask: Option<KeyMask>,
    out_shape: Shape,
) -> Result<Tensor> {
    let gpu = tape.gpu().clone();
    let (b, tk) = (s.batch as usize, s.tk as usize);
    let mask_len = b * tk;
    let wrong = |len: usize| TensorError::Length {
        what: "attention key mask (B, Tk)".into(),
        len,
        shape: Shape(vec![b, tk]).to_string(),
    };
    let mut batch = CommandBatch::new(&gpu);
    let mask = match mask {
        Some(KeyMask::Host(m)) if m.len() != mask_len => return Err(wrong(m.len())),
        Some(KeyMask::Host(m)) => Some(gpu.upload(m, "attention mask")?),
        Some(KeyMask::Gpu(m)) if m.bytes() < 4 * mask_len as u64 => {
            return Err(wrong((m.bytes() / 4) as usize));
        }
        // The backward rule outlives the caller's buffer: it keeps a device-side copy.
        Some(KeyMask::Gpu(m)) => {
            let c = storage(&gpu, mask_len, "attention mask")?;
            batch.copy(m, &c, 4 * mask_len as u64);
            Some(c)
        }
        None => None,
    };
    if matmul_route(&gpu, &s) {
        return matmul_attention(tape, batch, s, [q, k, v], mask, out_shape);
    }
    let (nq, rows) = (s.q_len() as usize, s.rows() as usize);
    let o = storage(&gpu, nq, "attention out")?;
    let lse = storage(&gpu, rows, "attention lse")?;
    let wants = tape.wants(&[q, k, v]);
    attention_forward(
        &mut batch,
        s,
        q.buffer(),
        k.buffer(),
        v.buffer(),
        mask.as_ref(),
        &o,
        &lse,
    )
    .map_err(launch_err)?;
    // The output tensor owns `o`; the rule keeps its own copy for the backward's delta term.
    let saved_o = if wants {
        let c = storage(&gpu, nq, "attention saved out")?;
        batch.copy(&o, &c, 4 * nq as u64);
        Some(c)
    } else {
        None
    };
    batch.submit();
    Ok(
        tape.record("attention", o, out_shape, &[q, k, v], move |b, ins, d_o| {
            let saved_o = saved_o.as_ref().expect("a recorded rule saved o");
            let nk = s.kv_len() as usize;
            let g = b.gpu().clone();
            let (dq, dk, dv) = (
                storage(&g, nq, "attention dq")?,
                storage(&g, nk, "attention dk")?,
                storage(&g, nk, "attention dv")?,
            );
            let delta = storage(&g, rows, "attention delta")?;
            attention_backward(
                b,
                s,
                ins[0].buffer(),
                ins[1].buffer(),
                ins[2].buffer(),
                mask.as_ref(),
                saved_o,
                d_o,
                &lse,
                &delta,
                [&dq, &dk, &dv],
            )
            .map_err(launch_err)?;
            b.retain(delta);
            Ok(vec![Some(dq), Some(dk), Some(dv)])
        }),
    )
}

/// [`attention_on_tape`] as matmuls ([`attention_matmul_forward`]; where: [`matmul_route`]):
/// q, k, v are copied heads-major with Tq and Tk padded to multiples of 4 ([`pad_heads`];
/// no copy for heads-major inputs already a multiple of 4), and the rule keeps the
/// probabilities and the copies for the backward, whose gradients go back to the inputs'
/// layout ([`unpad_heads`]).
fn matmul_attention(
    tape: &Tape,
    mut batch: CommandBatch<'_>,
    s: AttentionShape,
    [q, k, v]: [&Tensor; 3],
    mask: Option<GpuBuffer>,
    out_shape: Shape,
) -> Result<Tensor> {
    let gpu = tape.gpu().clone();
    let hs = padded(&s);
    let (b, h, d) = (s.batch, s.heads, s.head_dim);
    let tm = s.tokens_major;
    let (q_dims, k_dims) = ([b, h, s.tq, hs.tq, d], [b, h, s.tk, hs.tk, d]);
    let copy_q = tm || hs.tq != s.tq;
    let copy_k = tm || hs.tk != s.tk;
    let len = |[b, h, _, t4, d]: [u32; 5]| (b * h * t4 * d) as usize;
    // The padded heads-major copy of x, or nothing where x already is one.
    let to_heads = |batch: &mut CommandBatch, x: &GpuBuffer, dims: [u32; 5], copy: bool| {
        if !copy {
            return Ok::<_, TensorError>(None);
        }
        let y = storage(batch.gpu(), len(dims), "attention heads")?;
        pad_heads(batch, x, &y, dims, tm).map_err(launch_err)?;
        Ok(Some(y))
    };
    let (qh, kh, vh) = (
        to_heads(&mut batch, q.buffer(), q_dims, copy_q)?,
        to_heads(&mut batch, k.buffer(), k_dims, copy_k)?,
        to_heads(&mut batch, v.buffer(), k_dims, copy_k)?,
    );
    let (nq, rows, ns) = (len(q_dims), hs.rows() as usize, hs.scores_len() as usize);
    let probs = storage(&gpu, ns, "attention probabilities")?;
    let lse = storage(&gpu, rows, "attention lse")?;
    let oh = storage(&gpu, nq, "attention out")?;
    attention_matmul_forward(
        &mut batch,
        hs,
        qh.as_ref().unwrap_or(q.buffer()),
        kh.as_ref().unwrap_or(k.buffer()),
        vh.as_ref().unwrap_or(v.buffer()),
        mask.as_ref(),
        s.tk,
        &probs,
        &oh,
        &lse,
    )
    .map_err(launch_err)?;
    // The rule keeps o padded heads-major for delta = rowsum(do * o); the output tensor owns
    // its own copy in the inputs' layout.
    let o = storage(&gpu, q.numel(), "attention out")?;
    if copy_q {
        unpad_heads(&mut batch, &oh, &o, q_dims, tm).map_err(launch_err)?;
    } else {
        batch.copy(&oh, &o, 4 * nq as u64);
    }
    batch.retain(lse);
    batch.submit();
    let wants = tape.wants(&[q, k, v]);
    let saved = wants.then_some((probs, oh, qh, kh, vh));
    let (nq_in, nk_in) = (q.numel(), k.numel());
    Ok(tape.record(
        "attention",
        o,
        out_shape,
        &[q, k, v],
        move |bt, ins, d_o| {
            let (probs, oh, qh, kh, vh) = saved.as_ref().expect("a recorded rule saved P");
            let g = bt.gpu().clone();
            let doh = if copy_q {
                let y = storage(&g, nq, "attention heads")?;
                pad_heads(bt, d_o, &y, q_dims, tm).map_err(launch_err)?;
                Some(y)
            } else {
                None
            };
            let nk = len(k_dims);
            let (dqh, dkh, dvh) = (
                storage(&g, nq, "attention dq")?,
                storage(&g, nk, "attention dk")?,
                storage(&g, nk, "attention dv")?,
            );
            let ds = storage(&g, ns, "attention ds")?;
            let delta = storage(&g, rows, "attention delta")?;
            attention_matmul_backward(
                bt,
                hs,
                qh.as_ref().unwrap_or(ins[0].buffer()),
                kh.as_ref().unwrap_or(ins[1].buffer()),
                vh.as_ref().unwrap_or(ins[2].buffer()),
                probs,
                oh,
                doh.as_ref().unwrap_or(d_o),
                &ds,
                &delta,
                [&dqh, &dkh, &dvh],
            )
            .map_err(launch_err)?;
            bt.retain(ds);
            bt.retain(delta);
            if let Some(y) = doh {
                bt.retain(y);
            }
            // Back to the inputs' layout and length.
            let mut back = |x: GpuBuffer,
                            n: usize,
                            dims: [u32; 5],
                            copy: bool|
             -> std::result::Result<GpuBuffer, GpuError> {
                if !copy {
                    return Ok(x);
                }
                let y = storage(&g, n, "attention grad")?;
                unpad_heads(bt, &x, &y, dims, tm).map_err(launch_err)?;
                bt.retain(x);
                Ok(y)
            };
            Ok(vec![
                Some(back(dqh, nq_in, q_dims, copy_q)?),
                Some(back(dkh, nk_in, k_dims, copy_k)?),
                Some(back(dvh, nk_in, k_dims, copy_k)?),
            ])
        },
    ))
}
