// Prepend a learned [CLS] token to every sequence of a batch:
//   out[b, 0, :] = cls[:],  out[b, 1 + n, :] = x[b, n, :]
// x is [B, N, D], cls is [D], out is [B, N + 1, D]. One thread per output element.
// The backward (a separate file, since its buffers are written) is prepend_cls_backward.wgsl.

struct Params {
    batch: u32,
    tokens: u32,
    dim: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> cls: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn prepend(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = (wid.y * nwg.x + wid.x) * 64u + lid.x;
    let row = (p.tokens + 1u) * p.dim;
    if i >= p.batch * row { return; }
    let b = i / row;
    let r = i % row;
    if r < p.dim {
        out[i] = cls[r];
    } else {
        out[i] = x[b * p.tokens * p.dim + r - p.dim];
    }
}
