//! Launchers for the matmul shaders: batched matmul with transposed operands, fused bias and
//! accumulation (in `sgemm`, `matmul_sgemm.wgsl` for GPUs; `matmul_cpu.wgsl`,
//! `matmul_tex.wgsl` and, in `subgroup`, `matmul_subgroup.wgsl` for CPU drivers; the tiled
//! and naive kernels kept for comparison in `ops/dev/matmul_tiled.rs`), the kernel choice,
//! and the autograd rule.

pub(crate) mod sgemm;
pub(crate) mod subgroup;
mod texture;

pub use sgemm::sgemm_splits;
use texture::matmul_texture;

use crate::gpu::kernel_params;

use crate::gpu::{CommandBatch, GpuBuffer, GpuError, Groups, Kernel};
use crate::tensor::{Result, Shape, Tape, Tensor, TensorError};

/// The shape and layout of one batched matmul `C[b] = op(A[b]) @ op(B[b])`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatmulDims {
    /// Rows of op(A) and C.
    pub m: u32,
    /// Columns of op(B) and C.
    pub n: u32,
    /// Contracted dimension.
    pub k: u32,
    /// Number of independent products.
    pub batch: u32,
    /// A is stored (K, M) instead of (M, K).
    pub trans_a: bool,
    /// B is stored (N, K) instead of (K, N).
    pub trans_b: bool,
    /// A is one matrix shared by every batch element (batch stride 0).
    pub shared_a: bool,
    /// B is one matrix shared by every batch element (batch stride 0).
    pub shared_b: bool,
}

impl MatmulDims {
    /// A plain (M, K) @ (K, N) product.
    pub fn new(m: usize, n: usize, k: usize) -> Self {
        Self {
            m: m as u32,
            n: n as u32,
            k: k as u32,
            batch: 1,
            trans_a: false,
            trans_b: false,
            shared_a: false,
            shared_b: false,
        }
    }

    /// `MxNxK` with the batch (` b32`) where there is one: a profile row's shape.
    pub fn shape_label(&self) -> String {
        let b = if self.batch > 1 {
            format!(" b{}", self.batch)
        } else {
            String::new()
        };
        format!("{}x{}x{}{b}", self.m, self.n, self.k)
    }

    /// Floating-point operations (a multiply-add counts two).
    pub fn flops(&self) -> f64 {
        2.0 * self.m as f64 * self.n as f64 * self.k as f64 * self.batch as f64
    }
}

kernel_params! {
    pub(crate) struct Params for [
        "matmul",
        "matmul_cpu",
        "matmul_subgroup",
        "matmul_subgroup_buf",
        "matmul_tex",
    ] {
        m: u32,
        n: u32,
        k: u32,
        batch: u32,
        stride_a: u32,
        stride_b: u32,
        stride_c: u32,
        flags: u32,
    }
}

/// Products up to this many FLOPs go to [`MatmulKernel::SubgroupBuffers`] even when the
/// texture path would copy their operands as they are.
const BUFFERS_MAX_FLOPS: f64 = 2.0 * 256.0 * 256.0 * 256.0;

/// From this many rows of A, a product with only B transposed (one product, K a multiple of
/// 64, so A goes into its texture as it is) and a B of [`PACK_B_MIN_ELEMENTS`] or more takes
/// the packed-texture kernel: packing B (K x N) costs little against M x N x K, and the
/// texture kernel's inner loop is faster. The dX = dY
/// Wᵀ products of a 2048-token batch, alone (`examples/bench_matmul`, rt, best of 9-11):
/// 2048x512x128 6.7-9.2 ms against 8.5-11.7 read from buffers, 2048x128x512 7.3-8.7 against
/// 7.9-9.2, 4096x128x512 12.4-14.6 against 13.9-19.0; at 1040 rows buffers won (BENCHMARKS.md).
const PACK_B_MIN_ROWS: u32 = 2048;
/// ... and from this many elements of B: at 2048x128x128 the two kernels were within 3 %, not
/// worth a packing dispatch.
const PACK_B_MIN_ELEMENTS: u64 = 128 * 512;

/// Which kernel runs the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatmulKernel {
    /// The GPU kernel (the standard SGEMM recipe): 128x64 tiles for 256 threads, 8x4
    /// outputs a thread, double-buffered k-major tiles, vec4 loads where rows allow, split-K
    /// with a fixed-order sum for small M x N grids ([`sgemm_splits`]).
    Sgemm,
    /// 64x64 workgroup tiles with 8x8 register blocks, 64 threads: the GPU kernel before
    /// [`MatmulKernel::Sgemm`], kept for comparison (`ops/dev/`; never picked).
    Tiled,
    /// One thread per output, no reuse: the benchmark's baseline (`ops/dev/`; never picked).
    Naive,
    /// 8-invocation workgroups loading whole vec4s (CPU drivers); needs K and N multiples of
    /// 4 and no transposed operand.
    Cpu,
    /// Operands read through textures (CPU drivers gather texel fetches across lanes); needs
    /// K and N multiples of 64, one product, no transposes.
    Texture,
    /// Packed operands read through textures, B shared across 8-invocation subgroups (CPU
    /// drivers): any shape, batch and transposes; needs subgroups of at least 8.
    Subgroup,
    /// The subgroup kernel reading both operands straight from storage buffers, transposed
    /// or not (CPU drivers): no packing, no padding; see [`MatmulKernel::buffers_fit`].
    SubgroupBuffers,
}

impl MatmulKernel {
    /// The fastest kernel for `d` on `gpu`: with the CPU-driver variants (see
    /// [`crate::gpu::Kernels`]) the subgroup kernel, else the texture one, else the vec4 one,
    /// where the adapter and shape allow; the SGEMM kernel otherwise (GPU variants).
    pub fn pick(gpu: &crate::gpu::Gpu, d: &MatmulDims) -> Self {
        let cpu = gpu.cpu_kernels();
        if cpu && Self::buffers_fit(gpu, d) && Self::buffers_pay(d) {
            MatmulKernel::SubgroupBuffers
        } else if cpu && Self::subgroup_fits(gpu, d) {
            MatmulKernel::Subgroup
        } else if cpu && Self::texture_fits(gpu, d) {
            MatmulKernel::Texture
        } else if cpu && Self::cpu_fits(d) {
            MatmulKernel::Cpu
        } else {
            MatmulKernel::Sgemm
        }
    }

    /// Whether [`MatmulKernel::Texture`] can run `d` on `gpu`.
    pub fn texture_fits(gpu: &crate::gpu::Gpu, d: &MatmulDims) -> bool {
        let max = gpu.limits.max_texture_dimension_2d;
        d.k.is_multiple_of(64)
            && d.n.is_multiple_of(64)
            && d.batch == 1
            && !d.trans_a
            && !d.trans_b
            && d.m.max(d.k).max(d.n / 4) <= max
            && d.m > 0
    }

    /// Whether [`MatmulKernel::Subgroup`] can run `d` on `gpu`: the adapter has subgroups of
    /// at least 8 invocations (one workgroup must be one subgroup), no dimension is empty (a
    /// texture cannot be) and the packed operands fit its texture limits.
    pub fn subgroup_fits(gpu: &crate::gpu::Gpu, d: &MatmulDims) -> bool {
        let max = gpu.limits.max_texture_dimension_2d;
        let (kp, np) = (d.k.next_multiple_of(64), d.n.next_multiple_of(64));
        gpu.caps.subgroups
            && gpu.caps.subgroup_min_size >= 8
            && d.m > 0
            && d.n > 0
            && d.k > 0
            && d.m.max(kp).max(np / 4) <= max
            && d.batch.max(1) <= gpu.limits.max_texture_array_layers
    }

    /// Whether [`MatmulKernel::SubgroupBuffers`] can run `d` on `gpu`: subgroups of at least
    /// 8, no empty dimension, and every operand access a whole vec4: N a multiple of 4, M
    /// too when A is transposed, K when A is not transposed or B is.
    pub fn buffers_fit(gpu: &crate::gpu::Gpu, d: &MatmulDims) -> bool {
        let k_free = d.trans_a && !d.trans_b;
        gpu.caps.subgroups
            && gpu.caps.subgroup_min_size >= 8
            && d.m > 0
            && d.n > 0
            && d.k > 0
            && d.n.is_multiple_of(4)
            && (!d.trans_a || d.m.is_multiple_of(4))
            && (k_free || d.k.is_multiple_of(4))
    }

    /// Whether the buffer-reading subgroup kernel beats the packed-texture one on `d`: when
    /// the texture path would pack an operand (a transpose, K or N not a multiple of 64, a
    /// shared operand in a batch) or the product is small, except a large transposed B alone
    /// under [`PACK_B_MIN_ROWS`] or more rows. Measured in BENCHMARKS.md
    /// ("Training speed"): reading buffers costs the kernel about 20 % at 1024³, packing
    /// costs the small products of the tiny model more than their multiply.
    pub fn buffers_pay(d: &MatmulDims) -> bool {
        let nb = d.batch.max(1);
        let packs_b_only = d.trans_b && !d.trans_a && nb == 1 && d.k.is_multiple_of(64);
        if packs_b_only && d.m >= PACK_B_MIN_ROWS && d.n as u64 * d.k as u64 >= PACK_B_MIN_ELEMENTS
        {
            return false;
        }
        let packs = d.trans_a
            || d.trans_b
            || !d.k.is_multiple_of(64)
            || !d.n.is_multiple_of(64)
            || (nb > 1 && (d.shared_a || d.shared_b));
        packs || d.flops() <= BUFFERS_MAX_FLOPS
    }

    /// Whether [`MatmulKernel::Cpu`] can run `d`: K a multiple of 16, N of 4, no transposes.
    pub fn cpu_fits(d: &MatmulDims) -> bool {
        d.k.is_multiple_of(16) && d.n.is_multiple_of(4) && !d.trans_a && !d.trans_b
    }
}

/// Record `c = op(a) @ op(b) (+ bias) (+ c if accumulate)`; c is (batch, M, N).
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    batch: &mut CommandBatch,
    kernel: MatmulKernel,
    d: MatmulDims,
    a: &GpuBuffer,
    b: &GpuBuffer,
    bias: Option<&GpuBuffer>,
    c: &GpuBuffer,
    accumulate: bool,
) -> std::result::Result<(), GpuError> {
    if kernel == MatmulKernel::Cpu && !MatmulKernel::cpu_fits(&d) {
        return Err(GpuError::Launch {
            kernel: "matmul_cpu".into(),
            reason: format!("needs K % 16 = 0, N % 4 = 0 and no transposes, got {d:?}"),
        });
    }
    check_buffers(&d, a, b, bias, c)?;
    let flags = d.trans_a as u32
        | (d.trans_b as u32) << 1
        | (bias.is_some() as u32) << 2
        | (accumulate as u32) << 3;
    let params = Params {
        m: d.m,
        n: d.n,
        k: d.k,
        batch: d.batch,
        stride_a: if d.shared_a { 0 } else { d.m * d.k },
        stride_b: if d.shared_b { 0 } else { d.k * d.n },
        stride_c: d.m * d.n,
        flags,
    };
    batch.gpu().counters.flops(d.flops());
    // The packing launchers name the multiply themselves, after their packing dispatches.
    if kernel != MatmulKernel::Subgroup && kernel != MatmulKernel::Texture {
        trace_shape(batch, &d);
    }
    // The bias binding must exist even when unused; `a` stands in (never read then).
    let bias = bias.unwrap_or(a);
    if kernel == MatmulKernel::Sgemm {
        let splits = sgemm_splits(batch.gpu(), &d);
        return sgemm::launch(batch, d, a, b, bias, c, flags, splits);
    }
    if kernel == MatmulKernel::Texture {
        return matmul_texture(batch, d, a, b, bias, c, flags);
    }
    if kernel == MatmulKernel::Subgroup {
        return subgroup::launch(batch, d, a, b, bias, c, params);
    }
    if kernel == MatmulKernel::SubgroupBuffers {
        return subgroup::launch_buffers(batch, d, a, b, bias, c, params);
    }
    if kernel == MatmulKernel::Tiled || kernel == MatmulKernel::Naive {
        return super::dev::matmul_tiled::launch(batch, kernel, d, [a, b, bias, c], params);
    }
    batch.dispatch(
        // Every access in matmul_cpu.wgsl is guarded against M, N, K (tail tiles load zeros or
        // clamp) and the buffer sizes were checked above.
        Kernel::new("matmul_cpu", "matmul_cpu").unchecked(),
        &params,
        &[a, b, bias, c],
        Groups::Grid([d.n.div_ceil(32), d.m.div_ceil(16), d.batch.max(1)]),
    )
}

/// Tell the step trace that the next dispatch is the product `d` (its profile row names the
/// shape and its GFLOP/s).
pub(crate) fn trace_shape(batch: &CommandBatch, d: &MatmulDims) {
    // Checked first: untraced (every training step) the label is never formatted.
    if batch.gpu().trace.on() {
        batch.gpu().trace.note(d.shape_label(), d.flops());
    }
}

/// Refuse buffers smaller than `d` needs: the kernels run without wgpu's bounds checks, so
/// they must not read past an end.
fn check_buffers(
    d: &MatmulDims,
    a: &GpuBuffer,
    b: &GpuBuffer,
    bias: Option<&GpuBuffer>,
    c: &GpuBuffer,
) -> std::result::Result<(), GpuError> {
    let (m, n, k, nb) = (d.m as u64, d.n as u64, d.k as u64, d.batch.max(1) as u64);
    let need = |shared: bool| if shared { 1 } else { nb };
    let short = [
        ("A", a.bytes(), 4 * need(d.shared_a) * m * k),
        ("B", b.bytes(), 4 * need(d.shared_b) * k * n),
        ("C", c.bytes(), 4 * nb * m * n),
        ("bias", bias.map_or(u64::MAX, |x| x.bytes()), 4 * n),
    ]
    .into_iter()
    .find(|&(_, have, want)| have < want);
    if let Some((which, have, want)) = short {
        return Err(GpuError::Launch {
            kernel: "matmul".into(),
            reason: format!("{which} holds {have} bytes but {d:?} needs {want}"),
        });
    }
    Ok(())
}

/// [`matmul`] on the SGEMM kernel with `splits` K-splits chosen by the caller (1: none),
/// where [`matmul`] takes [`sgemm_splits`]: to test and measure the split-K path.
#[allow(clippy::too_many_arguments)]
pub fn matmul_sgemm(
    batch: &mut CommandBatch,
    d: MatmulDims,
    a: &GpuBuffer,
    b: &GpuBuffer,
    bias: Option<&GpuBuffer>,
    c: &GpuBuffer,
    accumulate: bool,
    splits: u32,
) -> std::result::Result<(), GpuError> {
    check_buffers(&d, a, b, bias, c)?;
    batch.gpu().counters.flops(d.flops());
    let flags = (bias.is_some() as u32) << 2 | (accumulate as u32) << 3;
    sgemm::launch(batch, d, a, b, bias.unwrap_or(a), c, flags, splits)
}

/// `a @ op(b) (+ bias)` on the tape. a is (.., M, K). b is either one matrix (K, N) shared by
/// every row of a (a weight; with `trans_b` stored (N, K)), or a batch (B, K, N) / (B, N, K)
/// matching a = (B, M, K) (attention scores and context). bias is (N,). Output (.., M, N).
pub fn matmul_op(
    tape: &Tape,
    a: &Tensor,
    b: &Tensor,
    bias: Option<&Tensor>,
    trans_b: bool,
) -> Result<Tensor> {
    a.expect_f32("matmul")?;
    b.expect_f32("matmul")?;
    let bad = |why| TensorError::Shape {
        op: "matmul",
        a: a.shape().to_string(),
        b: b.shape().to_string(),
        why,
    };
    let k = a.shape().last();
    let bd = b.shape().dims().to_vec();
    let (bk, n) = match bd.len() {
        2 | 3 if trans_b => (bd[bd.len() - 1], bd[bd.len() - 2]),
        2 | 3 => (bd[bd.len() - 2], bd[bd.len() - 1]),
        _ => return Err(bad("the second operand must be 2-D or 3-D")),
    };
    if bk != k {
        return Err(bad("inner dimensions differ"));
    }
    let shared = bd.len() == 2;
    let (batch, m) = if shared {
        (1, a.shape().rows())
    } else {
        let ad = a.shape().dims();
        if ad.len() != 3 || ad[0] != bd[0] {
            return Err(bad(
                "a batched product needs a = (B, M, K) and b with the same B",
            ));
        }
        (ad[0], ad[1])
    };
    if let Some(bias) = bias {
        bias.expect_f32("matmul")?;
        if bias.shape().dims() != [n] {
            return Err(bad("the bias must be (N,)"));
        }
    }
    let d = MatmulDims {
        m: m as u32,
        n: n as u32,
        k: k as u32,
        batch: batch as u32,
        trans_a: false,
        trans_b,
        shared_a: false,
        shared_b: shared,
    };
    let mut dims = a.shape().dims().to_vec();
    *dims.last_mut().unwrap() = n;
    let kernel = MatmulKernel::pick(tape.gpu(), &d);
    let out = super::forward(tape.gpu(), batch * m * n, "matmul out", |bt, c| {
        matmul(
            bt,
            kernel,
            d,
            a.buffer(),
            b.buffer(),
            bias.map(|t| t.buffer()),
            c,
            false,
        )
    })?;
    let mut inputs = vec![a, b];
    inputs.extend(bias);
    Ok(
        tape.record("matmul", out, Shape(dims), &inputs, move |bt, ins, dc| {
            matmul_backward(bt, d, ins, dc)
        }),
    )
}

/// Gradients of `c = a @ op(b) (+ bias)`: two matmuls and a column sum.
fn matmul_backward(
    bt: &mut CommandBatch,
    d: MatmulDims,
    ins: &[Tensor],
    dc: &GpuBuffer,
) -> std::result::Result<Vec<Option<GpuBuffer>>, GpuError> {
    let (a, b) = (ins[0].buffer(), ins[1].buffer());
    let pool = bt.gpu().pool.clone();
    let (m, n, k, nb) = (d.m as usize, d.n as usize, d.k as usize, d.batch as usize);
    // dA = dC @ op(B)^T: with B stored (K, N) that is dC @ B^T, stored (N, K) it is dC @ B.
    let da = pool.storage(4 * (nb * m * k).max(1) as u64, "matmul dA")?;
    let da_dims = MatmulDims {
        m: d.m,
        n: d.k,
        k: d.n,
        batch: d.batch,
        trans_a: false,
        trans_b: !d.trans_b,
        shared_a: false,
        shared_b: d.shared_b,
    };
    let kernel = MatmulKernel::pick(bt.gpu(), &da_dims);
    matmul(bt, kernel, da_dims, dc, b, None, &da, false)?;
    // dB: a shared weight sums over every row of every batch element, so the batch folds
    // into the contracted dimension.
    let (rows, groups) = if d.shared_b { (nb * m, 1) } else { (m, nb) };
    let db = pool.storage(4 * (groups * k * n).max(1) as u64, "matmul dB")?;
    let db_dims = if d.trans_b {
        // dB (N, K) = dC^T @ A
        MatmulDims {
            m: d.n,
            n: d.k,
            k: rows as u32,
            batch: groups as u32,
            trans_a: true,
            trans_b: false,
            shared_a: false,
            shared_b: false,
        }
    } else {
        // dB (K, N) = A^T @ dC
        MatmulDims {
            m: d.k,
            n: d.n,
            k: rows as u32,
            batch: groups as u32,
            trans_a: true,
            trans_b: false,
            shared_a: false,
            shared_b: false,
        }
    };
    let (x, y) = if d.trans_b { (dc, a) } else { (a, dc) };
    let kernel = MatmulKernel::pick(bt.gpu(), &db_dims);
    matmul(bt, kernel, db_dims, x, y, None, &db, false)?;
    let mut grads = vec![Some(da), Some(db)];
    if ins.len() > 2 {
        let dbias = pool.storage(4 * n as u64, "matmul dbias")?;
        super::colsum::column_sum(bt, dc, &dbias, nb * m, n)?;
        grads.push(Some(dbias));
    }
    Ok(grads)
}
