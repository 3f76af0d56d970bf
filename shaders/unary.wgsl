// Single-input elementwise kernels over flat f32 buffers of n elements; x and out are (n,):
//   scale: out = alpha * x;  gelu: out = x * Phi(x) (erf form, as BERT uses);  tanh: out = tanh(x);
//   dropout: out = keep(seed, i) ? x * beta : 0 with P(drop) = alpha and beta = 1 / (1 - alpha),
//     where keep hashes (seed, i), so the backward pass regenerates the same mask from the seed;
//   accumulate: out += alpha * x (in place: gradient accumulation, and the SGD step with
//     alpha = -lr).
// One invocation a vec4 (common/flat4.wgsl), as elementwise.wgsl.

struct Params {
    n: u32,
    alpha: f32,
    beta: f32,
    seed: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;

// #import "common/flat4.wgsl"

@compute @workgroup_size(64)
fn scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if !in_range(i) { return; }
    put(i, p.alpha * x[i]);
}

@compute @workgroup_size(64)
fn accumulate(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if !in_range(i) { return; }
    put(i, out[i] + p.alpha * x[i]);
}

@compute @workgroup_size(64)
fn gelu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if !in_range(i) { return; }
    let v = x[i];
    put(i, 0.5 * v * (1.0 + erf4(v * INV_SQRT2)));
}

@compute @workgroup_size(64)
fn tanh_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if !in_range(i) { return; }
    // tanh through exp of a clamped argument: some backends overflow tanh(|x| > 44).
    let v = clamp(x[i], vec4(-15.0), vec4(15.0));
    let e = exp(2.0 * v);
    put(i, (e - 1.0) / (e + 1.0));
}

// PCG hash (O'Neill): a well-mixed u32 from a u32, a lane at a time.
fn pcg(v: vec4<u32>) -> vec4<u32> {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> vec4(28u)) + 4u)) ^ state) * 277803737u;
    return (word >> vec4(22u)) ^ word;
}

@compute @workgroup_size(64)
fn dropout(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if !in_range(i) { return; }
    let u = vec4<f32>(pcg(lanes(i) ^ pcg(vec4(p.seed))) >> vec4(8u)) * (1.0 / 16777216.0);
    put(i, select(vec4(0.0), x[i] * p.beta, u >= vec4(p.alpha)));
}
