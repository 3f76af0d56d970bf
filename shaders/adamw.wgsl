// Fused AdamW update (decoupled weight decay, bias correction) of one parameter tensor
// (adamw) or of a flat group of tensors in one dispatch (adamw_flat, below):
//   g = grad * clip[1]                         (global-norm clipping scale, 1 when unclipped)
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
//   param -= lr * (wd * param + (m / bc1) / (sqrt(v / bc2) + eps))
// with bc1 = 1 - beta1^t and bc2 = 1 - beta2^t computed on the host from the step count t.
// param, grad, m, v are (n,); clip is (2,): [global gradient norm, scale] from grad_norm.wgsl,
// read on the GPU so that clipping needs no readback.
//
// Grid: a linear count of 64-thread workgroups, folded into (x, y); one thread per element.

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
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> clip: array<f32>;

// One element's update with weight decay wd.
fn update(i: u32, wd: f32) {
    let g = grad[i] * clip[1];
    let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
    let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    let w = param[i];
    param[i] = w - p.lr * (wd * w + (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps));
}

@compute @workgroup_size(64)
fn adamw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
    let i = (wid.y * nwg.x + wid.x) * 64u + li;
    if i >= p.n { return; }
    update(i, p.weight_decay);
}

// Multi-tensor form: param, grad, m, v hold a group of tensors laid end to end (n elements in
// all) and segs[k] = (end of tensor k, flags), ends ascending; flags bit 0: decayed (else wd is
// 0), bit 1: has a gradient this step (else the element is left as it is). A thread finds its
// tensor by binary search over the ends.
@group(0) @binding(6) var<storage, read> segs: array<vec2<u32>>;

@compute @workgroup_size(64)
fn adamw_flat(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = (wid.y * nwg.x + wid.x) * 64u + li;
    if i >= p.n { return; }
    var lo = 0u;
    var hi = arrayLength(&segs) - 1u;
    while lo < hi {
        let mid = (lo + hi) / 2u;
        if segs[mid].x <= i { lo = mid + 1u; } else { hi = mid; }
    }
    let flags = segs[lo].y;
    if (flags & 2u) == 0u { return; }
    update(i, select(0.0, p.weight_decay, (flags & 1u) != 0u));
}
