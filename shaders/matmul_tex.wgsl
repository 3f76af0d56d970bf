// Matrix multiply C = A @ B (+ bias) (+ C when accumulating) reading A and B through
// textures, for CPU drivers (lavapipe), whose texel fetches gather all SIMD lanes at once where
// a storage-buffer load with per-invocation addresses becomes a per-lane loop.
// A is an rgba32uint texture of K/4 x M texels (texel (q, i) holds A[i, 4q..4q+4] as f32 bits),
// B one of N/4 x K texels (texel (q, k) holds B[k, 4q..4q+4]); bias is (N,), C is (M, N).
// Each workgroup of 8 invocations computes 8 rows x 256 columns; an invocation 8 rows x
// 8 groups of 4 columns (32 columns apart: group g covers columns 4*(lane + 8g)..+4).
// Grid: (ceil(N/256), ceil(M/8), 1). Built by the launcher only when K and N are multiples
// of 64 (texture rows are copied from the buffers, 256-byte aligned).

struct Params {
    m: u32,
    n: u32,
    k: u32,
    batch: u32,
    stride_a: u32,
    stride_b: u32,
    stride_c: u32,
    // bit 2: add bias, bit 3: accumulate into C.
    flags: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var a_tex: texture_2d<u32>;
@group(0) @binding(2) var b_tex: texture_2d<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

fn fetch(t: texture_2d<u32>, x: u32, y: u32) -> vec4<f32> {
    return bitcast<vec4<f32>>(textureLoad(t, vec2<u32>(x, y), 0));
}

// acc + a.x·b0 + a.y·b1 + a.z·b2 + a.w·b3: one row of A's 4 values against 4 rows of a column
// group of B, as four fused multiply-adds in that order (the driver inlines it).
fn mac(a: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>,
       acc: vec4<f32>) -> vec4<f32> {
    var r = fma(vec4<f32>(a.x), b0, acc);
    r = fma(vec4<f32>(a.y), b1, r);
    r = fma(vec4<f32>(a.z), b2, r);
    return fma(vec4<f32>(a.w), b3, r);
}

fn store_one(row: u32, col: u32, value: f32) {
    if row >= p.m || col >= p.n {
        return;
    }
    var v = value;
    if (p.flags & 4u) != 0u {
        v += bias[col];
    }
    let ci = row * p.n + col;
    if (p.flags & 8u) != 0u {
        v += c[ci];
    }
    c[ci] = v;
}

fn store_vec4(row: u32, col: u32, v: vec4<f32>) {
    store_one(row, col, v.x);
    store_one(row, col + 1u, v.y);
    store_one(row, col + 2u, v.z);
    store_one(row, col + 3u, v.w);
}

@compute @workgroup_size(8)
fn matmul_tex(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let m0 = wid.y * 8u;
    let n4 = p.n / 4u;
    let col0 = min(wid.x * 64u + lane + 0u, n4 - 1u);
    let col1 = min(wid.x * 64u + lane + 8u, n4 - 1u);
    let col2 = min(wid.x * 64u + lane + 16u, n4 - 1u);
    let col3 = min(wid.x * 64u + lane + 24u, n4 - 1u);
    let col4 = min(wid.x * 64u + lane + 32u, n4 - 1u);
    let col5 = min(wid.x * 64u + lane + 40u, n4 - 1u);
    let col6 = min(wid.x * 64u + lane + 48u, n4 - 1u);
    let col7 = min(wid.x * 64u + lane + 56u, n4 - 1u);
    let row0 = min(m0 + 0u, p.m - 1u);
    let row1 = min(m0 + 1u, p.m - 1u);
    let row2 = min(m0 + 2u, p.m - 1u);
    let row3 = min(m0 + 3u, p.m - 1u);
    let row4 = min(m0 + 4u, p.m - 1u);
    let row5 = min(m0 + 5u, p.m - 1u);
    let row6 = min(m0 + 6u, p.m - 1u);
    let row7 = min(m0 + 7u, p.m - 1u);
    var acc0_0 = vec4<f32>(0.0);
    var acc0_1 = vec4<f32>(0.0);
    var acc0_2 = vec4<f32>(0.0);
    var acc0_3 = vec4<f32>(0.0);
    var acc0_4 = vec4<f32>(0.0);
    var acc0_5 = vec4<f32>(0.0);
    var acc0_6 = vec4<f32>(0.0);
    var acc0_7 = vec4<f32>(0.0);
    var acc1_0 = vec4<f32>(0.0);
    var acc1_1 = vec4<f32>(0.0);
    var acc1_2 = vec4<f32>(0.0);
    var acc1_3 = vec4<f32>(0.0);
    var acc1_4 = vec4<f32>(0.0);
    var acc1_5 = vec4<f32>(0.0);
    var acc1_6 = vec4<f32>(0.0);
    var acc1_7 = vec4<f32>(0.0);
    var acc2_0 = vec4<f32>(0.0);
    var acc2_1 = vec4<f32>(0.0);
    var acc2_2 = vec4<f32>(0.0);
    var acc2_3 = vec4<f32>(0.0);
    var acc2_4 = vec4<f32>(0.0);
    var acc2_5 = vec4<f32>(0.0);
    var acc2_6 = vec4<f32>(0.0);
    var acc2_7 = vec4<f32>(0.0);
    var acc3_0 = vec4<f32>(0.0);
    var acc3_1 = vec4<f32>(0.0);
    var acc3_2 = vec4<f32>(0.0);
    var acc3_3 = vec4<f32>(0.0);
    var acc3_4 = vec4<f32>(0.0);
    var acc3_5 = vec4<f32>(0.0);
    var acc3_6 = vec4<f32>(0.0);
    var acc3_7 = vec4<f32>(0.0);
    var acc4_0 = vec4<f32>(0.0);
    var acc4_1 = vec4<f32>(0.0);
    var acc4_2 = vec4<f32>(0.0);
    var acc4_3 = vec4<f32>(0.0);
    var acc4_4 = vec4<f32>(0.0);
    var acc4_5 = vec4<f32>(0.0);
    var acc4_6 = vec4<f32>(0.0);
    var acc4_7 = vec4<f32>(0.0);
    var acc5_0 = vec4<f32>(0.0);
    var acc5_1 = vec4<f32>(0.0);
    var acc5_2 = vec4<f32>(0.0);
    var acc5_3 = vec4<f32>(0.0);
    var acc5_4 = vec4<f32>(0.0);
    var acc5_5 = vec4<f32>(0.0);
    var acc5_6 = vec4<f32>(0.0);
    var acc5_7 = vec4<f32>(0.0);
    var acc6_0 = vec4<f32>(0.0);
    var acc6_1 = vec4<f32>(0.0);
    var acc6_2 = vec4<f32>(0.0);
    var acc6_3 = vec4<f32>(0.0);
    var acc6_4 = vec4<f32>(0.0);
    var acc6_5 = vec4<f32>(0.0);
    var acc6_6 = vec4<f32>(0.0);
    var acc6_7 = vec4<f32>(0.0);
    var acc7_0 = vec4<f32>(0.0);
    var acc7_1 = vec4<f32>(0.0);
    var acc7_2 = vec4<f32>(0.0);
    var acc7_3 = vec4<f32>(0.0);
    var acc7_4 = vec4<f32>(0.0);
    var acc7_5 = vec4<f32>(0.0);
    var acc7_6 = vec4<f32>(0.0);
    var acc7_7 = vec4<f32>(0.0);
    for (var kq = 0u; kq < p.k / 4u; kq++) {
        let k0 = kq * 4u;
        let b0_0 = fetch(b_tex, col0, k0 + 0u);
        let b0_1 = fetch(b_tex, col0, k0 + 1u);
        let b0_2 = fetch(b_tex, col0, k0 + 2u);
        let b0_3 = fetch(b_tex, col0, k0 + 3u);
        let b1_0 = fetch(b_tex, col1, k0 + 0u);
        let b1_1 = fetch(b_tex, col1, k0 + 1u);
        let b1_2 = fetch(b_tex, col1, k0 + 2u);
        let b1_3 = fetch(b_tex, col1, k0 + 3u);
        let b2_0 = fetch(b_tex, col2, k0 + 0u);
        let b2_1 = fetch(b_tex, col2, k0 + 1u);
        let b2_2 = fetch(b_tex, col2, k0 + 2u);
        let b2_3 = fetch(b_tex, col2, k0 + 3u);
        let b3_0 = fetch(b_tex, col3, k0 + 0u);
        let b3_1 = fetch(b_tex, col3, k0 + 1u);
        let b3_2 = fetch(b_tex, col3, k0 + 2u);
        let b3_3 = fetch(b_tex, col3, k0 + 3u);
        let b4_0 = fetch(b_tex, col4, k0 + 0u);
        let b4_1 = fetch(b_tex, col4, k0 + 1u);
        let b4_2 = fetch(b_tex, col4, k0 + 2u);
        let b4_3 = fetch(b_tex, col4, k0 + 3u);
        let b5_0 = fetch(b_tex, col5, k0 + 0u);
        let b5_1 = fetch(b_tex, col5, k0 + 1u);
        let b5_2 = fetch(b_tex, col5, k0 + 2u);
        let b5_3 = fetch(b_tex, col5, k0 + 3u);
        let b6_0 = fetch(b_tex, col6, k0 + 0u);
        let b6_1 = fetch(b_tex, col6, k0 + 1u);
        let b6_2 = fetch(b_tex, col6, k0 + 2u);
        let b6_3 = fetch(b_tex, col6, k0 + 3u);
        let b7_0 = fetch(b_tex, col7, k0 + 0u);
        let b7_1 = fetch(b_tex, col7, k0 + 1u);
        let b7_2 = fetch(b_tex, col7, k0 + 2u);
        let b7_3 = fetch(b_tex, col7, k0 + 3u);
        let a0 = fetch(a_tex, kq, row0);
        acc0_0 = mac(a0, b0_0, b0_1, b0_2, b0_3, acc0_0);
        acc0_1 = mac(a0, b1_0, b1_1, b1_2, b1_3, acc0_1);
        acc0_2 = mac(a0, b2_0, b2_1, b2_2, b2_3, acc0_2);
        acc0_3 = mac(a0, b3_0, b3_1, b3_2, b3_3, acc0_3);
        acc0_4 = mac(a0, b4_0, b4_1, b4_2, b4_3, acc0_4);
        acc0_5 = mac(a0, b5_0, b5_1, b5_2, b5_3, acc0_5);
        acc0_6 = mac(a0, b6_0, b6_1, b6_2, b6_3, acc0_6);
        acc0_7 = mac(a0, b7_0, b7_1, b7_2, b7_3, acc0_7);
        let a1 = fetch(a_tex, kq, row1);
        acc1_0 = mac(a1, b0_0, b0_1, b0_2, b0_3, acc1_0);
        acc1_1 = mac(a1, b1_0, b1_1, b1_2, b1_3, acc1_1);
        acc1_2 = mac(a1, b2_0, b2_1, b2_2, b2_3, acc1_2);
        acc1_3 = mac(a1, b3_0, b3_1, b3_2, b3_3, acc1_3);
        acc1_4 = mac(a1, b4_0, b4_1, b4_2, b4_3, acc1_4);
        acc1_5 = mac(a1, b5_0, b5_1, b5_2, b5_3, acc1_5);
        acc1_6 = mac(a1, b6_0, b6_1, b6_2, b6_3, acc1_6);
        acc1_7 = mac(a1, b7_0, b7_1, b7_2, b7_3, acc1_7);
        let a2 = fetch(a_tex, kq, row2);
        acc2_0 = mac(a2, b0_0, b0_1, b0_2, b0_3, acc2_0);
        acc2_1 = mac(a2, b1_0, b1_1, b1_2, b1_3, acc2_1);
        acc2_2 = mac(a2, b2_0, b2_1, b2_2, b2_3, acc2_2);
        acc2_3 = mac(a2, b3_0, b3_1, b3_2, b3_3, acc2_3);
        acc2_4 = mac(a2, b4_0, b4_1, b4_2, b4_3, acc2_4);
        acc2_5 = mac(a2, b5_0, b5_1, b5_2, b5_3, acc2_5);
        acc2_6 = mac(a2, b6_0, b6_1, b6_2, b6_3, acc2_6);
        acc2_7 = mac(a2, b7_0, b7_1, b7_2, b7_3, acc2_7);
        let a3 = fetch(a_tex, kq, row3);
        acc3_0 = mac(a3, b0_0, b0_1, b0_2, b0_3, acc3_0);
        acc3_1 = mac(a3, b1_0, b1_1, b1_2, b1_3, acc3_1);
        acc3_2 = mac(a3, b2_0, b2_1, b2_2, b2_3, acc3_2);
        acc3_3 = mac(a3, b3_0, b3_1, b3_2, b3_3, acc3_3);
        acc3_4 = mac(a3, b4_0, b4_1, b4_2, b4_3, acc3_4);
        acc3_5 = mac(a3, b5_0, b5_1, b5_2, b5_3, acc3_5);
        acc3_6 = mac(a3, b6_0, b6_1, b6_2, b6_3, acc3_6);
        acc3_7 = mac(a3, b7_0, b7_1, b7_2, b7_3, acc3_7);
        let a4 = fetch(a_tex, kq, row4);
        acc4_0 = mac(a4, b0_0, b0_1, b0_2, b0_3, acc4_0);
        acc4_1 = mac(a4, b1_0, b1_1, b1_2, b1_3, acc4_1);
        acc4_2 = mac(a4, b2_0, b2_1, b2_2, b2_3, acc4_2);
        acc4_3 = mac(a4, b3_0, b3_1, b3_2, b3_3, acc4_3);
        acc4_4 = mac(a4, b4_0, b4_1, b4_2, b4_3, acc4_4);
        acc4_5 = mac(a4, b5_0, b5_1, b5_2, b5_3, acc4_5);
        acc4_6 = mac(a4, b6_0, b6_1, b6_2, b6_3, acc4_6);
        acc4_7 = mac(a4, b7_0, b7_1, b7_2, b7_3, acc4_7);
        let a5 = fetch(a_tex, kq, row5);
        acc5_0 = mac(a5, b0_0, b0_1, b0_2, b0_3, acc5_0);
        acc5_1 = mac(a5, b1_0, b1_1, b1_2, b1_3, acc5_1);
        acc5_2 = mac(a5, b2_0, b2_1, b2_2, b2_3, acc5_2);
        acc5_3 = mac(a5, b3_0, b3_1, b3_2, b3_3, acc5_3);
        acc5_4 = mac(a5, b4_0, b4_1, b4_2, b4_3, acc5_4);
        acc5_5 = mac(a5, b5_0, b5_1, b5_2, b5_3, acc5_5);
        acc5_6 = mac(a5, b6_0, b6_1, b6_2, b6_3, acc5_6);
        acc5_7 = mac(a5, b7_0, b7_1, b7_2, b7_3, acc5_7);
        let a6 = fetch(a_tex, kq, row6);
        acc6_0 = mac(a6, b0_0, b0_1, b0_2, b0_3, acc6_0);
        acc6_1 = mac(a6, b1_0, b1_1, b1_2, b1_3, acc6_1);
        acc6_2 = mac(a6, b2_0, b2_1, b2_2, b2_3, acc6_2);
        acc6_3 = mac(a6, b3_0, b3_1, b3_2, b3_3, acc6_3);
        acc6_4 = mac(a6, b4_0, b4_1, b4_2, b4_3, acc6_4);
        acc6_5 = mac(a6, b5_0, b5_1, b5_2, b5_3, acc6_5);
        acc6_6 = mac(a6, b6_0, b6_1, b6_2, b6_3, acc6_6);
        acc6_7 = mac(a6, b7_0, b7_1, b7_2, b7_3, acc6_7);
        let a7 = fetch(a_tex, kq, row7);
        acc7_0 = mac(a7, b0_0, b0_1, b0_2, b0_3, acc7_0);
        acc7_1 = mac(a7, b1_0, b1_1, b1_2, b1_3, acc7_1);
        acc7_2 = mac(a7, b2_0, b2_1, b2_2, b2_3, acc7_2);
        acc7_3 = mac(a7, b3_0, b3_1, b3_2, b3_3, acc7_3);
        acc7_4 = mac(a7, b4_0, b4_1, b4_2, b4_3, acc7_4);
        acc7_5 = mac(a7, b5_0, b5_1, b5_2, b5_3, acc7_5);
        acc7_6 = mac(a7, b6_0, b6_1, b6_2, b6_3, acc7_6);
        acc7_7 = mac(a7, b7_0, b7_1, b7_2, b7_3, acc7_7);
    }
    store_vec4(m0 + 0u, 4u * (wid.x * 64u + lane + 0u), acc0_0);
    store_vec4(m0 + 0u, 4u * (wid.x * 64u + lane + 8u), acc0_1);
    store_vec4(m0 + 0u, 4u * (wid.x * 64u + lane + 16u), acc0_2);
    store_vec4(m0 + 0u, 4u * (wid.x * 64u + lane + 24u), acc0_3);
    store_vec4(m0 + 0u, 4u * (wid.x * 64u + lane + 32u), acc0_4);
    store_vec4(m0 + 0u, 4u * (wid.x * 64u + lane + 40u), acc0_5);
    store_vec4(m0 + 0u, 4u * (wid.x * 64u + lane + 48u), acc0_6);
    store_vec4(m0 + 0u, 4u * (wid.x * 64u + lane + 56u), acc0_7);
    store_vec4(m0 + 1u, 4u * (wid.x * 64u + lane + 0u), acc1_0);
    store_vec4(m0 + 1u, 4u * (wid.x * 64u + lane + 8u), acc1_1);
    store_vec4(m0 + 1u, 4u * (wid.x * 64u + lane + 16u), acc1_2);
    store_vec4(m0 + 1u, 4u * (wid.x * 64u + lane + 24u), acc1_3);
    store_vec4(m0 + 1u, 4u * (wid.x * 64u + lane + 32u), acc1_4);
    store_vec4(m0 + 1u, 4u * (wid.x * 64u + lane + 40u), acc1_5);
    store_vec4(m0 + 1u, 4u * (wid.x * 64u + lane + 48u), acc1_6);
    store_vec4(m0 + 1u, 4u * (wid.x * 64u + lane + 56u), acc1_7);
    store_vec4(m0 + 2u, 4u * (wid.x * 64u + lane + 0u), acc2_0);
    store_vec4(m0 + 2u, 4u * (wid.x * 64u + lane + 8u), acc2_1);
    store_vec4(m0 + 2u, 4u * (wid.x * 64u + lane + 16u), acc2_2);
    store_vec4(m0 + 2u, 4u * (wid.x * 64u + lane + 24u), acc2_3);
    store_vec4(m0 + 2u, 4u * (wid.x * 64u + lane + 32u), acc2_4);
    store_vec4(m0 + 2u, 4u * (wid.x * 64u + lane + 40u), acc2_5);
    store_vec4(m0 + 2u, 4u * (wid.x * 64u + lane + 48u), acc2_6);
    store_vec4(m0 + 2u, 4u * (wid.x * 64u + lane + 56u), acc2_7);
    store_vec4(m0 + 3u, 4u * (wid.x * 64u + lane + 0u), acc3_0);
    store_vec4(m0 + 3u, 4u * (wid.x * 64u + lane + 8u), acc3_1);
    store_vec4(m0 + 3u, 4u * (wid.x * 64u + lane + 16u), acc3_2);
    store_vec4(m0 + 3u, 4u * (wid.x * 64u + lane + 24u), acc3_3);
    store_vec4(m0 + 3u, 4u * (wid.x * 64u + lane + 32u), acc3_4);
    store_vec4(m0 + 3u, 4u * (wid.x * 64u + lane + 40u), acc3_5);
    store_vec4(m0 + 3u, 4u * (wid.x * 64u + lane + 48u), acc3_6);
    store_vec4(m0 + 3u, 4u * (wid.x * 64u + lane + 56u), acc3_7);
    store_vec4(m0 + 4u, 4u * (wid.x * 64u + lane + 0u), acc4_0);
    store_vec4(m0 + 4u, 4u * (wid.x * 64u + lane + 8u), acc4_1);
    store_vec4(m0 + 4u, 4u * (wid.x * 64u + lane + 16u), acc4_2);
    store_vec4(m0 + 4u, 4u * (wid.x * 64u + lane + 24u), acc4_3);
    store_vec4(m0 + 4u, 4u * (wid.x * 64u + lane + 32u), acc4_4);
    store_vec4(m0 + 4u, 4u * (wid.x * 64u + lane + 40u), acc4_5);
    store_vec4(m0 + 4u, 4u * (wid.x * 64u + lane + 48u), acc4_6);
    store_vec4(m0 + 4u, 4u * (wid.x * 64u + lane + 56u), acc4_7);
    store_vec4(m0 + 5u, 4u * (wid.x * 64u + lane + 0u), acc5_0);
    store_vec4(m0 + 5u, 4u * (wid.x * 64u + lane + 8u), acc5_1);
    store_vec4(m0 + 5u, 4u * (wid.x * 64u + lane + 16u), acc5_2);
    store_vec4(m0 + 5u, 4u * (wid.x * 64u + lane + 24u), acc5_3);
    store_vec4(m0 + 5u, 4u * (wid.x * 64u + lane + 32u), acc5_4);
    store_vec4(m0 + 5u, 4u * (wid.x * 64u + lane + 40u), acc5_5);
    store_vec4(m0 + 5u, 4u * (wid.x * 64u + lane + 48u), acc5_6);
    store_vec4(m0 + 5u, 4u * (wid.x * 64u + lane + 56u), acc5_7);
    store_vec4(m0 + 6u, 4u * (wid.x * 64u + lane + 0u), acc6_0);
    store_vec4(m0 + 6u, 4u * (wid.x * 64u + lane + 8u), acc6_1);
    store_vec4(m0 + 6u, 4u * (wid.x * 64u + lane + 16u), acc6_2);
    store_vec4(m0 + 6u, 4u * (wid.x * 64u + lane + 24u), acc6_3);
    store_vec4(m0 + 6u, 4u * (wid.x * 64u + lane + 32u), acc6_4);
    store_vec4(m0 + 6u, 4u * (wid.x * 64u + lane + 40u), acc6_5);
    store_vec4(m0 + 6u, 4u * (wid.x * 64u + lane + 48u), acc6_6);
    store_vec4(m0 + 6u, 4u * (wid.x * 64u + lane + 56u), acc6_7);
    store_vec4(m0 + 7u, 4u * (wid.x * 64u + lane + 0u), acc7_0);
    store_vec4(m0 + 7u, 4u * (wid.x * 64u + lane + 8u), acc7_1);
    store_vec4(m0 + 7u, 4u * (wid.x * 64u + lane + 16u), acc7_2);
    store_vec4(m0 + 7u, 4u * (wid.x * 64u + lane + 24u), acc7_3);
    store_vec4(m0 + 7u, 4u * (wid.x * 64u + lane + 32u), acc7_4);
    store_vec4(m0 + 7u, 4u * (wid.x * 64u + lane + 40u), acc7_5);
    store_vec4(m0 + 7u, 4u * (wid.x * 64u + lane + 48u), acc7_6);
    store_vec4(m0 + 7u, 4u * (wid.x * 64u + lane + 56u), acc7_7);
}
