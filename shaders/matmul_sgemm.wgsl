// The GPU matmul, on the standard SGEMM recipe (batched, transposes, fused bias and accumulation):
//   C[b] = op(A[b]) @ op(B[b]) (+ bias) (+ C[b] when accumulating)
// op(A) is (M, K): A is stored (M, K), or (K, M) when `trans_a`; op(B) is (K, N): B is stored
// (K, N), or (N, K) when `trans_b`; bias is (N,); C is (batch, M, N). A batch stride of 0
// broadcasts one operand (a weight shared by every batch element).
//
// `matmul_sgemm`: a 128 x 64 output tile per workgroup of 256 threads; thread (tx, ty) =
// (lid % 16, lid / 16) owns rows ty*8 .. ty*8+8 and columns tx*4 .. tx*4+4, held in eight named
// vec4 accumulators (named, not an indexed array, so that compilers keep them in registers).
// K advances BK = 8 at a time through two workgroup buffers: the next k-tile is loaded into
// registers while the current one is multiplied, then stored into the other buffer, so one
// barrier per k-tile separates the two. A is stored k-major in workgroup memory ([k][m]) so a
// thread's 8 rows are two vec4 reads; each k-row is padded by 4 floats (132 for A, 68 for B)
// so that the transposing stores of 32 neighbouring threads hit 32 different banks. One
// vec4 of A and (for the first 128 threads) one of B is loaded per thread and k-tile: a whole
// vec4 load when the operand's rows are multiples of 4 floats (`vec_a`, `vec_b`), else four
// bounded scalar loads.
// Split-K: grid z = batch * splits; the workgroup with split s multiplies k in
// [s * k_chunk, min(K, (s + 1) * k_chunk)). With one split it writes C (bias, accumulation);
// with several it writes its raw partial product to C as a scratch buffer
// (splits, batch, M, N), which `matmul_splitk.wgsl` sums in the fixed order s = 0, 1, ...
// Grid: (ceil(N / 64), ceil(M / 128), batch * splits).

// #import "common/sgemm_params.wgsl"

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

override trans_a: bool = false;
override trans_b: bool = false;
// A's stored rows (K floats, or M when transposed) are multiples of 4: whole-vec4 loads.
override vec_a: bool = false;
// B's stored rows (N floats, or K when transposed) are multiples of 4.
override vec_b: bool = false;

const BM: u32 = 128u;
const BN: u32 = 64u;
const BK: u32 = 8u;
const SA: u32 = 33u; // vec4s per k-row of the A tile: 128 floats + 4 of padding
const SB: u32 = 17u; // vec4s per k-row of the B tile: 64 floats + 4 of padding

var<workgroup> a_tile: array<vec4<f32>, 528>; // [2 buffers][BK][SA]
var<workgroup> b_tile: array<vec4<f32>, 272>; // [2 buffers][BK][SB]

// Four consecutive elements of A from index i, the first `count` of them inside the matrix
// (zeros past them): one vec4 load with `vec_a`, where count is then 0 or at least 4.
fn a_run(i: u32, count: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    if vec_a {
        if count >= 4u {
            v = a[i >> 2u];
        }
        return v;
    }
    for (var j = 0u; j < min(count, 4u); j++) {
        v[j] = a[(i + j) >> 2u][(i + j) & 3u];
    }
    return v;
}

// The same for B, with `vec_b`.
fn b_run(i: u32, count: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    if vec_b {
        if count >= 4u {
            v = b[i >> 2u];
        }
        return v;
    }
    for (var j = 0u; j < min(count, 4u); j++) {
        v[j] = b[(i + j) >> 2u][(i + j) & 3u];
    }
    return v;
}

// How many of n - x elements remain from x (0 past the end).
fn left(x: u32, n: u32) -> u32 {
    return select(0u, n - x, x < n);
}

// This thread's vec4 of the A tile at (m0, k0): along M when A is transposed (k = lid / 32,
// m = 4 * (lid % 32)), along K otherwise (m = lid / 2, k = 4 * (lid % 2)). Zeros outside
// (M, kend): kend is K or a multiple of BK, so with whole-vec4 loads a vec4 is all inside or
// all outside.
fn load_a(abase: u32, m0: u32, k0: u32, kend: u32, lid: u32) -> vec4<f32> {
    if trans_a {
        let kk = k0 + lid / 32u;
        let row = m0 + 4u * (lid % 32u);
        return a_run(abase + kk * p.m + row, select(0u, left(row, p.m), kk < kend));
    }
    let row = m0 + lid / 2u;
    let kk = k0 + 4u * (lid % 2u);
    return a_run(abase + row * p.k + kk, select(0u, left(kk, kend), row < p.m));
}

// This thread's vec4 of the B tile at (k0, n0), threads 0..128: along K when B is transposed
// (n = lid / 2, k = 4 * (lid % 2)), along N otherwise (k = lid / 16, n = 4 * (lid % 16)).
fn load_b(bbase: u32, k0: u32, n0: u32, kend: u32, lid: u32) -> vec4<f32> {
    if trans_b {
        let col = n0 + lid / 2u;
        let kk = k0 + 4u * (lid % 2u);
        return b_run(bbase + col * p.k + kk, select(0u, left(kk, kend), col < p.n));
    }
    let kk = k0 + lid / 16u;
    let col = n0 + 4u * (lid % 16u);
    return b_run(bbase + kk * p.n + col, select(0u, left(col, p.n), kk < kend));
}

// Store this thread's loaded vec4s into workgroup buffer `s`, k-major.
fn store_tiles(s: u32, lid: u32, va: vec4<f32>, vb: vec4<f32>) {
    let abuf = s * BK * SA;
    if trans_a {
        a_tile[abuf + (lid / 32u) * SA + lid % 32u] = va;
    } else {
        let m = lid / 2u;
        let k = 4u * (lid % 2u);
        for (var j = 0u; j < 4u; j++) {
            a_tile[abuf + (k + j) * SA + m / 4u][m % 4u] = va[j];
        }
    }
    if lid >= 128u {
        return;
    }
    let bbuf = s * BK * SB;
    if trans_b {
        let n = lid / 2u;
        let k = 4u * (lid % 2u);
        for (var j = 0u; j < 4u; j++) {
            b_tile[bbuf + (k + j) * SB + n / 4u][n % 4u] = vb[j];
        }
    } else {
        b_tile[bbuf + (lid / 16u) * SB + lid % 16u] = vb;
    }
}

// Row `row` of the thread's block (columns col0 .. col0+4) into c at `base`; `epilogue` adds
// the bias and the accumulated C (off for split-K partials).
fn store_row(row: u32, col0: u32, base: u32, v: vec4<f32>, epilogue: bool) {
    if row >= p.m {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        let col = col0 + j;
        if col < p.n {
            var x = v[j];
            let ci = base + row * p.n + col;
            if epilogue && (p.flags & 4u) != 0u {
                x += bias[col];
            }
            if epilogue && (p.flags & 8u) != 0u {
                x += c[ci];
            }
            c[ci] = x;
        }
    }
}

@compute @workgroup_size(256)
fn matmul_sgemm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let m0 = wid.y * BM;
    let n0 = wid.x * BN;
    let z = wid.z / p.splits;
    let split = wid.z % p.splits;
    let abase = z * p.stride_a;
    let bbase = z * p.stride_b;
    let kbeg = min(split * p.k_chunk, p.k);
    let kend = min(kbeg + p.k_chunk, p.k);
    let tiles = (kend - kbeg + BK - 1u) / BK;
    let tx = lid % 16u;
    let ty = lid / 16u;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    var acc4 = vec4<f32>(0.0);
    var acc5 = vec4<f32>(0.0);
    var acc6 = vec4<f32>(0.0);
    var acc7 = vec4<f32>(0.0);
    var va = load_a(abase, m0, kbeg, kend, lid);
    var vb = vec4<f32>(0.0);
    if lid < 128u {
        vb = load_b(bbase, kbeg, n0, kend, lid);
    }
    store_tiles(0u, lid, va, vb);
    workgroupBarrier();
    for (var t = 0u; t < tiles; t++) {
        let s = t % 2u;
        let more = t + 1u < tiles;
        // Register prefetch: the next k-tile's global loads are in flight during the FMAs.
        if more {
            let k0 = kbeg + (t + 1u) * BK;
            va = load_a(abase, m0, k0, kend, lid);
            if lid < 128u {
                vb = load_b(bbase, k0, n0, kend, lid);
            }
        }
        for (var kk = 0u; kk < BK; kk++) {
            let ar = (s * BK + kk) * SA + ty * 2u;
            let lo = a_tile[ar];
            let hi = a_tile[ar + 1u];
            let bv = b_tile[(s * BK + kk) * SB + tx];
            acc0 = fma(vec4<f32>(lo.x), bv, acc0);
            acc1 = fma(vec4<f32>(lo.y), bv, acc1);
            acc2 = fma(vec4<f32>(lo.z), bv, acc2);
            acc3 = fma(vec4<f32>(lo.w), bv, acc3);
            acc4 = fma(vec4<f32>(hi.x), bv, acc4);
            acc5 = fma(vec4<f32>(hi.y), bv, acc5);
            acc6 = fma(vec4<f32>(hi.z), bv, acc6);
            acc7 = fma(vec4<f32>(hi.w), bv, acc7);
        }
        // The other buffer was last read in iteration t - 1, before the previous barrier.
        if more {
            store_tiles(1u - s, lid, va, vb);
        }
        workgroupBarrier();
    }
    let one = p.splits == 1u;
    var base = z * p.stride_c;
    if !one {
        base = (split * p.batch + z) * p.m * p.n;
    }
    let row0 = m0 + ty * 8u;
    let col0 = n0 + tx * 4u;
    store_row(row0 + 0u, col0, base, acc0, one);
    store_row(row0 + 1u, col0, base, acc1, one);
    store_row(row0 + 2u, col0, base, acc2, one);
    store_row(row0 + 3u, col0, base, acc3, one);
    store_row(row0 + 4u, col0, base, acc4, one);
    store_row(row0 + 5u, col0, base, acc5, one);
    store_row(row0 + 6u, col0, base, acc6, one);
    store_row(row0 + 7u, col0, base, acc7, one);
}
