// Reductions over one axis of a tensor viewed as (outer, axis, inner):
//   reduce: out[o, i] = sum / mean / max over a of x[o, a, i]; idx[o, i] = the first arg-max
//     (written for every op so the binding set stays fixed; only max's backward reads it).
//     op: 0 sum, 1 mean, 2 max. x is (outer, axis, inner); out, idx are (outer, inner).
//   reduce_backward: dx[o, a, i] = dy[o, i] (sum), dy[o, i] / axis (mean), or dy[o, i] where
//     a == idx[o, i] and 0 elsewhere (max). dy, idx are (outer, inner); dx is (outer, axis, inner).
// One thread per output element (forward) or input element (backward), 1-D dispatch of 64.

struct Params {
    outer: u32,
    axis: u32,
    inner: u32,
    op: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> idx: array<u32>;

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> saved_idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(64)
fn reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    let t = (wid.y * nwg.x + wid.x) * 64u + lid.x;
    if t >= p.outer * p.inner { return; }
    let o = t / p.inner;
    let i = t % p.inner;
    let base = o * p.axis * p.inner + i;
    var acc = 0.0;
    var best = x[base];
    var arg = 0u;
    for (var a = 0u; a < p.axis; a++) {
        let v = x[base + a * p.inner];
        acc += v;
        if v > best {
            best = v;
            arg = a;
        }
    }
    var r = acc;
    if p.op == 1u {
        r = acc / f32(p.axis);
    } else if p.op == 2u {
        r = best;
    }
    out[t] = r;
    idx[t] = arg;
}

@compute @workgroup_size(64)
fn reduce_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_id) lid: vec3<u32>) {
    let t = (wid.y * nwg.x + wid.x) * 64u + lid.x;
    if t >= p.outer * p.axis * p.inner { return; }
    let i = t % p.inner;
    let a = (t / p.inner) % p.axis;
    let o = t / (p.inner * p.axis);
    let j = o * p.inner + i;
    var g = dy[j];
    if p.op == 1u {
        g = g / f32(p.axis);
    } else if p.op == 2u && saved_idx[j] != a {
        g = 0.0;
    }
    dx[t] = g;
}
