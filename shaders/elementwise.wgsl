// Elementwise kernels over flat f32 buffers of n elements: out = x + y, out = x * y,
// out = alpha * x + beta * y. x, y, out are (n,).
//
// Dispatch convention (src/gpu/batch.rs): 64 threads a workgroup; the linear workgroup count
// may be folded into an (x, y) grid when it exceeds 65 535, so the element index is
// (wid.y * nwg.x + wid.x) * 64 + lid.x, guarded against n.

struct Params {
    n: u32,
    alpha: f32,
    beta: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    return (wid.y * nwg.x + wid.x) * 64u + lid.x;
}

@compute @workgroup_size(64)
fn add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if i >= p.n { return; }
    out[i] = x[i] + y[i];
}

@compute @workgroup_size(64)
fn mul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if i >= p.n { return; }
    out[i] = x[i] * y[i];
}

@compute @workgroup_size(64)
fn axpby(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if i >= p.n { return; }
    out[i] = p.alpha * x[i] + p.beta * y[i];
}
