// Fused scaled-dot-product attention, backward (flash-attention-2 style), in three stages of
// one entry point (p.stage, uniform), recorded in this order:
//   stage 0: delta = rowsum(do * o)                                  one thread per query row
//   stage 1: dv = P^T do, dk = scale * dS^T q                        one thread per key row
//   stage 2: dq = scale * dS k                                       one thread per query row
// where P = exp(scale * q k^T - lse) is recomputed tile by tile from the forward's lse and
// dS = P * (do v^T - delta). Nothing of size Tq x Tk reaches global memory and every output
// element is written by exactly one thread (no atomics), so the result is deterministic.
// q, o, do, dq are (B, H, Tq, D); k, v, dk, dv are (B, H, Tk, D); lse, delta are (B, H, Tq);
// mask is (B, Tk) u32, nonzero = key present, read only when p.has_mask = 1. D <= 64.
//
// Grid: stages 0 and 2: (ceil(Tq / 64), B * H, 1); stage 1: (ceil(Tk / 64), B * H, 1).

const DV4: u32 = 16u;   // head dim in vec4s (D padded with zeros up to 64)
const BR: u32 = 64u;    // rows owned by one workgroup (one per thread)
const BC: u32 = 32u;    // rows per tile streamed through workgroup memory
const MASKED: f32 = -1e30;

struct Params {
    b: u32,
    h: u32,
    tq: u32,
    tk: u32,
    d: u32,
    has_mask: u32,
    scale: f32,
    stage: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
@group(0) @binding(5) var<storage, read> o: array<f32>;
@group(0) @binding(6) var<storage, read> dout: array<f32>;
@group(0) @binding(7) var<storage, read> lse: array<f32>;
@group(0) @binding(8) var<storage, read_write> delta: array<f32>;
@group(0) @binding(9) var<storage, read_write> dq: array<f32>;
@group(0) @binding(10) var<storage, read_write> dk: array<f32>;
@group(0) @binding(11) var<storage, read_write> dv: array<f32>;

var<workgroup> ta: array<vec4<f32>, 512>;   // BC * DV4: q or k tile
var<workgroup> tb: array<vec4<f32>, 512>;   // BC * DV4: do or v tile
var<workgroup> ra: array<f32, 32>;          // lse of the query tile
var<workgroup> rb: array<f32, 32>;          // delta of the query tile

// Loads 4 consecutive head-dim elements (zero beyond D) of one of the (.., D) inputs.
fn ld(which: u32, base: u32, c: u32) -> vec4<f32> {
    var r = vec4<f32>(0.0);
    for (var e = 0u; e < 4u; e++) {
        let i = base + c * 4u + e;
        if c * 4u + e < p.d {
            switch which {
                case 0u: { r[e] = q[i]; }
                case 1u: { r[e] = k[i]; }
                case 2u: { r[e] = v[i]; }
                case 3u: { r[e] = o[i]; }
                default: { r[e] = dout[i]; }
            }
        }
    }
    return r;
}

fn key_present(b: u32, j: u32) -> bool {
    return p.has_mask == 0u || mask[b * p.tk + j] != 0u;
}

// Dot product of a register row with row j of tile ta (resp. tb).
fn dot_a(a: ptr<function, array<vec4<f32>, 16>>, j: u32) -> f32 {
    var s = vec4<f32>(0.0);
    for (var c = 0u; c < DV4; c++) { s = fma((*a)[c], ta[j * DV4 + c], s); }
    return s.x + s.y + s.z + s.w;
}

fn dot_b(a: ptr<function, array<vec4<f32>, 16>>, j: u32) -> f32 {
    var s = vec4<f32>(0.0);
    for (var c = 0u; c < DV4; c++) { s = fma((*a)[c], tb[j * DV4 + c], s); }
    return s.x + s.y + s.z + s.w;
}

fn store_row(which: u32, base: u32, r: ptr<function, array<vec4<f32>, 16>>, f: f32) {
    for (var cc = 0u; cc < p.d; cc++) {
        let x = (*r)[cc / 4u][cc % 4u] * f;
        switch which {
            case 0u: { dq[base + cc] = x; }
            case 1u: { dk[base + cc] = x; }
            default: { dv[base + cc] = x; }
        }
    }
}

// Stage 0: delta_i = sum_c do_ic * o_ic.
fn stage_delta(bh: u32, row: u32) {
    if row >= p.tq { return; }
    let base = (bh * p.tq + row) * p.d;
    var s = vec4<f32>(0.0);
    for (var c = 0u; c < DV4; c++) {
        s = fma(ld(3u, base, c), ld(4u, base, c), s);
    }
    delta[bh * p.tq + row] = s.x + s.y + s.z + s.w;
}

// Stage 1: this thread owns key row j; query tiles stream through ta (q) and tb (do).
fn stage_dkdv(bh: u32, j: u32, li: u32) {
    let b = bh / p.h;
    let live = j < p.tk && key_present(b, min(j, p.tk - 1u));
    let kbase = (bh * p.tk + min(j, p.tk - 1u)) * p.d;
    var kr: array<vec4<f32>, 16>;
    var vr: array<vec4<f32>, 16>;
    var gk: array<vec4<f32>, 16>;
    var gv: array<vec4<f32>, 16>;
    for (var c = 0u; c < DV4; c++) {
        kr[c] = ld(1u, kbase, c) * p.scale;
        vr[c] = ld(2u, kbase, c);
        gk[c] = vec4<f32>(0.0);
        gv[c] = vec4<f32>(0.0);
    }
    let qbase = bh * p.tq * p.d;
    for (var t0 = 0u; t0 < p.tq; t0 += BC) {
        for (var e = li; e < BC * DV4; e += BR) {
            let i = t0 + e / DV4;
            var a = vec4<f32>(0.0);
            var g = vec4<f32>(0.0);
            if i < p.tq {
                a = ld(0u, qbase + i * p.d, e % DV4);
                g = ld(4u, qbase + i * p.d, e % DV4);
            }
            ta[e] = a;
            tb[e] = g;
        }
        if li < BC {
            let i = t0 + li;
            ra[li] = select(MASKED, lse[bh * p.tq + min(i, p.tq - 1u)], i < p.tq);
            rb[li] = select(0.0, delta[bh * p.tq + min(i, p.tq - 1u)], i < p.tq);
        }
        workgroupBarrier();
        if live {
            for (var i = 0u; i < BC; i++) {
                let lsei = ra[i];
                if lsei > 0.5 * MASKED {
                    let pij = exp(dot_a(&kr, i) - lsei);
                    let dp = dot_b(&vr, i);
                    let ds = pij * (dp - rb[i]);
                    for (var c = 0u; c < DV4; c++) {
                        gv[c] = fma(vec4<f32>(pij), tb[i * DV4 + c], gv[c]);
                        gk[c] = fma(vec4<f32>(ds), ta[i * DV4 + c], gk[c]);
                    }
                }
            }
        }
        workgroupBarrier();
    }
    if j < p.tk {
        let base = (bh * p.tk + j) * p.d;
        store_row(1u, base, &gk, p.scale);
        store_row(2u, base, &gv, 1.0);
    }
}

// Stage 2: this thread owns query row i; key tiles stream through ta (k) and tb (v).
fn stage_dq(bh: u32, i: u32, li: u32) {
    let b = bh / p.h;
    let ii = min(i, p.tq - 1u);
    let qbase = (bh * p.tq + ii) * p.d;
    let lsei = lse[bh * p.tq + ii];
    let di = delta[bh * p.tq + ii];
    let live = i < p.tq && lsei > 0.5 * MASKED;
    var qr: array<vec4<f32>, 16>;
    var gr: array<vec4<f32>, 16>;
    var gq: array<vec4<f32>, 16>;
    for (var c = 0u; c < DV4; c++) {
        qr[c] = ld(0u, qbase, c) * p.scale;
        gr[c] = ld(4u, qbase, c);
        gq[c] = vec4<f32>(0.0);
    }
    let kbase = bh * p.tk * p.d;
    for (var t0 = 0u; t0 < p.tk; t0 += BC) {
        for (var e = li; e < BC * DV4; e += BR) {
            let j = t0 + e / DV4;
            var a = vec4<f32>(0.0);
            var g = vec4<f32>(0.0);
            if j < p.tk {
                a = ld(1u, kbase + j * p.d, e % DV4);
                g = ld(2u, kbase + j * p.d, e % DV4);
            }
            ta[e] = a;
            tb[e] = g;
        }
        if li < BC {
            let j = t0 + li;
            ra[li] = select(0.0, 1.0, j < p.tk && key_present(b, min(j, p.tk - 1u)));
        }
        workgroupBarrier();
        if live {
            for (var j = 0u; j < BC; j++) {
                if ra[j] > 0.0 {
                    let pij = exp(dot_a(&qr, j) - lsei);
                    let ds = pij * (dot_b(&gr, j) - di);
                    for (var c = 0u; c < DV4; c++) {
                        gq[c] = fma(vec4<f32>(ds), ta[j * DV4 + c], gq[c]);
                    }
                }
            }
        }
        workgroupBarrier();
    }
    if i < p.tq {
        store_row(0u, (bh * p.tq + i) * p.d, &gq, p.scale);
    }
}

@compute @workgroup_size(64)
fn backward(@builtin(workgroup_id) wid: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let row = wid.x * BR + li;
    switch p.stage {
        case 0u: { stage_delta(wid.y, row); }
        case 1u: { stage_dkdv(wid.y, row, li); }
        default: { stage_dq(wid.y, row, li); }
    }
}
