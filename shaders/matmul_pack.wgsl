// Packs one operand of a matmul for `matmul_subgroup.wgsl`: out[b] = op(X[b]) zero-padded to
// (prows, pcols), where op(X) is the logical (rows, cols) matrix, read from X stored
// (rows, cols), or (cols, rows) when transposed. X is (batch, ..) with batch stride `stride`
// (0: one matrix shared by every batch element); out is (batch, prows, pcols).
// Padding K and N up to multiples of 64 lets the texture copy that follows keep its rows
// 256-byte aligned, and the zeros add nothing to the dot products.
// Each invocation writes 4 consecutive columns as one vec4 (pcols is a multiple of 64).
// Grid: (ceil(pcols/32), ceil(prows/8), batch), 8x8 invocations.

struct Params {
    rows: u32,
    cols: u32,
    prows: u32,
    pcols: u32,
    stride: u32,
    trans: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(8, 8)
fn matmul_pack(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c0 = gid.x * 4u;
    let r = gid.y;
    let b = gid.z;
    if r >= p.prows || c0 >= p.pcols {
        return;
    }
    var v = vec4<f32>(0.0);
    for (var e = 0u; e < 4u; e++) {
        let c = c0 + e;
        if r < p.rows && c < p.cols {
            let i = select(r * p.cols + c, c * p.rows + r, p.trans != 0u);
            v[e] = x[b * p.stride + i];
        }
    }
    out[((b * p.prows + r) * p.pcols + c0) / 4u] = v;
}
