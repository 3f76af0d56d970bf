// Fused AdamW update (decoupled weight decay, bias correction) of one parameter tensor
// (adamw) or of a flat group of tensors in one dispatch (adamw_flat, below):
//   g = grad * clip[1]                         (global-norm clipping scale, 1 when unclipped)
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
//   param -= lr * (wd * param + (m / bc1) / (sqrt(v / bc2) + eps))
// with bc1 = 1 - beta1^t and bc2 = 1 - beta2^t computed on the host from the step count t.
// param, grad, m, v are (n,); clip is (2,): [global gradient norm, scale] from grad_norm.wgsl,
// read on the GPU so that clipping needs no readback.
//
// Grid: a linear count of 64-thread workgroups, folded into (x, y); one invocation a vec4,
// elements 4 i .. 4 i + 3 (llvmpipe moves a vec4 a lane at the cost of a scalar: BENCHMARKS.md,
// "The CPU path against XLA"). The launcher binds param, grad, m and v rounded up to whole
// vec4s inside their allocations; lanes at n and past keep what they hold.

struct Params {
    n: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    bc1: f32,
    bc2: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> grad: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> v: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> clip: array<f32>;

fn vec4_index(wid: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wid.y * nwg.x + wid.x) * 64u + li;
}

// The update of vec4 i with weight decay wd[j] on lane j, where live[j] (the others keep
// their values: past n, or in a tensor without a gradient this step).
fn update(i: u32, wd: vec4<f32>, live: vec4<bool>) {
    let g = grad[i] * clip[1];
    let m0 = m[i];
    let v0 = v[i];
    let mi = p.beta1 * m0 + (1.0 - p.beta1) * g;
    let vi = p.beta2 * v0 + (1.0 - p.beta2) * g * g;
    let w = param[i];
    let wi = w - p.lr * (wd * w + (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps));
    m[i] = select(m0, mi, live);
    v[i] = select(v0, vi, live);
    param[i] = select(w, wi, live);
}

// The lanes of vec4 i below n.
fn below_n(i: u32) -> vec4<bool> {
    return vec4(4u * i) + vec4(0u, 1u, 2u, 3u) < vec4(p.n);
}

@compute @workgroup_size(64)
fn adamw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
    let i = vec4_index(wid, nwg, li);
    if 4u * i >= p.n { return; }
    update(i, vec4(p.weight_decay), below_n(i));
}

// Multi-tensor form: param, grad, m, v hold a group of tensors laid end to end (n elements in
// all) and segs[k] = (end of tensor k, flags), ends ascending; flags bit 0: decayed (else wd is
// 0), bit 1: has a gradient this step (else the element is left as it is). An invocation finds
// the tensor of its first element by binary search over the ends, and steps to the next ones
// where its vec4 crosses an end.
@group(0) @binding(6) var<storage, read> segs: array<vec2<u32>>;

@compute @workgroup_size(64)
fn adamw_flat(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = vec4_index(wid, nwg, li);
    let e0 = 4u * i;
    if e0 >= p.n { return; }
    let last = arrayLength(&segs) - 1u;
    var lo = 0u;
    var hi = last;
    while lo < hi {
        let mid = (lo + hi) / 2u;
        if segs[mid].x <= e0 { lo = mid + 1u; } else { hi = mid; }
    }
    var wd = vec4(0.0);
    var live = below_n(i);
    for (var j = 0u; j < 4u; j++) {
        while lo < last && segs[lo].x <= e0 + j { lo++; }
        let flags = segs[lo].y;
        wd[j] = select(0.0, p.weight_decay, (flags & 1u) != 0u);
        live[j] = live[j] && (flags & 2u) != 0u;
    }
    update(i, wd, live);
}
