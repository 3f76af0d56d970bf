// Packs one operand of a matmul for `matmul_subgroup.wgsl`: out[b] = op(X[b]) zero-padded to
// (prows, pcols), where op(X) is the logical (rows, cols) matrix, read from X stored
// (rows, cols), or (cols, rows) when transposed. X is (batch, ..) with batch stride `stride`
// (0: one matrix shared by every batch element); out is (batch, prows, pcols).
// Padding K and N up to multiples of 64 lets the texture copy that follows keep its rows
// 256-byte aligned, and the zeros add nothing to the dot products.
// Grid: (ceil(pcols/8), ceil(prows/8), batch), 8x8 invocations.

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
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(8, 8)
fn matmul_pack(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    let r = gid.y;
    let b = gid.z;
    if r >= p.prows || c >= p.pcols {
        return;
    }
    var v = 0.0;
    if r < p.rows && c < p.cols {
        let i = select(r * p.cols + c, c * p.rows + r, p.trans != 0u);
        v = x[b * p.stride + i];
    }
    out[(b * p.prows + r) * p.pcols + c] = v;
}
