// Fused scaled-dot-product attention, backward (flash-attention-2 style), in three stages of
// one entry point (p.stage, uniform), recorded in this order:
//   stage 0: delta = rowsum(do * o)                       each thread: 2 query rows
//   stage 1: dv = P^T do, dk = scale * dS^T q             each thread: 2 key rows
//   stage 2: dq = scale * dS k                            each thread: 2 query rows
// where P = exp(scale * q k^T - lse) is recomputed tile by tile from the forward's lse and
// dS = P * (do v^T - delta). Nothing of size Tq x Tk reaches global memory and every output
// element is written by exactly one thread (no atomics), so the result is deterministic.
// q, o, do, dq are (B, H, Tq, D); k, v, dk, dv are (B, H, Tk, D); lse, delta are (B, H, Tq);
// mask is (B, Tk) u32, nonzero = key present, read only when p.has_mask = 1. D <= 64.
//
// Workgroups of 32 threads own 64 rows (register blocking: every vec4 read from workgroup
// memory feeds two rows). Grid: stages 0 and 2: (ceil(Tq / 64), B * H, 1); stage 1:
// (ceil(Tk / 64), B * H, 1).

const DV4: u32 = 16u;   // head dim in vec4s (D padded with zeros up to 64)
const BR: u32 = 64u;    // rows owned by one workgroup
const TPW: u32 = 32u;   // threads per workgroup: each owns rows r and r + TPW
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

fn store_row(which: u32, base: u32, r: ptr<function, array<vec4<f32>, 32>>, off: u32, f: f32) {
    for (var cc = 0u; cc < p.d; cc++) {
        let x = (*r)[off + cc / 4u][cc % 4u] * f;
        switch which {
            case 0u: { dq[base + cc] = x; }
            case 1u: { dk[base + cc] = x; }
            default: { dv[base + cc] = x; }
        }
    }
}

fn hsum(x: vec4<f32>) -> f32 {
    return x.x + x.y + x.z + x.w;
}

// Stage 0: delta_i = sum_c do_ic * o_ic.
fn stage_delta(bh: u32, row: u32) {
    if row >= p.tq { return; }
    let base = (bh * p.tq + row) * p.d;
    var s = vec4<f32>(0.0);
    for (var c = 0u; c < DV4; c++) {
        s = fma(ld(3u, base, c), ld(4u, base, c), s);
    }
    delta[bh * p.tq + row] = hsum(s);
}

// Stage 1: this thread owns key rows j0 and j0 + TPW; query tiles stream through ta (q) and
// tb (do), each vec4 read from workgroup memory feeding both keys.
fn stage_dkdv(bh: u32, j0: u32, li: u32) {
    let b = bh / p.h;
    let j1 = j0 + TPW;
    let live0 = j0 < p.tk && key_present(b, min(j0, p.tk - 1u));
    let live1 = j1 < p.tk && key_present(b, min(j1, p.tk - 1u));
    let kb0 = (bh * p.tk + min(j0, p.tk - 1u)) * p.d;
    let kb1 = (bh * p.tk + min(j1, p.tk - 1u)) * p.d;
    var kr: array<vec4<f32>, 32>;   // rows j0 then j1, pre-scaled
    var vr: array<vec4<f32>, 32>;
    var gk: array<vec4<f32>, 32>;
    var gv: array<vec4<f32>, 32>;
    for (var c = 0u; c < DV4; c++) {
        kr[c] = ld(1u, kb0, c) * p.scale;
        kr[DV4 + c] = ld(1u, kb1, c) * p.scale;
        vr[c] = ld(2u, kb0, c);
        vr[DV4 + c] = ld(2u, kb1, c);
        gk[c] = vec4<f32>(0.0);
        gk[DV4 + c] = vec4<f32>(0.0);
        gv[c] = vec4<f32>(0.0);
        gv[DV4 + c] = vec4<f32>(0.0);
    }
    let qbase = bh * p.tq * p.d;
    for (var t0 = 0u; t0 < p.tq; t0 += BC) {
        for (var e = li; e < BC * DV4; e += TPW) {
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
        for (var i = 0u; i < BC; i++) {
            var s0 = vec4<f32>(0.0);
            var s1 = vec4<f32>(0.0);
            var dp0 = vec4<f32>(0.0);
            var dp1 = vec4<f32>(0.0);
            for (var c = 0u; c < DV4; c++) {
                let a = ta[i * DV4 + c];
                let g = tb[i * DV4 + c];
                s0 = fma(kr[c], a, s0);
                s1 = fma(kr[DV4 + c], a, s1);
                dp0 = fma(vr[c], g, dp0);
                dp1 = fma(vr[DV4 + c], g, dp1);
            }
            let lsei = ra[i];
            let qlive = lsei > 0.5 * MASKED;
            let p0 = select(0.0, exp(hsum(s0) - lsei), qlive && live0);
            let p1 = select(0.0, exp(hsum(s1) - lsei), qlive && live1);
            let ds0 = p0 * (hsum(dp0) - rb[i]);
            let ds1 = p1 * (hsum(dp1) - rb[i]);
            for (var c = 0u; c < DV4; c++) {
                let a = ta[i * DV4 + c];
                let g = tb[i * DV4 + c];
                gv[c] = fma(vec4<f32>(p0), g, gv[c]);
                gv[DV4 + c] = fma(vec4<f32>(p1), g, gv[DV4 + c]);
                gk[c] = fma(vec4<f32>(ds0), a, gk[c]);
                gk[DV4 + c] = fma(vec4<f32>(ds1), a, gk[DV4 + c]);
            }
        }
        workgroupBarrier();
    }
    if j0 < p.tk {
        let base = (bh * p.tk + j0) * p.d;
        store_row(1u, base, &gk, 0u, p.scale);
        store_row(2u, base, &gv, 0u, 1.0);
    }
    if j1 < p.tk {
        let base = (bh * p.tk + j1) * p.d;
        store_row(1u, base, &gk, DV4, p.scale);
        store_row(2u, base, &gv, DV4, 1.0);
    }
}

// Stage 2: this thread owns query rows i0 and i0 + TPW; key tiles stream through ta (k) and
// tb (v), each vec4 read from workgroup memory feeding both rows.
fn stage_dq(bh: u32, i0: u32, li: u32) {
    let b = bh / p.h;
    let i1 = i0 + TPW;
    let qb0 = (bh * p.tq + min(i0, p.tq - 1u)) * p.d;
    let qb1 = (bh * p.tq + min(i1, p.tq - 1u)) * p.d;
    let lse0 = lse[bh * p.tq + min(i0, p.tq - 1u)];
    let lse1 = lse[bh * p.tq + min(i1, p.tq - 1u)];
    let d0 = delta[bh * p.tq + min(i0, p.tq - 1u)];
    let d1 = delta[bh * p.tq + min(i1, p.tq - 1u)];
    let live0 = i0 < p.tq && lse0 > 0.5 * MASKED;
    let live1 = i1 < p.tq && lse1 > 0.5 * MASKED;
    var qr: array<vec4<f32>, 32>;   // rows i0 then i1, pre-scaled
    var gr: array<vec4<f32>, 32>;
    var gq: array<vec4<f32>, 32>;
    for (var c = 0u; c < DV4; c++) {
        qr[c] = ld(0u, qb0, c) * p.scale;
        qr[DV4 + c] = ld(0u, qb1, c) * p.scale;
        gr[c] = ld(4u, qb0, c);
        gr[DV4 + c] = ld(4u, qb1, c);
        gq[c] = vec4<f32>(0.0);
        gq[DV4 + c] = vec4<f32>(0.0);
    }
    let kbase = bh * p.tk * p.d;
    for (var t0 = 0u; t0 < p.tk; t0 += BC) {
        for (var e = li; e < BC * DV4; e += TPW) {
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
        for (var j = 0u; j < BC; j++) {
            var s0 = vec4<f32>(0.0);
            var s1 = vec4<f32>(0.0);
            var dp0 = vec4<f32>(0.0);
            var dp1 = vec4<f32>(0.0);
            for (var c = 0u; c < DV4; c++) {
                let a = ta[j * DV4 + c];
                let g = tb[j * DV4 + c];
                s0 = fma(qr[c], a, s0);
                s1 = fma(qr[DV4 + c], a, s1);
                dp0 = fma(gr[c], g, dp0);
                dp1 = fma(gr[DV4 + c], g, dp1);
            }
            let klive = ra[j] > 0.0;
            let p0 = select(0.0, exp(hsum(s0) - lse0), klive && live0);
            let p1 = select(0.0, exp(hsum(s1) - lse1), klive && live1);
            let ds0 = vec4<f32>(p0 * (hsum(dp0) - d0));
            let ds1 = vec4<f32>(p1 * (hsum(dp1) - d1));
            for (var c = 0u; c < DV4; c++) {
                let a = ta[j * DV4 + c];
                gq[c] = fma(ds0, a, gq[c]);
                gq[DV4 + c] = fma(ds1, a, gq[DV4 + c]);
            }
        }
        workgroupBarrier();
    }
    if i0 < p.tq { store_row(0u, (bh * p.tq + i0) * p.d, &gq, 0u, p.scale); }
    if i1 < p.tq { store_row(0u, (bh * p.tq + i1) * p.d, &gq, DV4, p.scale); }
}

@compute @workgroup_size(32)
fn backward(@builtin(workgroup_id) wid: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let row = wid.x * BR + li;
    switch p.stage {
        case 0u: {
            stage_delta(wid.y, row);
            stage_delta(wid.y, row + TPW);
        }
        case 1u: { stage_dkdv(wid.y, row, li); }
        default: { stage_dq(wid.y, row, li); }
    }
}
