// Elementwise kernels over flat f32 buffers of n elements, x, y, out all (n,) unless stated:
//   add: out = x + y; mul: out = x * y; axpby: out = alpha * x + beta * y;
//   add_broadcast: out = x + y[i % period], y is (period,) (a bias over leading dimensions);
//   gelu_backward: out = y * gelu'(x) (GELU in the erf form, as BERT uses);
//   tanh_backward: out = y * (1 - x^2) where x holds tanh's output;
// In-place and single-input kernels (scale, GELU, tanh, dropout, accumulate) are in unary.wgsl.
//
// Dispatch convention (src/gpu/batch.rs): 64 threads a workgroup; the linear workgroup count
// may be folded into an (x, y) grid when it exceeds 65 535, so the element index is
// (wid.y * nwg.x + wid.x) * 64 + lid.x, guarded against n.

struct Params {
    n: u32,
    alpha: f32,
    beta: f32,
    // add_broadcast: the length of y, repeated along x.
    period: u32,
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

@compute @workgroup_size(64)
fn add_broadcast(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if i >= p.n { return; }
    out[i] = x[i] + y[i % p.period];
}

const INV_SQRT2: f32 = 0.70710678118654752;
const INV_SQRT_2PI: f32 = 0.39894228040143268;

// erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7); WGSL has no erf.
fn erf_approx(z: f32) -> f32 {
    let a = abs(z);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t
        + 0.254829592) * t;
    return sign(z) * (1.0 - poly * exp(-a * a));
}

@compute @workgroup_size(64)
fn gelu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if i >= p.n { return; }
    let v = x[i];
    let cdf = 0.5 * (1.0 + erf_approx(v * INV_SQRT2));
    out[i] = y[i] * (cdf + v * INV_SQRT_2PI * exp(-0.5 * v * v));
}

@compute @workgroup_size(64)
fn tanh_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if i >= p.n { return; }
    let t = x[i];
    out[i] = y[i] * (1.0 - t * t);
}
