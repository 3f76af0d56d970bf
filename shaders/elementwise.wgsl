// Elementwise kernels over flat f32 buffers of n elements, x, y, out all (n,) unless stated:
//   add: out = x + y; mul: out = x * y; axpby: out = alpha * x + beta * y;
//   add_broadcast: out = x + y[i % period], y is (period,) (a bias over leading dimensions);
//   gelu_backward: out = y * gelu'(x) (GELU in the erf form, as BERT uses);
//   tanh_backward: out = y * (1 - x^2) where x holds tanh's output;
// In-place and single-input kernels (scale, GELU, tanh, dropout, accumulate) are in unary.wgsl.
// One invocation a vec4 (common/flat4.wgsl): the grid covers ceil(n / 4) vec4s.

struct Params {
    n: u32,
    alpha: f32,
    beta: f32,
    // add_broadcast: the length of y, repeated along x.
    period: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> y: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;

// #import "common/flat4.wgsl"

@compute @workgroup_size(64)
fn add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if !in_range(i) { return; }
    put(i, x[i] + y[i]);
}

@compute @workgroup_size(64)
fn mul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if !in_range(i) { return; }
    put(i, x[i] * y[i]);
}

@compute @workgroup_size(64)
fn axpby(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if !in_range(i) { return; }
    put(i, p.alpha * x[i] + p.beta * y[i]);
}

// y[e] for one element index e (y is (period,), read a lane at a time).
fn y_at(e: u32) -> f32 {
    return y[e / 4u][e % 4u];
}

@compute @workgroup_size(64)
fn add_broadcast(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if !in_range(i) { return; }
    var b: vec4<f32>;
    if p.period == p.n {
        // Same shapes (a residual add): no broadcast, no division.
        b = y[i];
    } else if p.period % 4u == 0u {
        // A whole vec4 of y lines up with this one.
        b = y[i % (p.period / 4u)];
    } else {
        let e = lanes(i) % vec4(p.period);
        b = vec4(y_at(e.x), y_at(e.y), y_at(e.z), y_at(e.w));
    }
    put(i, x[i] + b);
}

@compute @workgroup_size(64)
fn gelu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if !in_range(i) { return; }
    let v = x[i];
    let cdf = 0.5 * (1.0 + erf4(v * INV_SQRT2));
    put(i, y[i] * (cdf + v * INV_SQRT_2PI * exp(-0.5 * v * v)));
}

@compute @workgroup_size(64)
fn tanh_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if !in_range(i) { return; }
    let t = x[i];
    put(i, y[i] * (1.0 - t * t));
}
