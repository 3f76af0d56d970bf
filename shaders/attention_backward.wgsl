// Fused scaled-dot-product attention, backward (flash-attention-2 style), in three stages of
// one entry point (p.stage, uniform), recorded in this order:
//   stage 0: delta = rowsum(do * o)                       each thread: R query rows
//   stage 1: dv = P^T do, dk = scale * dS^T q             each thread: R key rows
//   stage 2: dq = scale * dS k                            each thread: R query rows
// where P = exp(scale * q k^T - lse) is recomputed tile by tile from the forward's lse and
// dS = P * (do v^T - delta). Nothing of size Tq x Tk reaches global memory and every output
// element is written by exactly one thread (no atomics), so the result is deterministic.
// q, o, do, dq are (B, H, Tq, D) or, with p.tokens_major = 1, (B, Tq, H, D); k, v, dk, dv
// likewise with Tk; lse, delta are (B, H, Tq); mask is (B, Tk) u32, nonzero = key present,
// read only when p.has_mask = 1. D <= 64.
//
// Workgroups of TPW threads own BR = TPW * R rows (CPU drivers: 32 threads, 2 rows each, so
// every vec4 read from workgroup memory feeds two rows; GPUs: 64 threads, one row each).
// Tiles of BC rows stream through workgroup memory; BC is chosen by the launcher to fit the
// adapter's workgroup memory (it does not change any sum's order: rows are summed one by
// one in index order). DV = ceil(D / 4): the zero padding of the head dimension is never
// computed. Every variant gives bit-identical results.
// Grid: stages 0 and 2: (ceil(Tq / BR), B * H, 1); stage 1: (ceil(Tk / BR), B * H, 1).

// #import "common/attention_params.wgsl"

override DV: u32 = 16u;    // head dim in vec4s, ceil(D / 4)
override TPW: u32 = 32u;   // threads per workgroup
override R: u32 = 2u;      // rows per thread (at most 4)
override BC: u32 = 32u;    // rows per tile streamed through workgroup memory
override TILE: u32 = BC * DV;

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

var<workgroup> ta: array<vec4<f32>, TILE>;   // BC * DV: q or k tile
var<workgroup> tb: array<vec4<f32>, TILE>;   // BC * DV: do or v tile
var<workgroup> ra: array<f32, BC>;           // lse of the query tile (stage 2: key present)
var<workgroup> rb: array<f32, BC>;           // delta of the query tile

// Offset of row `row` of head `bh` (= b * H + h) in a tensor of `t` rows per head.
fn row_base(bh: u32, row: u32, t: u32) -> u32 {
    if p.tokens_major == 0u {
        return (bh * t + row) * p.d;
    }
    return ((bh / p.h * t + row) * p.h + bh % p.h) * p.d;
}

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

fn store_row(which: u32, base: u32, r: ptr<function, array<vec4<f32>, 64>>, off: u32, f: f32) {
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
    let base = row_base(bh, row, p.tq);
    var s = vec4<f32>(0.0);
    for (var c = 0u; c < DV; c++) {
        s = fma(ld(3u, base, c), ld(4u, base, c), s);
    }
    delta[bh * p.tq + row] = hsum(s);
}

// Stage 1: this thread owns key rows j0 + r * TPW; query tiles stream through ta (q) and
// tb (do), each vec4 read from workgroup memory feeding every owned key.
fn stage_dkdv(bh: u32, j0: u32, li: u32) {
    let b = bh / p.h;
    var live: array<bool, 4>;
    var kr: array<vec4<f32>, 64>;   // R rows of DV, pre-scaled
    var vr: array<vec4<f32>, 64>;
    var gk: array<vec4<f32>, 64>;
    var gv: array<vec4<f32>, 64>;
    for (var r = 0u; r < R; r++) {
        let j = j0 + r * TPW;
        live[r] = j < p.tk && key_present(b, min(j, p.tk - 1u));
        let kb = row_base(bh, min(j, p.tk - 1u), p.tk);
        for (var c = 0u; c < DV; c++) {
            kr[r * DV + c] = ld(1u, kb, c) * p.scale;
            vr[r * DV + c] = ld(2u, kb, c);
            gk[r * DV + c] = vec4<f32>(0.0);
            gv[r * DV + c] = vec4<f32>(0.0);
        }
    }
    for (var t0 = 0u; t0 < p.tq; t0 += BC) {
        for (var e = li; e < BC * DV; e += TPW) {
            let i = t0 + e / DV;
            var a = vec4<f32>(0.0);
            var g = vec4<f32>(0.0);
            if i < p.tq {
                let qb = row_base(bh, i, p.tq);
                a = ld(0u, qb, e % DV);
                g = ld(4u, qb, e % DV);
            }
            ta[e] = a;
            tb[e] = g;
        }
        for (var e = li; e < BC; e += TPW) {
            let i = t0 + e;
            ra[e] = select(MASKED, lse[bh * p.tq + min(i, p.tq - 1u)], i < p.tq);
            rb[e] = select(0.0, delta[bh * p.tq + min(i, p.tq - 1u)], i < p.tq);
        }
        workgroupBarrier();
        // Query rows past the end would weigh 0: skipping them changes no bit.
        let n = min(BC, p.tq - t0);
        for (var i = 0u; i < n; i++) {
            var s: array<vec4<f32>, 4>;
            var dp: array<vec4<f32>, 4>;
            for (var r = 0u; r < R; r++) {
                s[r] = vec4<f32>(0.0);
                dp[r] = vec4<f32>(0.0);
            }
            for (var c = 0u; c < DV; c++) {
                let a = ta[i * DV + c];
                let g = tb[i * DV + c];
                for (var r = 0u; r < R; r++) {
                    s[r] = fma(kr[r * DV + c], a, s[r]);
                    dp[r] = fma(vr[r * DV + c], g, dp[r]);
                }
            }
            let lsei = ra[i];
            let qlive = lsei > 0.5 * MASKED;
            var pr: array<f32, 4>;
            var ds: array<f32, 4>;
            for (var r = 0u; r < R; r++) {
                pr[r] = select(0.0, exp(hsum(s[r]) - lsei), qlive && live[r]);
                ds[r] = pr[r] * (hsum(dp[r]) - rb[i]);
            }
            for (var c = 0u; c < DV; c++) {
                let a = ta[i * DV + c];
                let g = tb[i * DV + c];
                for (var r = 0u; r < R; r++) {
                    gv[r * DV + c] = fma(vec4<f32>(pr[r]), g, gv[r * DV + c]);
                    gk[r * DV + c] = fma(vec4<f32>(ds[r]), a, gk[r * DV + c]);
                }
            }
        }
        workgroupBarrier();
    }
    for (var r = 0u; r < R; r++) {
        let j = j0 + r * TPW;
        if j < p.tk {
            let base = row_base(bh, j, p.tk);
            store_row(1u, base, &gk, r * DV, p.scale);
            store_row(2u, base, &gv, r * DV, 1.0);
        }
    }
}

// Stage 2: this thread owns query rows i0 + r * TPW; key tiles stream through ta (k) and
// tb (v), each vec4 read from workgroup memory feeding every owned row.
fn stage_dq(bh: u32, i0: u32, li: u32) {
    let b = bh / p.h;
    var live: array<bool, 4>;
    var lser: array<f32, 4>;
    var dr: array<f32, 4>;
    var qr: array<vec4<f32>, 64>;   // R rows of DV, pre-scaled
    var gr: array<vec4<f32>, 64>;
    var gq: array<vec4<f32>, 64>;
    for (var r = 0u; r < R; r++) {
        let i = i0 + r * TPW;
        let ic = min(i, p.tq - 1u);
        let qb = row_base(bh, ic, p.tq);
        lser[r] = lse[bh * p.tq + ic];
        dr[r] = delta[bh * p.tq + ic];
        live[r] = i < p.tq && lser[r] > 0.5 * MASKED;
        for (var c = 0u; c < DV; c++) {
            qr[r * DV + c] = ld(0u, qb, c) * p.scale;
            gr[r * DV + c] = ld(4u, qb, c);
            gq[r * DV + c] = vec4<f32>(0.0);
        }
    }
    for (var t0 = 0u; t0 < p.tk; t0 += BC) {
        for (var e = li; e < BC * DV; e += TPW) {
            let j = t0 + e / DV;
            var a = vec4<f32>(0.0);
            var g = vec4<f32>(0.0);
            if j < p.tk {
                let kb = row_base(bh, j, p.tk);
                a = ld(1u, kb, e % DV);
                g = ld(2u, kb, e % DV);
            }
            ta[e] = a;
            tb[e] = g;
        }
        for (var e = li; e < BC; e += TPW) {
            let j = t0 + e;
            ra[e] = select(0.0, 1.0, j < p.tk && key_present(b, min(j, p.tk - 1u)));
        }
        workgroupBarrier();
        // Keys past the end would weigh 0: skipping them changes no bit.
        let n = min(BC, p.tk - t0);
        for (var j = 0u; j < n; j++) {
            var s: array<vec4<f32>, 4>;
            var dp: array<vec4<f32>, 4>;
            for (var r = 0u; r < R; r++) {
                s[r] = vec4<f32>(0.0);
                dp[r] = vec4<f32>(0.0);
            }
            for (var c = 0u; c < DV; c++) {
                let a = ta[j * DV + c];
                let g = tb[j * DV + c];
                for (var r = 0u; r < R; r++) {
                    s[r] = fma(qr[r * DV + c], a, s[r]);
                    dp[r] = fma(gr[r * DV + c], g, dp[r]);
                }
            }
            let klive = ra[j] > 0.0;
            var ds: array<vec4<f32>, 4>;
            for (var r = 0u; r < R; r++) {
                let pj = select(0.0, exp(hsum(s[r]) - lser[r]), klive && live[r]);
                ds[r] = vec4<f32>(pj * (hsum(dp[r]) - dr[r]));
            }
            for (var c = 0u; c < DV; c++) {
                let a = ta[j * DV + c];
                for (var r = 0u; r < R; r++) {
                    gq[r * DV + c] = fma(ds[r], a, gq[r * DV + c]);
                }
            }
        }
        workgroupBarrier();
    }
    for (var r = 0u; r < R; r++) {
        let i = i0 + r * TPW;
        if i < p.tq { store_row(0u, row_base(bh, i, p.tq), &gq, r * DV, p.scale); }
    }
}

@compute @workgroup_size(TPW)
fn backward(@builtin(workgroup_id) wid: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let row = wid.x * TPW * R + li;
    switch p.stage {
        case 0u: {
            for (var r = 0u; r < R; r++) { stage_delta(wid.y, row + r * TPW); }
        }
        case 1u: { stage_dkdv(wid.y, row, li); }
        default: { stage_dq(wid.y, row, li); }
    }
}
