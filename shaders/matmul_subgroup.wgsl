// Matrix multiply C[b] = A[b] @ B[b] (+ bias) (+ C[b] when accumulating) for CPU drivers
// (lavapipe), reading packed operands through textures and sharing B across a subgroup.
// A is an rgba32uint texture array of Kp/4 x M texels, one layer per batch element (texel
// (q, i) holds A[i, 4q..4q+4] as f32 bits); B one of Np/4 x Kp texels (texel (q, k) holds
// B[k, 4q..4q+4]); Kp and Np are K and N rounded up to 64, zero-padded (`matmul_pack.wgsl`).
// bias is (N,), C is (batch, M, N).
// Each workgroup is 8 invocations, which must form one subgroup (the launcher checks the
// adapter's subgroup sizes), and computes 32 rows x 32 columns: invocation `lane` owns rows
// lane, lane+8, lane+16, lane+24 and all 32 columns. Per 4 values of k, each invocation fetches
// its 4 rows of A and 4 of the 32 texels of B the block needs, and the B texels are passed
// around with subgroupBroadcast. On lavapipe every texel fetch gathers 8 lanes, so sharing B
// cuts the fetches per FMA by 4 compared with each lane fetching its own columns.
// Grid: (ceil(N/32), ceil(M/32), batch). `matmul_subgroup_v4` (N a multiple of 4) is the same
// with vec4 bias loads and stores.

// #import "common/matmul_params.wgsl"

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var a_tex: texture_2d_array<u32>;
@group(0) @binding(2) var b_tex: texture_2d_array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

// Rows per invocation (8 apart) and column groups of 4 per workgroup.
const ROWS: u32 = 4u;
const GROUPS: u32 = 8u;

fn fetch(t: texture_2d_array<u32>, x: u32, y: u32, layer: u32) -> vec4<f32> {
    return bitcast<vec4<f32>>(textureLoad(t, vec2<u32>(x, y), layer, 0));
}

// One element of C (batch offset `cz`), skipping the padding outside (M, N).
fn store_at(cz: u32, row: u32, col: u32, value: f32) {
    if row >= p.m || col >= p.n {
        return;
    }
    var v = value;
    if (p.flags & 4u) != 0u {
        v += bias[col];
    }
    let ci = cz + row * p.n + col;
    if (p.flags & 8u) != 0u {
        v += c[ci];
    }
    c[ci] = v;
}

// The 32 x 32 block of workgroup `wid`: lane `lane` holds rows m0 + lane + 8 r, r < ROWS,
// as GROUPS vec4s of 4 columns each.
fn block(wid: vec3<u32>, lane: u32) -> array<array<vec4<f32>, GROUPS>, ROWS> {
    let z = wid.z;
    let m0 = wid.y * 8u * ROWS;
    let g0 = wid.x * GROUPS;
    let kq_end = (p.k + 63u) / 64u * 16u;
    var rows: array<u32, ROWS>;
    for (var r = 0u; r < ROWS; r++) {
        rows[r] = min(m0 + lane + 8u * r, p.m - 1u);
    }
    // Texel t = 4 * group + k offset of the block's 32 B texels is fetched by lane t % 8.
    var bcol: array<u32, 4>;
    var bk: array<u32, 4>;
    for (var s = 0u; s < 4u; s++) {
        let t = 8u * s + lane;
        bcol[s] = g0 + t / 4u;
        bk[s] = t % 4u;
    }
    var acc: array<array<vec4<f32>, GROUPS>, ROWS>;
    for (var kq = 0u; kq < kq_end; kq++) {
        let k0 = kq * 4u;
        var f: array<vec4<f32>, 4>;
        for (var s = 0u; s < 4u; s++) {
            f[s] = fetch(b_tex, bcol[s], k0 + bk[s], z);
        }
        var a: array<vec4<f32>, ROWS>;
        for (var r = 0u; r < ROWS; r++) {
            a[r] = fetch(a_tex, kq, rows[r], z);
        }
        // f[h] holds column group 2h (lanes 0..3, k0..k0+3) and 2h+1 (lanes 4..7).
        for (var h = 0u; h < GROUPS / 2u; h++) {
            let lo = array<vec4<f32>, 4>(
                subgroupBroadcast(f[h], 0u),
                subgroupBroadcast(f[h], 1u),
                subgroupBroadcast(f[h], 2u),
                subgroupBroadcast(f[h], 3u),
            );
            let hi = array<vec4<f32>, 4>(
                subgroupBroadcast(f[h], 4u),
                subgroupBroadcast(f[h], 5u),
                subgroupBroadcast(f[h], 6u),
                subgroupBroadcast(f[h], 7u),
            );
            for (var r = 0u; r < ROWS; r++) {
                for (var j = 0u; j < 4u; j++) {
                    acc[r][2u * h] = fma(vec4(a[r][j]), lo[j], acc[r][2u * h]);
                    acc[r][2u * h + 1u] = fma(vec4(a[r][j]), hi[j], acc[r][2u * h + 1u]);
                }
            }
        }
    }
    return acc;
}

@compute @workgroup_size(8)
fn matmul_subgroup(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let acc = block(wid, lane);
    let cz = wid.z * p.m * p.n;
    for (var r = 0u; r < ROWS; r++) {
        for (var g = 0u; g < GROUPS; g++) {
            let row = wid.y * 8u * ROWS + lane + 8u * r;
            let col = 4u * (wid.x * GROUPS + g);
            for (var j = 0u; j < 4u; j++) {
                store_at(cz, row, col + j, acc[r][g][j]);
            }
        }
    }
}

// The same product with N a multiple of 4: bias, accumulation and stores one vec4 at a time
// (on CPU drivers each access is a loop over the lanes, so the scalar epilogue cost as much
// as the multiply at K = 64). Exactly the same additions in the same order.
@group(0) @binding(3) var<storage, read> bias4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> c4: array<vec4<f32>>;

@compute @workgroup_size(8)
fn matmul_subgroup_v4(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let acc = block(wid, lane);
    let n4 = p.n / 4u;
    let cz = wid.z * p.m * n4;
    for (var r = 0u; r < ROWS; r++) {
        let row = wid.y * 8u * ROWS + lane + 8u * r;
        for (var g = 0u; g < GROUPS; g++) {
            let col4 = wid.x * GROUPS + g;
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
