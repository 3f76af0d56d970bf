// Softmax and log-softmax over the last dimension, fused and numerically stable (the row max
// is subtracted before exp, so logits of +-1e4 give no Inf or NaN). x, y, dy, dx are (rows, C).
//   forward:  y = softmax(x) or, with log = 1, y = x - max - log(sum(exp(x - max)))
//   backward: dx = y * (dy - sum(dy * y))            (softmax, y = its output)
//             dx = dy - exp(y) * sum(dy)             (log-softmax, y = its output)
// One workgroup of 64 threads per row; row = wid.y * nwg.x + wid.x.

struct Params {
    rows: u32,
    c: u32,
    log: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@group(0) @binding(1) var<storage, read> yb: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

var<workgroup> red: array<f32, 64>;

fn reduce_sum(lid: u32, v: f32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s >>= 1u) {
        if lid < s { red[lid] += red[lid + s]; }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

fn reduce_max(lid: u32, v: f32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s >>= 1u) {
        if lid < s { red[lid] = max(red[lid], red[lid + s]); }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let row = wid.y * nwg.x + wid.x;
    if row >= p.rows { return; }
    let base = row * p.c;
    var m = -3.0e38;
    for (var i = lid; i < p.c; i += 64u) {
        m = max(m, x[base + i]);
    }
    m = reduce_max(lid, m);
    var s = 0.0;
    for (var i = lid; i < p.c; i += 64u) {
        s += exp(x[base + i] - m);
    }
    s = reduce_sum(lid, s);
    let log_s = log(s);
    for (var i = lid; i < p.c; i += 64u) {
        let z = x[base + i] - m;
        if p.log != 0u {
            y[base + i] = z - log_s;
        } else {
            y[base + i] = exp(z) / s;
        }
    }
}

@compute @workgroup_size(64)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let row = wid.y * nwg.x + wid.x;
    if row >= p.rows { return; }
    let base = row * p.c;
    var s = 0.0;
    for (var i = lid; i < p.c; i += 64u) {
        if p.log != 0u {
            s += dy[base + i];
        } else {
            s += dy[base + i] * yb[base + i];
        }
    }
    s = reduce_sum(lid, s);
    for (var i = lid; i < p.c; i += 64u) {
        if p.log != 0u {
            dx[base + i] = dy[base + i] - exp(yb[base + i]) * s;
        } else {
            dx[base + i] = yb[base + i] * (dy[base + i] - s);
        }
    }
}
