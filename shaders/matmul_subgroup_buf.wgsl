// Matrix multiply C[b] = op(A[b]) @ op(B[b]) (+ bias) (+ C[b] when accumulating) for CPU
// drivers (lavapipe), reading both operands straight from storage buffers, transposed or not,
// with B shared across a subgroup: the sibling of `matmul_subgroup.wgsl` for the small,
// transposed and short-K products of a small model, where packing the operands into padded
// textures cost as much as the product (BENCHMARKS.md, "Training speed").
// op(A) is (M, K): A stored (M, K), or (K, M) when `trans_a`; op(B) is (K, N): B stored
// (K, N), or (N, K) when `trans_b`. Batch element z starts at z * stride_a in A (0: shared),
// z * stride_b in B and z * M * N in C; bias is (N,).
// Every access is a vec4, so the launcher requires N % 4 == 0, M % 4 == 0 when `trans_a`
// (4 rows at one k), K % 4 == 0 when A is not transposed or B is (4 values of k at one row);
// only a transposed A with a plain B may have any K, and its tail values of k read as zero.
// Each workgroup is 8 invocations, which must form one subgroup, and computes 32 rows x 32
// columns of C: invocation `lane` owns rows 4 lane .. 4 lane + 3 and all 32 columns (8
// groups of 4). Per 4 values of k it loads its 4 rows of A (4 vec4s, transposed in registers
// when A is) and, for column group `lane`, the 4 rows of B (4 vec4s, transposed in registers
// when B is), and passes the B quads to the others with subgroupBroadcast.
// Grid: (ceil(N/32), ceil(M/32), batch).

// #import "common/matmul_params.wgsl"

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> c4: array<vec4<f32>>;

override trans_a: bool = false;
override trans_b: bool = false;

const ROWS: u32 = 4u;
const GROUPS: u32 = 8u;

fn transpose4(q: array<vec4<f32>, 4>) -> array<vec4<f32>, 4> {
    var t: array<vec4<f32>, 4>;
    for (var i = 0u; i < 4u; i++) {
        t[i] = vec4(q[0][i], q[1][i], q[2][i], q[3][i]);
    }
    return t;
}

// A[row0 + r, k0 .. k0 + 4] for r < 4 (rows clamped to M - 1; k past K reads zero).
fn a_quads(za: u32, row0: u32, k0: u32) -> array<vec4<f32>, 4> {
    var q: array<vec4<f32>, 4>;
    if trans_a {
        // Stored (K, M): at each k, one vec4 holds the 4 rows (M % 4 == 0, row0 <= M - 4).
        let r0 = min(row0, p.m - 4u);
        for (var j = 0u; j < 4u; j++) {
            let k = min(k0 + j, p.k - 1u);
            let v = a4[(za + k * p.m + r0) / 4u];
            q[j] = select(vec4(0.0), v, k0 + j < p.k);
        }
        return transpose4(q);
    }
    for (var r = 0u; r < 4u; r++) {
        let row = min(row0 + r, p.m - 1u);
        q[r] = a4[(za + row * p.k + k0) / 4u];
    }
    return q;
}

// B[k0 + j, 4 g .. 4 g + 4] for j < 4 (g clamped to the last group; k past K reads zero).
fn b_quads(zb: u32, k0: u32, g: u32) -> array<vec4<f32>, 4> {
    let n4 = p.n / 4u;
    let gc = min(g, n4 - 1u);
    var q: array<vec4<f32>, 4>;
    if trans_b {
        // Stored (N, K): columns 4 gc + e hold k0 .. k0 + 4 in one vec4 (K % 4 == 0).
        let k4 = p.k / 4u;
        for (var e = 0u; e < 4u; e++) {
            q[e] = b4[(zb / 4u) + (4u * gc + e) * k4 + k0 / 4u];
        }
        return transpose4(q);
    }
    for (var j = 0u; j < 4u; j++) {
        let k = min(k0 + j, p.k - 1u);
        let v = b4[(zb + k * p.n) / 4u + gc];
        q[j] = select(vec4(0.0), v, k0 + j < p.k);
    }
    return q;
}

// acc[r][g] += A[row r, k0 .. k0 + 4] . B[k0 .. k0 + 4, column group g] for the 4 rows.
fn mac(
    acc: ptr<function, array<array<vec4<f32>, GROUPS>, ROWS>>,
    g: u32,
    a: array<vec4<f32>, 4>,
    b: array<vec4<f32>, 4>,
) {
    for (var r = 0u; r < ROWS; r++) {
        for (var j = 0u; j < 4u; j++) {
            (*acc)[r][g] = fma(vec4(a[r][j]), b[j], (*acc)[r][g]);
        }
    }
}

@compute @workgroup_size(8)
fn matmul_subgroup_buf(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let z = wid.z;
    let za = z * p.stride_a;
    let zb = z * p.stride_b;
    let row0 = wid.y * 32u + 4u * lane;
    let g0 = wid.x * GROUPS;
    let kq_end = (p.k + 3u) / 4u;
    var acc: array<array<vec4<f32>, GROUPS>, ROWS>;
    for (var kq = 0u; kq < kq_end; kq++) {
        let k0 = 4u * kq;
        let bq = b_quads(zb, k0, g0 + lane);
        let a = a_quads(za, row0, k0);
        // subgroupBroadcast takes a constant lane: one line per column group.
        mac(&acc, 0u, a, array(
            subgroupBroadcast(bq[0], 0u), subgroupBroadcast(bq[1], 0u),
            subgroupBroadcast(bq[2], 0u), subgroupBroadcast(bq[3], 0u),
        ));
        mac(&acc, 1u, a, array(
            subgroupBroadcast(bq[0], 1u), subgroupBroadcast(bq[1], 1u),
            subgroupBroadcast(bq[2], 1u), subgroupBroadcast(bq[3], 1u),
        ));
        mac(&acc, 2u, a, array(
            subgroupBroadcast(bq[0], 2u), subgroupBroadcast(bq[1], 2u),
            subgroupBroadcast(bq[2], 2u), subgroupBroadcast(bq[3], 2u),
        ));
        mac(&acc, 3u, a, array(
            subgroupBroadcast(bq[0], 3u), subgroupBroadcast(bq[1], 3u),
            subgroupBroadcast(bq[2], 3u), subgroupBroadcast(bq[3], 3u),
        ));
        mac(&acc, 4u, a, array(
            subgroupBroadcast(bq[0], 4u), subgroupBroadcast(bq[1], 4u),
            subgroupBroadcast(bq[2], 4u), subgroupBroadcast(bq[3], 4u),
        ));
        mac(&acc, 5u, a, array(
            subgroupBroadcast(bq[0], 5u), subgroupBroadcast(bq[1], 5u),
            subgroupBroadcast(bq[2], 5u), subgroupBroadcast(bq[3], 5u),
        ));
        mac(&acc, 6u, a, array(
            subgroupBroadcast(bq[0], 6u), subgroupBroadcast(bq[1], 6u),
            subgroupBroadcast(bq[2], 6u), subgroupBroadcast(bq[3], 6u),
        ));
        mac(&acc, 7u, a, array(
            subgroupBroadcast(bq[0], 7u), subgroupBroadcast(bq[1], 7u),
            subgroupBroadcast(bq[2], 7u), subgroupBroadcast(bq[3], 7u),
        ));
    }
    let n4 = p.n / 4u;
    let cz = z * p.m * n4;
    for (var r = 0u; r < ROWS; r++) {
        let row = row0 + r;
        for (var g = 0u; g < GROUPS; g++) {
            let col4 = g0 + g;
            if row < p.m && col4 < n4 {
                var v = acc[r][g];
                if (p.flags & 4u) != 0u {
                    v += bias4[col4];
                }
                let ci = cz + row * n4 + col4;
                if (p.flags & 8u) != 0u {
                    v += c4[ci];
                }
                c4[ci] = v;
            }
        }
    }
}
