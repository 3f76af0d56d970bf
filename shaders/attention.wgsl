// Fused scaled-dot-product attention, forward (flash-attention style):
//   o = softmax(scale * q k^T + mask) v,  lse = logsumexp of each row of scale * q k^T.
// q, o are (B, H, Tq, D); k, v are (B, H, Tk, D); lse is (B, H, Tq); mask is (B, Tk) u32,
// nonzero = key present, read only when p.has_mask = 1. D <= 64; Tq and Tk may differ.
//
// One workgroup of 16 threads handles 64 query rows of one (batch, head), 4 rows per thread
// (register blocking: each key read from workgroup memory feeds 4 rows). Keys and values
// stream through workgroup memory in tiles of 32 rows; each thread keeps its rows' running
// max, running sum and output in registers (online softmax), so memory is linear in the
// sequence length and the Tq x Tk score matrix never reaches global memory. Rows whose keys
// are all masked give o = 0 and lse = -1e30 (the backward pass skips them).
//
// Grid: (ceil(Tq / 64), B * H, 1).

const DV4: u32 = 16u;   // head dim in vec4s (D padded with zeros up to 64)
const BR: u32 = 64u;    // query rows per workgroup
const TPW: u32 = 16u;   // threads per workgroup
const R: u32 = 4u;      // query rows per thread (BR = TPW * R)
const BC: u32 = 32u;    // key rows per tile
const MASKED: f32 = -1e30;

struct Params {
    b: u32,
    h: u32,
    tq: u32,
    tk: u32,
    d: u32,
    has_mask: u32,
    scale: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
@group(0) @binding(5) var<storage, read_write> o: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;

var<workgroup> ks: array<vec4<f32>, 512>;   // BC * DV4
var<workgroup> vs: array<vec4<f32>, 512>;

fn ld_q(base: u32, c: u32) -> vec4<f32> {
    var r = vec4<f32>(0.0);
    for (var e = 0u; e < 4u; e++) {
        if c * 4u + e < p.d { r[e] = q[base + c * 4u + e]; }
    }
    return r;
}

fn ld_k(base: u32, c: u32) -> vec4<f32> {
    var r = vec4<f32>(0.0);
    for (var e = 0u; e < 4u; e++) {
        if c * 4u + e < p.d { r[e] = k[base + c * 4u + e]; }
    }
    return r;
}

fn ld_v(base: u32, c: u32) -> vec4<f32> {
    var r = vec4<f32>(0.0);
    for (var e = 0u; e < 4u; e++) {
        if c * 4u + e < p.d { r[e] = v[base + c * 4u + e]; }
    }
    return r;
}

fn key_present(b: u32, j: u32) -> bool {
    return p.has_mask == 0u || mask[b * p.tk + j] != 0u;
}

@compute @workgroup_size(16)
fn forward(@builtin(workgroup_id) wid: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
    let bh = wid.y;
    let b = bh / p.h;
    let kbase = bh * p.tk * p.d;

    // Thread li owns query rows wid.x * BR + li + r * TPW for r < R: each key vec4 read from
    // workgroup memory feeds R rows (register blocking).
    var qr: array<vec4<f32>, 64>;    // R * DV4
    var acc: array<vec4<f32>, 64>;
    var m: array<f32, 4>;
    var l: array<f32, 4>;
    for (var r = 0u; r < R; r++) {
        let row = min(wid.x * BR + li + r * TPW, p.tq - 1u);
        let qbase = (bh * p.tq + row) * p.d;
        for (var c = 0u; c < DV4; c++) {
            qr[r * DV4 + c] = ld_q(qbase, c) * p.scale;
            acc[r * DV4 + c] = vec4<f32>(0.0);
        }
        m[r] = MASKED;
        l[r] = 0.0;
    }
    var s: array<f32, 128>;           // R * BC

    for (var t0 = 0u; t0 < p.tk; t0 += BC) {
        for (var e = li; e < BC * DV4; e += TPW) {
            let j = t0 + e / DV4;
            let c = e % DV4;
            var kv = vec4<f32>(0.0);
            var vv = vec4<f32>(0.0);
            if j < p.tk {
                kv = ld_k(kbase + j * p.d, c);
                vv = ld_v(kbase + j * p.d, c);
            }
            ks[e] = kv;
            vs[e] = vv;
        }
        workgroupBarrier();

        let n = min(BC, p.tk - t0);
        var tmax = array<f32, 4>(MASKED, MASKED, MASKED, MASKED);
        for (var j = 0u; j < BC; j++) {
            var d0 = vec4<f32>(0.0);
            var d1 = vec4<f32>(0.0);
            var d2 = vec4<f32>(0.0);
            var d3 = vec4<f32>(0.0);
            for (var c = 0u; c < DV4; c++) {
                let kv = ks[j * DV4 + c];
                d0 = fma(qr[c], kv, d0);
                d1 = fma(qr[DV4 + c], kv, d1);
                d2 = fma(qr[2u * DV4 + c], kv, d2);
                d3 = fma(qr[3u * DV4 + c], kv, d3);
            }
            let hide = j >= n || !key_present(b, min(t0 + j, p.tk - 1u));
            let sj = select(vec4<f32>(dot(d0, vec4(1.0)), dot(d1, vec4(1.0)), dot(d2, vec4(1.0)),
                                      dot(d3, vec4(1.0))), vec4<f32>(MASKED), hide);
            for (var r = 0u; r < R; r++) {
                s[r * BC + j] = sj[r];
                tmax[r] = max(tmax[r], sj[r]);
            }
        }
        var mnew: array<f32, 4>;
        for (var r = 0u; r < R; r++) {
            mnew[r] = max(m[r], tmax[r]);
            let corr = exp(m[r] - mnew[r]);
            l[r] *= corr;
            for (var c = 0u; c < DV4; c++) { acc[r * DV4 + c] *= corr; }
            m[r] = mnew[r];
        }
        for (var j = 0u; j < BC; j++) {
            var pj: array<f32, 4>;
            for (var r = 0u; r < R; r++) {
                let x = s[r * BC + j];
                pj[r] = select(0.0, exp(x - m[r]), x > 0.5 * MASKED);
                l[r] += pj[r];
            }
            for (var c = 0u; c < DV4; c++) {
                let vv = vs[j * DV4 + c];
                acc[c] = fma(vec4<f32>(pj[0]), vv, acc[c]);
                acc[DV4 + c] = fma(vec4<f32>(pj[1]), vv, acc[DV4 + c]);
                acc[2u * DV4 + c] = fma(vec4<f32>(pj[2]), vv, acc[2u * DV4 + c]);
                acc[3u * DV4 + c] = fma(vec4<f32>(pj[3]), vv, acc[3u * DV4 + c]);
            }
        }
        workgroupBarrier();
    }

    for (var r = 0u; r < R; r++) {
        let row = wid.x * BR + li + r * TPW;
        if row < p.tq {
            let inv = select(0.0, 1.0 / l[r], l[r] > 0.0);
            let obase = (bh * p.tq + row) * p.d;
            for (var cc = 0u; cc < p.d; cc++) {
                o[obase + cc] = acc[r * DV4 + cc / 4u][cc % 4u] * inv;
            }
            lse[bh * p.tq + row] = select(MASKED, m[r] + log(l[r]), l[r] > 0.0);
        }
    }
}
