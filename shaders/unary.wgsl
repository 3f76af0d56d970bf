// Single-input elementwise kernels over flat f32 buffers of n elements; x and out are (n,):
//   scale: out = alpha * x;  gelu: out = x * Phi(x) (erf form, as BERT uses);  tanh: out = tanh(x);
//   dropout: out = keep(seed, i) ? x * beta : 0 with P(drop) = alpha and beta = 1 / (1 - alpha),
//     where keep hashes (seed, i), so the backward pass regenerates the same mask from the seed;
//   accumulate: out += alpha * x (in place: gradient accumulation, and the SGD step with
//     alpha = -lr).
// Same 1-D dispatch convention as elementwise.wgsl.

struct Params {
    n: u32,
    alpha: f32,
    beta: f32,
    seed: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    return (wid.y * nwg.x + wid.x) * 64u + lid.x;
}

@compute @workgroup_size(64)
fn scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if i >= p.n { return; }
    out[i] = p.alpha * x[i];
}

@compute @workgroup_size(64)
fn accumulate(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if i >= p.n { return; }
    out[i] = out[i] + p.alpha * x[i];
}

// erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7); WGSL has no erf.
fn erf_approx(z: f32) -> f32 {
    let a = abs(z);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t
        + 0.254829592) * t;
    return sign(z) * (1.0 - poly * exp(-a * a));
}

@compute @workgroup_size(64)
fn gelu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if i >= p.n { return; }
    let v = x[i];
    out[i] = 0.5 * v * (1.0 + erf_approx(v * 0.70710678118654752));
}

@compute @workgroup_size(64)
fn tanh_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if i >= p.n { return; }
    // tanh through exp of a clamped argument: some backends overflow tanh(|x| > 44).
    let v = clamp(x[i], -15.0, 15.0);
    let e = exp(2.0 * v);
    out[i] = (e - 1.0) / (e + 1.0);
}

// PCG hash (O'Neill): a well-mixed u32 from a u32.
fn pcg(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

@compute @workgroup_size(64)
fn dropout(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if i >= p.n { return; }
    let u = f32(pcg(i ^ pcg(p.seed)) >> 8u) * (1.0 / 16777216.0);
    out[i] = select(0.0, x[i] * p.beta, u >= p.alpha);
}
