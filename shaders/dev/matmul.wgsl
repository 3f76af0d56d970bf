// Batched matrix multiply with optional transposed operands, fused bias and accumulation:
//   C[b] = op(A[b]) @ op(B[b]) (+ bias) (+ C[b] when accumulating)
// op(A) is (M, K): A is stored (M, K), or (K, M) when transposed; op(B) is (K, N): B is stored
// (K, N), or (N, K) when transposed; bias is (N,); C is (batch, M, N). A batch stride of 0
// broadcasts one operand (a weight shared by every batch element).
//
// `matmul`: 64x64 output tiles per workgroup of 64 threads; each thread owns an 8x8 register
// block (rows ty*8.., columns tx + 8*j so neighbouring threads touch neighbouring columns and
// the per-thread row loads are uniform across a SIMD group). K advances 16 at a time through
// workgroup memory. Grid: (ceil(N/64), ceil(M/64), batch).
// `matmul_naive`: one thread per output element, no tiling: the baseline the benchmark compares
// against. Grid: (ceil(N/8), ceil(M/8), batch).
// The variant for CPU drivers is in matmul_cpu.wgsl.

// #import "common/matmul_params.wgsl"

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;

var<workgroup> a_tile: array<f32, 1024>; // [BK][BM]
var<workgroup> b_tile: array<f32, 1024>; // [BK][BN]

fn a_index(base: u32, row: u32, kk: u32) -> u32 {
    if (p.flags & 1u) != 0u {
        return base + kk * p.m + row;
    }
    return base + row * p.k + kk;
}

fn b_index(base: u32, kk: u32, col: u32) -> u32 {
    if (p.flags & 2u) != 0u {
        return base + col * p.k + kk;
    }
    return base + kk * p.n + col;
}

fn store_one(row: u32, col: u32, cbase: u32, value: f32) {
    if col >= p.n {
        return;
    }
    var v = value;
    if (p.flags & 4u) != 0u {
        v += bias[col];
    }
    let ci = cbase + row * p.n + col;
    if (p.flags & 8u) != 0u {
        v += c[ci];
    }
    c[ci] = v;
}

// Row `row` of a thread's block: columns col0 + 8*j for j in 0..8.
fn store_row(row: u32, col0: u32, cbase: u32, lo: vec4<f32>, hi: vec4<f32>) {
    if row >= p.m {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        store_one(row, col0 + 8u * j, cbase, lo[j]);
        store_one(row, col0 + 32u + 8u * j, cbase, hi[j]);
    }
}

@compute @workgroup_size(64)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let m0 = wid.y * BM;
    let n0 = wid.x * BN;
    let abase = wid.z * p.stride_a;
    let bbase = wid.z * p.stride_b;
    let tx = lid % 8u;
    let ty = lid / 8u;
    let ta = (p.flags & 1u) != 0u;
    let tb = (p.flags & 2u) != 0u;
    var acc0l = vec4<f32>(0.0);
    var acc0h = vec4<f32>(0.0);
    var acc1l = vec4<f32>(0.0);
    var acc1h = vec4<f32>(0.0);
    var acc2l = vec4<f32>(0.0);
    var acc2h = vec4<f32>(0.0);
    var acc3l = vec4<f32>(0.0);
    var acc3h = vec4<f32>(0.0);
    var acc4l = vec4<f32>(0.0);
    var acc4h = vec4<f32>(0.0);
    var acc5l = vec4<f32>(0.0);
    var acc5h = vec4<f32>(0.0);
    var acc6l = vec4<f32>(0.0);
    var acc6h = vec4<f32>(0.0);
    var acc7l = vec4<f32>(0.0);
    var acc7h = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < p.k; k0 += BK) {
        // Each thread loads 16 elements of each tile; consecutive threads read consecutive
        // addresses of whichever dimension is contiguous in memory.
        for (var r = 0u; r < 16u; r++) {
            let idx = lid + 64u * r;
            var am = idx / 16u;
            var ak = idx % 16u;
            if ta {
                am = idx % 64u;
                ak = idx / 64u;
            }
            var av = 0.0;
            if m0 + am < p.m && k0 + ak < p.k {
                av = a[a_index(abase, m0 + am, k0 + ak)];
            }
            a_tile[ak * BM + am] = av;
            var bn = idx % 64u;
            var bk = idx / 64u;
            if tb {
                bn = idx / 16u;
                bk = idx % 16u;
            }
            var bv = 0.0;
            if n0 + bn < p.n && k0 + bk < p.k {
                bv = b[b_index(bbase, k0 + bk, n0 + bn)];
            }
            b_tile[bk * BN + bn] = bv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            // Register block: 8 rows (uniform across neighbouring threads) x 8 columns
            // (tx, tx+8, ..., tx+56) held as two vec4s; written out as 16 named vec4s because
            // shader compilers keep those in registers where an indexed array may spill.
            let ar = kk * BM + ty * 8u;
            let bc = kk * BN + tx;
            let bl = vec4<f32>(b_tile[bc], b_tile[bc + 8u], b_tile[bc + 16u], b_tile[bc + 24u]);
            let bh = vec4<f32>(b_tile[bc + 32u], b_tile[bc + 40u], b_tile[bc + 48u], b_tile[bc + 56u]);
            acc0l = fma(vec4<f32>(a_tile[ar + 0u]), bl, acc0l);
            acc0h = fma(vec4<f32>(a_tile[ar + 0u]), bh, acc0h);
            acc1l = fma(vec4<f32>(a_tile[ar + 1u]), bl, acc1l);
            acc1h = fma(vec4<f32>(a_tile[ar + 1u]), bh, acc1h);
            acc2l = fma(vec4<f32>(a_tile[ar + 2u]), bl, acc2l);
            acc2h = fma(vec4<f32>(a_tile[ar + 2u]), bh, acc2h);
            acc3l = fma(vec4<f32>(a_tile[ar + 3u]), bl, acc3l);
            acc3h = fma(vec4<f32>(a_tile[ar + 3u]), bh, acc3h);
            acc4l = fma(vec4<f32>(a_tile[ar + 4u]), bl, acc4l);
            acc4h = fma(vec4<f32>(a_tile[ar + 4u]), bh, acc4h);
            acc5l = fma(vec4<f32>(a_tile[ar + 5u]), bl, acc5l);
            acc5h = fma(vec4<f32>(a_tile[ar + 5u]), bh, acc5h);
            acc6l = fma(vec4<f32>(a_tile[ar + 6u]), bl, acc6l);
            acc6h = fma(vec4<f32>(a_tile[ar + 6u]), bh, acc6h);
            acc7l = fma(vec4<f32>(a_tile[ar + 7u]), bl, acc7l);
            acc7h = fma(vec4<f32>(a_tile[ar + 7u]), bh, acc7h);
        }
        workgroupBarrier();
    }
    let cbase = wid.z * p.stride_c;
    let col0 = n0 + tx;
    store_row(m0 + ty * 8u + 0u, col0, cbase, acc0l, acc0h);
    store_row(m0 + ty * 8u + 1u, col0, cbase, acc1l, acc1h);
    store_row(m0 + ty * 8u + 2u, col0, cbase, acc2l, acc2h);
    store_row(m0 + ty * 8u + 3u, col0, cbase, acc3l, acc3h);
    store_row(m0 + ty * 8u + 4u, col0, cbase, acc4l, acc4h);
    store_row(m0 + ty * 8u + 5u, col0, cbase, acc5l, acc5h);
    store_row(m0 + ty * 8u + 6u, col0, cbase, acc6l, acc6h);
    store_row(m0 + ty * 8u + 7u, col0, cbase, acc7l, acc7h);
}

@compute @workgroup_size(8, 8)
fn matmul_naive(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row = gid.y;
    let col = gid.x;
    if row >= p.m || col >= p.n {
        return;
    }
    let abase = gid.z * p.stride_a;
    let bbase = gid.z * p.stride_b;
    var v = 0.0;
    for (var kk = 0u; kk < p.k; kk++) {
        v = fma(a[a_index(abase, row, kk)], b[b_index(bbase, kk, col)], v);
    }
    if (p.flags & 4u) != 0u {
        v += bias[col];
    }
    let ci = gid.z * p.stride_c + row * p.n + col;
    if (p.flags & 8u) != 0u {
        v += c[ci];
    }
    c[ci] = v;
}
