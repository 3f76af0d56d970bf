// Frame differences over time, and their gradient (model::video::frame_differences):
//   forward  (dir 0): y[b, t, f] = x[b, t, f] - x[b, t - 1, f]   (t >= 1; y[b, 0] = x[b, 0])
//   backward (dir 1): y[b, t, f] = x[b, t, f] - x[b, t + 1, f]   (t <= T - 2; the last as is)
// x and y are [B, T, F] (F = C·H·W); the backward's x is the output gradient. One thread per
// element, 64 a workgroup, the linear count folded into (x, y). frame_diff4, for F % 4 = 0:
// the same, one vec4 an invocation (llvmpipe moves a vec4 a lane at the cost of a scalar).

struct Params {
    batch: u32,
    frames: u32,
    features: u32,
    dir: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn frame_diff(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = (wid.y * nwg.x + wid.x) * 64u + lid.x;
    if i >= p.batch * p.frames * p.features { return; }
    let t = (i / p.features) % p.frames;
    var v = x[i];
    if p.dir == 0u {
        if t >= 1u { v -= x[i - p.features]; }
    } else {
        if t + 1u < p.frames { v -= x[i + p.features]; }
    }
    y[i] = v;
}

@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<f32>>;

@compute @workgroup_size(64)
fn frame_diff4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = (wid.y * nwg.x + wid.x) * 64u + lid.x;
    let f4 = p.features / 4u;
    if i >= p.batch * p.frames * f4 { return; }
    let t = (i / f4) % p.frames;
    var v = x4[i];
    if p.dir == 0u {
        if t >= 1u { v -= x4[i - f4]; }
    } else {
        if t + 1u < p.frames { v -= x4[i + f4]; }
    }
    y4[i] = v;
}
