// Quick GELU (OpenAI CLIP's activation, Hugging Face's "quick_gelu"); x and out are (n,):
//   forward  (backward = 0): out = x * sigmoid(alpha * x)     (alpha = 1.702 for CLIP)
//   backward (backward = 1): out = dy * (s + alpha * x * s * (1 - s)),
//                            s = sigmoid(alpha * x)
// One entry for both, so both bind the same layout; the forward leaves dy unread (its
// launcher binds x there). The backward reads x and the output gradient dy. The sigmoid
// takes exp of a non-positive argument only, so it never overflows. Same 1-D dispatch
// convention as elementwise.wgsl: 64 threads a workgroup, the linear count possibly folded
// into (x, y).

struct Params {
    n: u32,
    alpha: f32,
    backward: u32,
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    return (wid.y * nwg.x + wid.x) * 64u + lid.x;
}

fn sigmoid(z: f32) -> f32 {
    let e = exp(-abs(z));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), z >= 0.0);
}

@compute @workgroup_size(64)
fn quick_gelu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if i >= p.n { return; }
    let v = x[i];
    let s = sigmoid(p.alpha * v);
    if p.backward == 0u {
        out[i] = v * s;
    } else {
        out[i] = dy[i] * (s + p.alpha * v * s * (1.0 - s));
    }
}
