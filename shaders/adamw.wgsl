// Fused AdamW update (decoupled weight decay, bias correction) of one parameter tensor:
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

@compute @workgroup_size(64)
fn adamw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
    let i = (wid.y * nwg.x + wid.x) * 64u + li;
    if i >= p.n { return; }
    let g = grad[i] * clip[1];
    let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
    let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    let w = param[i];
    param[i] = w - p.lr * (p.weight_decay * w + (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps));
}
