// Unfused scaled-dot-product attention: the plain three-kernel path kept as the reference
// and the benchmark baseline for shaders/attention.wgsl. One entry point, three stages
// (p.stage, uniform), recorded in this order:
//   stage 0: s = scale * q k^T, masked keys -> -1e30      one thread per score (Tq x Tk)
//   stage 1: s = softmax(s) row by row, lse = logsumexp   one thread per query row
//   stage 2: o = s v                                      one thread per output element
// q, o are (B, H, Tq, D); k, v are (B, H, Tk, D); s is (B, H, Tq, Tk) in global memory;
// lse is (B, H, Tq); mask is (B, Tk) u32, nonzero = key present, read when p.has_mask = 1.
// Rows whose keys are all masked give o = 0 and lse = -1e30, as the fused kernel does.
//
// Grid: a linear count of 64-thread workgroups (folded into (x, y)); element index is
// (wid.y * nwg.x + wid.x) * 64 + lid.x, guarded against the stage's element count.

// #import "common/attention_params.wgsl"

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
@group(0) @binding(5) var<storage, read_write> s: array<f32>;
@group(0) @binding(6) var<storage, read_write> o: array<f32>;
@group(0) @binding(7) var<storage, read_write> lse: array<f32>;

fn scores(idx: u32) {
    let bhi = idx / p.tk;             // (b * H + h) * Tq + i
    let j = idx % p.tk;
    let bh = bhi / p.tq;
    if p.has_mask != 0u && mask[(bh / p.h) * p.tk + j] == 0u {
        s[idx] = MASKED;
        return;
    }
    let qb = bhi * p.d;
    let kb = (bh * p.tk + j) * p.d;
    var acc = 0.0;
    for (var c = 0u; c < p.d; c++) { acc = fma(q[qb + c], k[kb + c], acc); }
    s[idx] = acc * p.scale;
}

fn softmax_row(row: u32) {
    let base = row * p.tk;
    var m = MASKED;
    for (var j = 0u; j < p.tk; j++) { m = max(m, s[base + j]); }
    var l = 0.0;
    for (var j = 0u; j < p.tk; j++) {
        l += select(0.0, exp(s[base + j] - m), s[base + j] > 0.5 * MASKED);
    }
    let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var j = 0u; j < p.tk; j++) {
        s[base + j] = select(0.0, exp(s[base + j] - m) * inv, s[base + j] > 0.5 * MASKED);
    }
    lse[row] = select(MASKED, m + log(l), l > 0.0);
}

fn pv(idx: u32) {
    let row = idx / p.d;              // (b * H + h) * Tq + i
    let c = idx % p.d;
    let bh = row / p.tq;
    var acc = 0.0;
    for (var j = 0u; j < p.tk; j++) {
        acc = fma(s[row * p.tk + j], v[(bh * p.tk + j) * p.d + c], acc);
    }
    o[idx] = acc;
}

@compute @workgroup_size(64)
fn unfused(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
    let idx = (wid.y * nwg.x + wid.x) * 64u + lid.x;
    let rows = p.b * p.h * p.tq;
    switch p.stage {
        case 0u: { if idx < rows * p.tk { scores(idx); } }
        case 1u: { if idx < rows { softmax_row(idx); } }
        default: { if idx < rows * p.d { pv(idx); } }
    }
}
