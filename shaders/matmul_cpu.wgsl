// Batched matrix multiply for CPU drivers (lavapipe): the same product as matmul.wgsl,
//   C[b] = op(A[b]) @ op(B[b]) (+ bias) (+ C[b] when accumulating),
// for the case K % 16 = 0, N % 4 = 0, no transposed operand. A is (batch or 1, M, K), B is
// (batch or 1, K, N) (a batch stride of 0 shares one matrix), bias is (N,), C is (batch, M, N);
// A and B are read as arrays of vec4. Chosen by MatmulKernel::pick when the adapter is a CPU.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    batch: u32,
    stride_a: u32,
    stride_b: u32,
    stride_c: u32,
    // bit 2: add bias, bit 3: accumulate into C (bits 0 and 1, transposes, must be clear).
    flags: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

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

// `matmul_cpu`: the variant for CPU drivers (lavapipe), used when the adapter is a CPU, K is a
// multiple of 16, N a multiple of 4, and neither operand is transposed. Such drivers run a
// workgroup as SIMD vectors and compile a memory access inside a loop into a per-lane scalar
// loop that handles all components of a vector at once, so a vec4 access costs about what a
// float access does; they implement barriers as coroutine switches. So every access here is
// a vec4: each of the 8 invocations loads 4 columns of B per k, and its share of the 16x16 A
// block into workgroup memory, read back as vec4s of 4 k values; one block per 16 values of k
// keeps barriers rare. Each workgroup computes 16 rows x 32 columns (an invocation 16 x 4, as
// 16 vec4 accumulators). Grid: (ceil(N/32), ceil(M/16), batch). Correct on any device.

var<workgroup> a_block: array<vec4<f32>, 64>; // [row][k / 4]

@compute @workgroup_size(8)
fn matmul_cpu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let m0 = wid.y * 16u;
    let n0 = wid.x * 32u;
    let k4 = p.k / 4u;
    let n4 = p.n / 4u;
    let abase = wid.z * (p.stride_a / 4u);
    let bbase = wid.z * (p.stride_b / 4u);
    let col = min(n0 / 4u + lane, n4 - 1u);
    let src0 = abase + min(m0 + (lane + 0u) / 4u, p.m - 1u) * k4 + (lane + 0u) % 4u;
    let src1 = abase + min(m0 + (lane + 8u) / 4u, p.m - 1u) * k4 + (lane + 8u) % 4u;
    let src2 = abase + min(m0 + (lane + 16u) / 4u, p.m - 1u) * k4 + (lane + 16u) % 4u;
    let src3 = abase + min(m0 + (lane + 24u) / 4u, p.m - 1u) * k4 + (lane + 24u) % 4u;
    let src4 = abase + min(m0 + (lane + 32u) / 4u, p.m - 1u) * k4 + (lane + 32u) % 4u;
    let src5 = abase + min(m0 + (lane + 40u) / 4u, p.m - 1u) * k4 + (lane + 40u) % 4u;
    let src6 = abase + min(m0 + (lane + 48u) / 4u, p.m - 1u) * k4 + (lane + 48u) % 4u;
    let src7 = abase + min(m0 + (lane + 56u) / 4u, p.m - 1u) * k4 + (lane + 56u) % 4u;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    var acc4 = vec4<f32>(0.0);
    var acc5 = vec4<f32>(0.0);
    var acc6 = vec4<f32>(0.0);
    var acc7 = vec4<f32>(0.0);
    var acc8 = vec4<f32>(0.0);
    var acc9 = vec4<f32>(0.0);
    var acc10 = vec4<f32>(0.0);
    var acc11 = vec4<f32>(0.0);
    var acc12 = vec4<f32>(0.0);
    var acc13 = vec4<f32>(0.0);
    var acc14 = vec4<f32>(0.0);
    var acc15 = vec4<f32>(0.0);
    for (var kq = 0u; kq < k4; kq += 4u) {
        a_block[lane + 0u] = a4[src0 + kq];
        a_block[lane + 8u] = a4[src1 + kq];
        a_block[lane + 16u] = a4[src2 + kq];
        a_block[lane + 24u] = a4[src3 + kq];
        a_block[lane + 32u] = a4[src4 + kq];
        a_block[lane + 40u] = a4[src5 + kq];
        a_block[lane + 48u] = a4[src6 + kq];
        a_block[lane + 56u] = a4[src7 + kq];
        workgroupBarrier();
        let brow0 = bbase + (kq + 0u) * 4u * n4 + col;
        let b0_0 = b4[brow0 + 0u * n4];
        let b0_1 = b4[brow0 + 1u * n4];
        let b0_2 = b4[brow0 + 2u * n4];
        let b0_3 = b4[brow0 + 3u * n4];
        let a0_0 = a_block[0];
        acc0 = fma(vec4<f32>(a0_0.x), b0_0, acc0);
        acc0 = fma(vec4<f32>(a0_0.y), b0_1, acc0);
        acc0 = fma(vec4<f32>(a0_0.z), b0_2, acc0);
        acc0 = fma(vec4<f32>(a0_0.w), b0_3, acc0);
        let a0_1 = a_block[4];
        acc1 = fma(vec4<f32>(a0_1.x), b0_0, acc1);
        acc1 = fma(vec4<f32>(a0_1.y), b0_1, acc1);
        acc1 = fma(vec4<f32>(a0_1.z), b0_2, acc1);
        acc1 = fma(vec4<f32>(a0_1.w), b0_3, acc1);
        let a0_2 = a_block[8];
        acc2 = fma(vec4<f32>(a0_2.x), b0_0, acc2);
        acc2 = fma(vec4<f32>(a0_2.y), b0_1, acc2);
        acc2 = fma(vec4<f32>(a0_2.z), b0_2, acc2);
        acc2 = fma(vec4<f32>(a0_2.w), b0_3, acc2);
        let a0_3 = a_block[12];
        acc3 = fma(vec4<f32>(a0_3.x), b0_0, acc3);
        acc3 = fma(vec4<f32>(a0_3.y), b0_1, acc3);
        acc3 = fma(vec4<f32>(a0_3.z), b0_2, acc3);
        acc3 = fma(vec4<f32>(a0_3.w), b0_3, acc3);
        let a0_4 = a_block[16];
        acc4 = fma(vec4<f32>(a0_4.x), b0_0, acc4);
        acc4 = fma(vec4<f32>(a0_4.y), b0_1, acc4);
        acc4 = fma(vec4<f32>(a0_4.z), b0_2, acc4);
        acc4 = fma(vec4<f32>(a0_4.w), b0_3, acc4);
        let a0_5 = a_block[20];
        acc5 = fma(vec4<f32>(a0_5.x), b0_0, acc5);
        acc5 = fma(vec4<f32>(a0_5.y), b0_1, acc5);
        acc5 = fma(vec4<f32>(a0_5.z), b0_2, acc5);
        acc5 = fma(vec4<f32>(a0_5.w), b0_3, acc5);
        let a0_6 = a_block[24];
        acc6 = fma(vec4<f32>(a0_6.x), b0_0, acc6);
        acc6 = fma(vec4<f32>(a0_6.y), b0_1, acc6);
        acc6 = fma(vec4<f32>(a0_6.z), b0_2, acc6);
        acc6 = fma(vec4<f32>(a0_6.w), b0_3, acc6);
        let a0_7 = a_block[28];
        acc7 = fma(vec4<f32>(a0_7.x), b0_0, acc7);
        acc7 = fma(vec4<f32>(a0_7.y), b0_1, acc7);
        acc7 = fma(vec4<f32>(a0_7.z), b0_2, acc7);
        acc7 = fma(vec4<f32>(a0_7.w), b0_3, acc7);
        let a0_8 = a_block[32];
        acc8 = fma(vec4<f32>(a0_8.x), b0_0, acc8);
        acc8 = fma(vec4<f32>(a0_8.y), b0_1, acc8);
        acc8 = fma(vec4<f32>(a0_8.z), b0_2, acc8);
        acc8 = fma(vec4<f32>(a0_8.w), b0_3, acc8);
        let a0_9 = a_block[36];
        acc9 = fma(vec4<f32>(a0_9.x), b0_0, acc9);
        acc9 = fma(vec4<f32>(a0_9.y), b0_1, acc9);
        acc9 = fma(vec4<f32>(a0_9.z), b0_2, acc9);
        acc9 = fma(vec4<f32>(a0_9.w), b0_3, acc9);
        let a0_10 = a_block[40];
        acc10 = fma(vec4<f32>(a0_10.x), b0_0, acc10);
        acc10 = fma(vec4<f32>(a0_10.y), b0_1, acc10);
        acc10 = fma(vec4<f32>(a0_10.z), b0_2, acc10);
        acc10 = fma(vec4<f32>(a0_10.w), b0_3, acc10);
        let a0_11 = a_block[44];
        acc11 = fma(vec4<f32>(a0_11.x), b0_0, acc11);
        acc11 = fma(vec4<f32>(a0_11.y), b0_1, acc11);
        acc11 = fma(vec4<f32>(a0_11.z), b0_2, acc11);
        acc11 = fma(vec4<f32>(a0_11.w), b0_3, acc11);
        let a0_12 = a_block[48];
        acc12 = fma(vec4<f32>(a0_12.x), b0_0, acc12);
        acc12 = fma(vec4<f32>(a0_12.y), b0_1, acc12);
        acc12 = fma(vec4<f32>(a0_12.z), b0_2, acc12);
        acc12 = fma(vec4<f32>(a0_12.w), b0_3, acc12);
        let a0_13 = a_block[52];
        acc13 = fma(vec4<f32>(a0_13.x), b0_0, acc13);
        acc13 = fma(vec4<f32>(a0_13.y), b0_1, acc13);
        acc13 = fma(vec4<f32>(a0_13.z), b0_2, acc13);
        acc13 = fma(vec4<f32>(a0_13.w), b0_3, acc13);
        let a0_14 = a_block[56];
        acc14 = fma(vec4<f32>(a0_14.x), b0_0, acc14);
        acc14 = fma(vec4<f32>(a0_14.y), b0_1, acc14);
        acc14 = fma(vec4<f32>(a0_14.z), b0_2, acc14);
        acc14 = fma(vec4<f32>(a0_14.w), b0_3, acc14);
        let a0_15 = a_block[60];
        acc15 = fma(vec4<f32>(a0_15.x), b0_0, acc15);
        acc15 = fma(vec4<f32>(a0_15.y), b0_1, acc15);
        acc15 = fma(vec4<f32>(a0_15.z), b0_2, acc15);
        acc15 = fma(vec4<f32>(a0_15.w), b0_3, acc15);
        let brow1 = bbase + (kq + 1u) * 4u * n4 + col;
        let b1_0 = b4[brow1 + 0u * n4];
        let b1_1 = b4[brow1 + 1u * n4];
        let b1_2 = b4[brow1 + 2u * n4];
        let b1_3 = b4[brow1 + 3u * n4];
        let a1_0 = a_block[1];
        acc0 = fma(vec4<f32>(a1_0.x), b1_0, acc0);
        acc0 = fma(vec4<f32>(a1_0.y), b1_1, acc0);
        acc0 = fma(vec4<f32>(a1_0.z), b1_2, acc0);
        acc0 = fma(vec4<f32>(a1_0.w), b1_3, acc0);
        let a1_1 = a_block[5];
        acc1 = fma(vec4<f32>(a1_1.x), b1_0, acc1);
        acc1 = fma(vec4<f32>(a1_1.y), b1_1, acc1);
        acc1 = fma(vec4<f32>(a1_1.z), b1_2, acc1);
        acc1 = fma(vec4<f32>(a1_1.w), b1_3, acc1);
        let a1_2 = a_block[9];
        acc2 = fma(vec4<f32>(a1_2.x), b1_0, acc2);
        acc2 = fma(vec4<f32>(a1_2.y), b1_1, acc2);
        acc2 = fma(vec4<f32>(a1_2.z), b1_2, acc2);
        acc2 = fma(vec4<f32>(a1_2.w), b1_3, acc2);
        let a1_3 = a_block[13];
        acc3 = fma(vec4<f32>(a1_3.x), b1_0, acc3);
        acc3 = fma(vec4<f32>(a1_3.y), b1_1, acc3);
        acc3 = fma(vec4<f32>(a1_3.z), b1_2, acc3);
        acc3 = fma(vec4<f32>(a1_3.w), b1_3, acc3);
        let a1_4 = a_block[17];
        acc4 = fma(vec4<f32>(a1_4.x), b1_0, acc4);
        acc4 = fma(vec4<f32>(a1_4.y), b1_1, acc4);
        acc4 = fma(vec4<f32>(a1_4.z), b1_2, acc4);
        acc4 = fma(vec4<f32>(a1_4.w), b1_3, acc4);
        let a1_5 = a_block[21];
        acc5 = fma(vec4<f32>(a1_5.x), b1_0, acc5);
        acc5 = fma(vec4<f32>(a1_5.y), b1_1, acc5);
        acc5 = fma(vec4<f32>(a1_5.z), b1_2, acc5);
        acc5 = fma(vec4<f32>(a1_5.w), b1_3, acc5);
        let a1_6 = a_block[25];
        acc6 = fma(vec4<f32>(a1_6.x), b1_0, acc6);
        acc6 = fma(vec4<f32>(a1_6.y), b1_1, acc6);
        acc6 = fma(vec4<f32>(a1_6.z), b1_2, acc6);
        acc6 = fma(vec4<f32>(a1_6.w), b1_3, acc6);
        let a1_7 = a_block[29];
        acc7 = fma(vec4<f32>(a1_7.x), b1_0, acc7);
        acc7 = fma(vec4<f32>(a1_7.y), b1_1, acc7);
        acc7 = fma(vec4<f32>(a1_7.z), b1_2, acc7);
        acc7 = fma(vec4<f32>(a1_7.w), b1_3, acc7);
        let a1_8 = a_block[33];
        acc8 = fma(vec4<f32>(a1_8.x), b1_0, acc8);
        acc8 = fma(vec4<f32>(a1_8.y), b1_1, acc8);
        acc8 = fma(vec4<f32>(a1_8.z), b1_2, acc8);
        acc8 = fma(vec4<f32>(a1_8.w), b1_3, acc8);
        let a1_9 = a_block[37];
        acc9 = fma(vec4<f32>(a1_9.x), b1_0, acc9);
        acc9 = fma(vec4<f32>(a1_9.y), b1_1, acc9);
        acc9 = fma(vec4<f32>(a1_9.z), b1_2, acc9);
        acc9 = fma(vec4<f32>(a1_9.w), b1_3, acc9);
        let a1_10 = a_block[41];
        acc10 = fma(vec4<f32>(a1_10.x), b1_0, acc10);
        acc10 = fma(vec4<f32>(a1_10.y), b1_1, acc10);
        acc10 = fma(vec4<f32>(a1_10.z), b1_2, acc10);
        acc10 = fma(vec4<f32>(a1_10.w), b1_3, acc10);
        let a1_11 = a_block[45];
        acc11 = fma(vec4<f32>(a1_11.x), b1_0, acc11);
        acc11 = fma(vec4<f32>(a1_11.y), b1_1, acc11);
        acc11 = fma(vec4<f32>(a1_11.z), b1_2, acc11);
        acc11 = fma(vec4<f32>(a1_11.w), b1_3, acc11);
        let a1_12 = a_block[49];
        acc12 = fma(vec4<f32>(a1_12.x), b1_0, acc12);
        acc12 = fma(vec4<f32>(a1_12.y), b1_1, acc12);
        acc12 = fma(vec4<f32>(a1_12.z), b1_2, acc12);
        acc12 = fma(vec4<f32>(a1_12.w), b1_3, acc12);
        let a1_13 = a_block[53];
        acc13 = fma(vec4<f32>(a1_13.x), b1_0, acc13);
        acc13 = fma(vec4<f32>(a1_13.y), b1_1, acc13);
        acc13 = fma(vec4<f32>(a1_13.z), b1_2, acc13);
        acc13 = fma(vec4<f32>(a1_13.w), b1_3, acc13);
        let a1_14 = a_block[57];
        acc14 = fma(vec4<f32>(a1_14.x), b1_0, acc14);
        acc14 = fma(vec4<f32>(a1_14.y), b1_1, acc14);
        acc14 = fma(vec4<f32>(a1_14.z), b1_2, acc14);
        acc14 = fma(vec4<f32>(a1_14.w), b1_3, acc14);
        let a1_15 = a_block[61];
        acc15 = fma(vec4<f32>(a1_15.x), b1_0, acc15);
        acc15 = fma(vec4<f32>(a1_15.y), b1_1, acc15);
        acc15 = fma(vec4<f32>(a1_15.z), b1_2, acc15);
        acc15 = fma(vec4<f32>(a1_15.w), b1_3, acc15);
        let brow2 = bbase + (kq + 2u) * 4u * n4 + col;
        let b2_0 = b4[brow2 + 0u * n4];
        let b2_1 = b4[brow2 + 1u * n4];
        let b2_2 = b4[brow2 + 2u * n4];
        let b2_3 = b4[brow2 + 3u * n4];
        let a2_0 = a_block[2];
        acc0 = fma(vec4<f32>(a2_0.x), b2_0, acc0);
        acc0 = fma(vec4<f32>(a2_0.y), b2_1, acc0);
        acc0 = fma(vec4<f32>(a2_0.z), b2_2, acc0);
        acc0 = fma(vec4<f32>(a2_0.w), b2_3, acc0);
        let a2_1 = a_block[6];
        acc1 = fma(vec4<f32>(a2_1.x), b2_0, acc1);
        acc1 = fma(vec4<f32>(a2_1.y), b2_1, acc1);
        acc1 = fma(vec4<f32>(a2_1.z), b2_2, acc1);
        acc1 = fma(vec4<f32>(a2_1.w), b2_3, acc1);
        let a2_2 = a_block[10];
        acc2 = fma(vec4<f32>(a2_2.x), b2_0, acc2);
        acc2 = fma(vec4<f32>(a2_2.y), b2_1, acc2);
        acc2 = fma(vec4<f32>(a2_2.z), b2_2, acc2);
        acc2 = fma(vec4<f32>(a2_2.w), b2_3, acc2);
        let a2_3 = a_block[14];
        acc3 = fma(vec4<f32>(a2_3.x), b2_0, acc3);
        acc3 = fma(vec4<f32>(a2_3.y), b2_1, acc3);
        acc3 = fma(vec4<f32>(a2_3.z), b2_2, acc3);
        acc3 = fma(vec4<f32>(a2_3.w), b2_3, acc3);
        let a2_4 = a_block[18];
        acc4 = fma(vec4<f32>(a2_4.x), b2_0, acc4);
        acc4 = fma(vec4<f32>(a2_4.y), b2_1, acc4);
        acc4 = fma(vec4<f32>(a2_4.z), b2_2, acc4);
        acc4 = fma(vec4<f32>(a2_4.w), b2_3, acc4);
        let a2_5 = a_block[22];
        acc5 = fma(vec4<f32>(a2_5.x), b2_0, acc5);
        acc5 = fma(vec4<f32>(a2_5.y), b2_1, acc5);
        acc5 = fma(vec4<f32>(a2_5.z), b2_2, acc5);
        acc5 = fma(vec4<f32>(a2_5.w), b2_3, acc5);
        let a2_6 = a_block[26];
        acc6 = fma(vec4<f32>(a2_6.x), b2_0, acc6);
        acc6 = fma(vec4<f32>(a2_6.y), b2_1, acc6);
        acc6 = fma(vec4<f32>(a2_6.z), b2_2, acc6);
        acc6 = fma(vec4<f32>(a2_6.w), b2_3, acc6);
        let a2_7 = a_block[30];
        acc7 = fma(vec4<f32>(a2_7.x), b2_0, acc7);
        acc7 = fma(vec4<f32>(a2_7.y), b2_1, acc7);
        acc7 = fma(vec4<f32>(a2_7.z), b2_2, acc7);
        acc7 = fma(vec4<f32>(a2_7.w), b2_3, acc7);
        let a2_8 = a_block[34];
        acc8 = fma(vec4<f32>(a2_8.x), b2_0, acc8);
        acc8 = fma(vec4<f32>(a2_8.y), b2_1, acc8);
        acc8 = fma(vec4<f32>(a2_8.z), b2_2, acc8);
        acc8 = fma(vec4<f32>(a2_8.w), b2_3, acc8);
        let a2_9 = a_block[38];
        acc9 = fma(vec4<f32>(a2_9.x), b2_0, acc9);
        acc9 = fma(vec4<f32>(a2_9.y), b2_1, acc9);
        acc9 = fma(vec4<f32>(a2_9.z), b2_2, acc9);
        acc9 = fma(vec4<f32>(a2_9.w), b2_3, acc9);
        let a2_10 = a_block[42];
        acc10 = fma(vec4<f32>(a2_10.x), b2_0, acc10);
        acc10 = fma(vec4<f32>(a2_10.y), b2_1, acc10);
        acc10 = fma(vec4<f32>(a2_10.z), b2_2, acc10);
        acc10 = fma(vec4<f32>(a2_10.w), b2_3, acc10);
        let a2_11 = a_block[46];
        acc11 = fma(vec4<f32>(a2_11.x), b2_0, acc11);
        acc11 = fma(vec4<f32>(a2_11.y), b2_1, acc11);
        acc11 = fma(vec4<f32>(a2_11.z), b2_2, acc11);
        acc11 = fma(vec4<f32>(a2_11.w), b2_3, acc11);
        let a2_12 = a_block[50];
        acc12 = fma(vec4<f32>(a2_12.x), b2_0, acc12);
        acc12 = fma(vec4<f32>(a2_12.y), b2_1, acc12);
        acc12 = fma(vec4<f32>(a2_12.z), b2_2, acc12);
        acc12 = fma(vec4<f32>(a2_12.w), b2_3, acc12);
        let a2_13 = a_block[54];
        acc13 = fma(vec4<f32>(a2_13.x), b2_0, acc13);
        acc13 = fma(vec4<f32>(a2_13.y), b2_1, acc13);
        acc13 = fma(vec4<f32>(a2_13.z), b2_2, acc13);
        acc13 = fma(vec4<f32>(a2_13.w), b2_3, acc13);
        let a2_14 = a_block[58];
        acc14 = fma(vec4<f32>(a2_14.x), b2_0, acc14);
        acc14 = fma(vec4<f32>(a2_14.y), b2_1, acc14);
        acc14 = fma(vec4<f32>(a2_14.z), b2_2, acc14);
        acc14 = fma(vec4<f32>(a2_14.w), b2_3, acc14);
        let a2_15 = a_block[62];
        acc15 = fma(vec4<f32>(a2_15.x), b2_0, acc15);
        acc15 = fma(vec4<f32>(a2_15.y), b2_1, acc15);
        acc15 = fma(vec4<f32>(a2_15.z), b2_2, acc15);
        acc15 = fma(vec4<f32>(a2_15.w), b2_3, acc15);
        let brow3 = bbase + (kq + 3u) * 4u * n4 + col;
        let b3_0 = b4[brow3 + 0u * n4];
        let b3_1 = b4[brow3 + 1u * n4];
        let b3_2 = b4[brow3 + 2u * n4];
        let b3_3 = b4[brow3 + 3u * n4];
        let a3_0 = a_block[3];
        acc0 = fma(vec4<f32>(a3_0.x), b3_0, acc0);
        acc0 = fma(vec4<f32>(a3_0.y), b3_1, acc0);
        acc0 = fma(vec4<f32>(a3_0.z), b3_2, acc0);
        acc0 = fma(vec4<f32>(a3_0.w), b3_3, acc0);
        let a3_1 = a_block[7];
        acc1 = fma(vec4<f32>(a3_1.x), b3_0, acc1);
        acc1 = fma(vec4<f32>(a3_1.y), b3_1, acc1);
        acc1 = fma(vec4<f32>(a3_1.z), b3_2, acc1);
        acc1 = fma(vec4<f32>(a3_1.w), b3_3, acc1);
        let a3_2 = a_block[11];
        acc2 = fma(vec4<f32>(a3_2.x), b3_0, acc2);
        acc2 = fma(vec4<f32>(a3_2.y), b3_1, acc2);
        acc2 = fma(vec4<f32>(a3_2.z), b3_2, acc2);
        acc2 = fma(vec4<f32>(a3_2.w), b3_3, acc2);
        let a3_3 = a_block[15];
        acc3 = fma(vec4<f32>(a3_3.x), b3_0, acc3);
        acc3 = fma(vec4<f32>(a3_3.y), b3_1, acc3);
        acc3 = fma(vec4<f32>(a3_3.z), b3_2, acc3);
        acc3 = fma(vec4<f32>(a3_3.w), b3_3, acc3);
        let a3_4 = a_block[19];
        acc4 = fma(vec4<f32>(a3_4.x), b3_0, acc4);
        acc4 = fma(vec4<f32>(a3_4.y), b3_1, acc4);
        acc4 = fma(vec4<f32>(a3_4.z), b3_2, acc4);
        acc4 = fma(vec4<f32>(a3_4.w), b3_3, acc4);
        let a3_5 = a_block[23];
        acc5 = fma(vec4<f32>(a3_5.x), b3_0, acc5);
        acc5 = fma(vec4<f32>(a3_5.y), b3_1, acc5);
        acc5 = fma(vec4<f32>(a3_5.z), b3_2, acc5);
        acc5 = fma(vec4<f32>(a3_5.w), b3_3, acc5);
        let a3_6 = a_block[27];
        acc6 = fma(vec4<f32>(a3_6.x), b3_0, acc6);
        acc6 = fma(vec4<f32>(a3_6.y), b3_1, acc6);
        acc6 = fma(vec4<f32>(a3_6.z), b3_2, acc6);
        acc6 = fma(vec4<f32>(a3_6.w), b3_3, acc6);
        let a3_7 = a_block[31];
        acc7 = fma(vec4<f32>(a3_7.x), b3_0, acc7);
        acc7 = fma(vec4<f32>(a3_7.y), b3_1, acc7);
        acc7 = fma(vec4<f32>(a3_7.z), b3_2, acc7);
        acc7 = fma(vec4<f32>(a3_7.w), b3_3, acc7);
        let a3_8 = a_block[35];
        acc8 = fma(vec4<f32>(a3_8.x), b3_0, acc8);
        acc8 = fma(vec4<f32>(a3_8.y), b3_1, acc8);
        acc8 = fma(vec4<f32>(a3_8.z), b3_2, acc8);
        acc8 = fma(vec4<f32>(a3_8.w), b3_3, acc8);
        let a3_9 = a_block[39];
        acc9 = fma(vec4<f32>(a3_9.x), b3_0, acc9);
        acc9 = fma(vec4<f32>(a3_9.y), b3_1, acc9);
        acc9 = fma(vec4<f32>(a3_9.z), b3_2, acc9);
        acc9 = fma(vec4<f32>(a3_9.w), b3_3, acc9);
        let a3_10 = a_block[43];
        acc10 = fma(vec4<f32>(a3_10.x), b3_0, acc10);
        acc10 = fma(vec4<f32>(a3_10.y), b3_1, acc10);
        acc10 = fma(vec4<f32>(a3_10.z), b3_2, acc10);
        acc10 = fma(vec4<f32>(a3_10.w), b3_3, acc10);
        let a3_11 = a_block[47];
        acc11 = fma(vec4<f32>(a3_11.x), b3_0, acc11);
        acc11 = fma(vec4<f32>(a3_11.y), b3_1, acc11);
        acc11 = fma(vec4<f32>(a3_11.z), b3_2, acc11);
        acc11 = fma(vec4<f32>(a3_11.w), b3_3, acc11);
        let a3_12 = a_block[51];
        acc12 = fma(vec4<f32>(a3_12.x), b3_0, acc12);
        acc12 = fma(vec4<f32>(a3_12.y), b3_1, acc12);
        acc12 = fma(vec4<f32>(a3_12.z), b3_2, acc12);
        acc12 = fma(vec4<f32>(a3_12.w), b3_3, acc12);
        let a3_13 = a_block[55];
        acc13 = fma(vec4<f32>(a3_13.x), b3_0, acc13);
        acc13 = fma(vec4<f32>(a3_13.y), b3_1, acc13);
        acc13 = fma(vec4<f32>(a3_13.z), b3_2, acc13);
        acc13 = fma(vec4<f32>(a3_13.w), b3_3, acc13);
        let a3_14 = a_block[59];
        acc14 = fma(vec4<f32>(a3_14.x), b3_0, acc14);
        acc14 = fma(vec4<f32>(a3_14.y), b3_1, acc14);
        acc14 = fma(vec4<f32>(a3_14.z), b3_2, acc14);
        acc14 = fma(vec4<f32>(a3_14.w), b3_3, acc14);
        let a3_15 = a_block[63];
        acc15 = fma(vec4<f32>(a3_15.x), b3_0, acc15);
        acc15 = fma(vec4<f32>(a3_15.y), b3_1, acc15);
        acc15 = fma(vec4<f32>(a3_15.z), b3_2, acc15);
        acc15 = fma(vec4<f32>(a3_15.w), b3_3, acc15);
        workgroupBarrier();
    }
    let cbase = wid.z * p.stride_c;
    let c0 = n0 + 4u * lane;
    store_vec4(m0 + 0u, c0, cbase, acc0);
    store_vec4(m0 + 1u, c0, cbase, acc1);
    store_vec4(m0 + 2u, c0, cbase, acc2);
    store_vec4(m0 + 3u, c0, cbase, acc3);
    store_vec4(m0 + 4u, c0, cbase, acc4);
    store_vec4(m0 + 5u, c0, cbase, acc5);
    store_vec4(m0 + 6u, c0, cbase, acc6);
    store_vec4(m0 + 7u, c0, cbase, acc7);
    store_vec4(m0 + 8u, c0, cbase, acc8);
    store_vec4(m0 + 9u, c0, cbase, acc9);
    store_vec4(m0 + 10u, c0, cbase, acc10);
    store_vec4(m0 + 11u, c0, cbase, acc11);
    store_vec4(m0 + 12u, c0, cbase, acc12);
    store_vec4(m0 + 13u, c0, cbase, acc13);
    store_vec4(m0 + 14u, c0, cbase, acc14);
    store_vec4(m0 + 15u, c0, cbase, acc15);
}

fn store_vec4(row: u32, col: u32, cbase: u32, v: vec4<f32>) {
    if row >= p.m {
        return;
    }
    store_one(row, col, cbase, v.x);
    store_one(row, col + 1u, cbase, v.y);
    store_one(row, col + 2u, cbase, v.z);
    store_one(row, col + 3u, cbase, v.w);
}
