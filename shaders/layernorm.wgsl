// Layer norm over the last dimension, fused forward and backward. x, y, dy, dx are (rows, C);
// w (gain) and b (bias) are (C,); mean and rstd (1 / sqrt(var + eps)) are (rows,), saved by the
// forward pass for the backward pass.
//   forward:         y = (x - mean) * rstd * w + b                 one workgroup per row
//   backward_input:  dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w, per row
//   backward_params: first stage of dw = sum over rows of dy * xhat and db = sum over rows of
//                    dy: per chunk g of chunk_rows rows, dw[g, c] and db[g, c] (chunks, C) summed
//                    in row order; grid (ceil(C / 64) column strips, chunks), one thread per
//                    column. With one chunk these are dw and db; with more, colsum.wgsl adds
//                    the chunks in order (deterministic, no atomics).
// Row kernels: 64 threads stride over C and reduce in workgroup memory; the row index is
// wid.y * nwg.x + wid.x (1-D dispatch folded when rows exceed the per-dimension limit).

struct Params {
    rows: u32,
    c: u32,
    eps: f32,
    chunk_rows: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> mean_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> rstd_out: array<f32>;

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> bx: array<f32>;
@group(0) @binding(3) var<storage, read> bw: array<f32>;
@group(0) @binding(4) var<storage, read> mean_in: array<f32>;
@group(0) @binding(5) var<storage, read> rstd_in: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

@group(0) @binding(3) var<storage, read> pmean: array<f32>;
@group(0) @binding(4) var<storage, read> prstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> dw: array<f32>;
@group(0) @binding(6) var<storage, read_write> db: array<f32>;

var<workgroup> red: array<f32, 64>;
var<workgroup> red2: array<f32, 64>;

// Sum of `a` (and `b`) over the 64 threads; every thread gets the totals.
fn reduce2(lid: u32, a: f32, b2: f32) -> vec2<f32> {
    red[lid] = a;
    red2[lid] = b2;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s >>= 1u) {
        if lid < s {
            red[lid] += red[lid + s];
            red2[lid] += red2[lid + s];
        }
        workgroupBarrier();
    }
    let r = vec2<f32>(red[0], red2[0]);
    workgroupBarrier();
    return r;
}

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let row = wid.y * nwg.x + wid.x;
    if row >= p.rows { return; }
    let base = row * p.c;
    var s = 0.0;
    for (var i = lid; i < p.c; i += 64u) {
        s += x[base + i];
    }
    let mean = reduce2(lid, s, 0.0).x / f32(p.c);
    var v = 0.0;
    for (var i = lid; i < p.c; i += 64u) {
        let d = x[base + i] - mean;
        v += d * d;
    }
    let rstd = inverseSqrt(reduce2(lid, v, 0.0).x / f32(p.c) + p.eps);
    for (var i = lid; i < p.c; i += 64u) {
        y[base + i] = (x[base + i] - mean) * rstd * w[i] + b[i];
    }
    if lid == 0u {
        mean_out[row] = mean;
        rstd_out[row] = rstd;
    }
}

@compute @workgroup_size(64)
fn backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let row = wid.y * nwg.x + wid.x;
    if row >= p.rows { return; }
    let base = row * p.c;
    let mean = mean_in[row];
    let rstd = rstd_in[row];
    var sg = 0.0;
    var sgx = 0.0;
    for (var i = lid; i < p.c; i += 64u) {
        let g = dy[base + i] * bw[i];
        sg += g;
        sgx += g * (bx[base + i] - mean) * rstd;
    }
    let sums = reduce2(lid, sg, sgx) / f32(p.c);
    for (var i = lid; i < p.c; i += 64u) {
        let g = dy[base + i] * bw[i];
        let xhat = (bx[base + i] - mean) * rstd;
        dx[base + i] = rstd * (g - sums.x - xhat * sums.y);
    }
}

@compute @workgroup_size(64)
fn backward_params(@builtin(workgroup_id) wid: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let col = wid.x * 64u + lid;
    let g = wid.y;
    if col >= p.c { return; }
    let r0 = g * p.chunk_rows;
    let r1 = min(r0 + p.chunk_rows, p.rows);
    var sw = 0.0;
    var sb = 0.0;
    for (var r = r0; r < r1; r++) {
        let gy = dy[r * p.c + col];
        sw += gy * (bx[r * p.c + col] - pmean[r]) * prstd[r];
        sb += gy;
    }
    dw[g * p.c + col] = sw;
    db[g * p.c + col] = sb;
}

// backward_params for C % 4 = 0: the same sums in the same order, four columns an
// invocation (colsum.wgsl's colsum4); grid (ceil(C / 256), chunks).
@group(0) @binding(5) var<storage, read_write> dw4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> db4: array<vec4<f32>>;

@compute @workgroup_size(64)
fn backward_params4(@builtin(workgroup_id) wid: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
    let col4 = wid.x * 64u + lid;
    let c4 = p.c / 4u;
    let g = wid.y;
    if col4 >= c4 { return; }
    let r0 = g * p.chunk_rows;
    let r1 = min(r0 + p.chunk_rows, p.rows);
    var sw = vec4(0.0);
    var sb = vec4(0.0);
    for (var r = r0; r < r1; r++) {
        let gy = dy4[r * c4 + col4];
        sw += gy * (bx4[r * c4 + col4] - pmean[r]) * prstd[r];
        sb += gy;
    }
    dw4[g * c4 + col4] = sw;
    db4[g * c4 + col4] = sb;
}

// ---- Row kernels for CPU drivers: one invocation per row, vec4 accesses (C % 4 = 0). -----
// On CPU drivers every per-invocation memory access is a loop over the SIMD lanes and every
// barrier costs, so the 64-thread kernels above spend their time in workgroup reductions.
// These compute exactly the same numbers: the partial sum of "thread" t (elements t, t + 64,
// ... in order) lives in component t % 4 of p4[t / 4], and `tree` adds the partials in the
// 64-thread kernel's order (strides 32, 16, ..., 1), so both give bit-identical results.

@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y4: array<vec4<f32>>;

@group(0) @binding(1) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bx4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bw4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> dx4: array<vec4<f32>>;

// The 64 partials (as 16 vec4) summed pairwise in the order of `reduce2`.
fn tree(p4: ptr<function, array<vec4<f32>, 16>>) -> f32 {
    for (var c = 0u; c < 8u; c++) { (*p4)[c] += (*p4)[c + 8u]; }
    for (var c = 0u; c < 4u; c++) { (*p4)[c] += (*p4)[c + 4u]; }
    for (var c = 0u; c < 2u; c++) { (*p4)[c] += (*p4)[c + 2u]; }
    (*p4)[0] += (*p4)[1];
    let t = (*p4)[0].xy + (*p4)[0].zw;
    return t.x + t.y;
}

fn zeros16() -> array<vec4<f32>, 16> {
    var z: array<vec4<f32>, 16>;
    for (var c = 0u; c < 16u; c++) { z[c] = vec4<f32>(0.0); }
    return z;
}

@compute @workgroup_size(8)
fn forward_rows(@builtin(global_invocation_id) gid: vec3<u32>,
                @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = gid.y * nwg.x * 8u + gid.x;
    if row >= p.rows { return; }
    let c4 = p.c / 4u;
    let base = row * c4;
    var ps = zeros16();
    for (var j0 = 0u; j0 < c4; j0 += 16u) {
        for (var c = 0u; c < 16u; c++) {
            if j0 + c < c4 { ps[c] += x4[base + j0 + c]; }
        }
    }
    let mean = tree(&ps) / f32(p.c);
    var pv = zeros16();
    for (var j0 = 0u; j0 < c4; j0 += 16u) {
        for (var c = 0u; c < 16u; c++) {
            if j0 + c < c4 {
                let d = x4[base + j0 + c] - mean;
                pv[c] += d * d;
            }
        }
    }
    let rstd = inverseSqrt(tree(&pv) / f32(p.c) + p.eps);
    for (var j = 0u; j < c4; j++) {
        y4[base + j] = (x4[base + j] - mean) * rstd * w4[j] + b4[j];
    }
    mean_out[row] = mean;
    rstd_out[row] = rstd;
}

@compute @workgroup_size(8)
fn backward_input_rows(@builtin(global_invocation_id) gid: vec3<u32>,
                       @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = gid.y * nwg.x * 8u + gid.x;
    if row >= p.rows { return; }
    let c4 = p.c / 4u;
    let base = row * c4;
    let mean = mean_in[row];
    let rstd = rstd_in[row];
    var pg = zeros16();
    var pgx = zeros16();
    for (var j0 = 0u; j0 < c4; j0 += 16u) {
        for (var c = 0u; c < 16u; c++) {
            if j0 + c < c4 {
                let g = dy4[base + j0 + c] * bw4[j0 + c];
                pg[c] += g;
                pgx[c] += g * (bx4[base + j0 + c] - mean) * rstd;
            }
        }
    }
    let sums = vec2<f32>(tree(&pg), tree(&pgx)) / f32(p.c);
    for (var j = 0u; j < c4; j++) {
        let g = dy4[base + j] * bw4[j];
        let xhat = (bx4[base + j] - mean) * rstd;
        dx4[base + j] = rstd * (g - sums.x - xhat * sums.y);
    }
}
