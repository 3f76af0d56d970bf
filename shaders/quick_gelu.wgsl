// Quick GELU (OpenAI CLIP's activation, Hugging Face's "quick_gelu"); x and out are (n,):
//   forward  (backward = 0): out = x * sigmoid(alpha * x)     (alpha = 1.702 for CLIP)
//   backward (backward = 1): out = dy * (s + alpha * x * s * (1 - s)),
//                            s = sigmoid(alpha * x)
// One entry for both, so both bind the same layout; the forward leaves dy unread (its
// launcher binds x there). The backward reads x and the output gradient dy. The sigmoid
// takes exp of a non-positive argument only, so it never overflows. One invocation a vec4
// (common/flat4.wgsl), as elementwise.wgsl.

struct Params {
    n: u32,
    alpha: f32,
    backward: u32,
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;

// #import "common/flat4.wgsl"

fn sigmoid(z: vec4<f32>) -> vec4<f32> {
    let e = exp(-abs(z));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), z >= vec4(0.0));
}

@compute @workgroup_size(64)
fn quick_gelu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if !in_range(i) { return; }
    let v = x[i];
    let s = sigmoid(p.alpha * v);
    if p.backward == 0u {
        put(i, v * s);
    } else {
        put(i, dy[i] * (s + p.alpha * v * s * (1.0 - s)));
    }
}
