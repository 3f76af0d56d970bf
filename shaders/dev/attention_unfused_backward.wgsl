// Unfused attention backward: the textbook rule over the probabilities P that the unfused
// forward (attention_unfused.wgsl) left in global memory; reference and benchmark baseline
// for attention_backward.wgsl. One entry point, stages (p.stage, uniform) in this order:
//   stage 0: ds = do v^T                                   one thread per (query, key)
//   stage 1: delta = rowsum(ds * P)                        one thread per query row
//   stage 2: ds = scale * P * (ds - delta)                 one thread per (query, key)
//   stage 3: dq = ds k                                     one thread per dq element
//   stage 4: dk = ds^T q,  dv = P^T do                     one thread per dk (= dv) element
// q, do, dq are (B, H, Tq, D); k, v, dk, dv are (B, H, Tk, D); P, ds are (B, H, Tq, Tk);
// delta is (B, H, Tq). Masked keys have P = 0 and so get no gradient.
//
// Grid: a linear count of 64-thread workgroups (folded into (x, y)); element index is
// (wid.y * nwg.x + wid.x) * 64 + lid.x, guarded against the stage's element count.

// #import "common/attention_params.wgsl"

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> probs: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read_write> ds: array<f32>;
@group(0) @binding(7) var<storage, read_write> delta: array<f32>;
@group(0) @binding(8) var<storage, read_write> dq: array<f32>;
@group(0) @binding(9) var<storage, read_write> dk: array<f32>;
@group(0) @binding(10) var<storage, read_write> dv: array<f32>;

fn dprobs(idx: u32) {
    let row = idx / p.tk;             // (b * H + h) * Tq + i
    let j = idx % p.tk;
    let bh = row / p.tq;
    var acc = 0.0;
    for (var c = 0u; c < p.d; c++) {
        acc = fma(dout[row * p.d + c], v[(bh * p.tk + j) * p.d + c], acc);
    }
    ds[idx] = acc;
}

fn row_delta(row: u32) {
    var acc = 0.0;
    for (var j = 0u; j < p.tk; j++) { acc = fma(ds[row * p.tk + j], probs[row * p.tk + j], acc); }
    delta[row] = acc;
}

fn dscores(idx: u32) {
    ds[idx] = p.scale * probs[idx] * (ds[idx] - delta[idx / p.tk]);
}

fn grad_q(idx: u32) {
    let row = idx / p.d;
    let c = idx % p.d;
    let bh = row / p.tq;
    var acc = 0.0;
    for (var j = 0u; j < p.tk; j++) {
        acc = fma(ds[row * p.tk + j], k[(bh * p.tk + j) * p.d + c], acc);
    }
    dq[idx] = acc;
}

fn grad_kv(idx: u32) {
    let key = idx / p.d;              // (b * H + h) * Tk + j
    let c = idx % p.d;
    let bh = key / p.tk;
    let j = key % p.tk;
    var gk = 0.0;
    var gv = 0.0;
    for (var i = 0u; i < p.tq; i++) {
        let row = bh * p.tq + i;
        gk = fma(ds[row * p.tk + j], q[row * p.d + c], gk);
        gv = fma(probs[row * p.tk + j], dout[row * p.d + c], gv);
    }
    dk[idx] = gk;
    dv[idx] = gv;
}

@compute @workgroup_size(64)
fn unfused_backward(@builtin(workgroup_id) wid: vec3<u32>,
                    @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_id) lid: vec3<u32>) {
    let idx = (wid.y * nwg.x + wid.x) * 64u + lid.x;
    let rows = p.b * p.h * p.tq;
    switch p.stage {
        case 0u: { if idx < rows * p.tk { dprobs(idx); } }
        case 1u: { if idx < rows { row_delta(idx); } }
        case 2u: { if idx < rows * p.tk { dscores(idx); } }
        case 3u: { if idx < rows * p.d { grad_q(idx); } }
        default: { if idx < p.b * p.h * p.tk * p.d { grad_kv(idx); } }
    }
}
