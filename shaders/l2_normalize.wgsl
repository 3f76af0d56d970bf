// Row-wise L2 normalisation (the VTC embeddings, as torch's F.normalize): x and y are
// [rows, dim];  y[r, :] = x[r, :] / max(‖x[r, :]‖, eps).
// One thread per row (rows are short embedding vectors); the backward is
// l2_normalize_backward.wgsl.

struct Params {
    rows: u32,
    dim: u32,
    eps: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn l2_normalize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_id) lid: vec3<u32>) {
    let r = (wid.y * nwg.x + wid.x) * 64u + lid.x;
    if r >= p.rows { return; }
    let base = r * p.dim;
    var ss = 0.0;
    for (var j = 0u; j < p.dim; j++) {
        ss += x[base + j] * x[base + j];
    }
    let inv = 1.0 / max(sqrt(ss), p.eps);
    for (var j = 0u; j < p.dim; j++) {
        y[base + j] = x[base + j] * inv;
    }
}
