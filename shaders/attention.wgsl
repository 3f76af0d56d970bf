// Fused scaled-dot-product attention, forward (flash-attention style):
//   o = softmax(scale * q k^T + mask) v,  lse = logsumexp of each row of scale * q k^T.
// q, o are (B, H, Tq, D); k, v are (B, H, Tk, D); lse is (B, H, Tq); mask is (B, Tk) u32,
// nonzero = key present, read only when p.has_mask = 1. D <= 64; Tq and Tk may differ.
//
// One workgroup handles 64 query rows of one (batch, head), one row per thread. Keys and
// values stream through workgroup memory in tiles of 32 rows; each thread keeps its running
// max, running sum and output row in registers (online softmax), so memory is linear in the
// sequence length and the Tq x Tk score matrix never reaches global memory. Rows whose keys
// are all masked give o = 0 and lse = -1e30 (the backward pass skips them).
//
// Grid: (ceil(Tq / 64), B * H, 1).

const DV4: u32 = 16u;   // head dim in vec4s (D padded with zeros up to 64)
const BR: u32 = 64u;    // query rows per workgroup
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

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
    let bh = wid.y;
    let b = bh / p.h;
    let row = wid.x * BR + li;
    let live = row < p.tq;
    let qbase = (bh * p.tq + min(row, p.tq - 1u)) * p.d;
    let kbase = bh * p.tk * p.d;

    var qr: array<vec4<f32>, 16>;
    var acc: array<vec4<f32>, 16>;
    for (var c = 0u; c < DV4; c++) {
        qr[c] = ld_q(qbase, c) * p.scale;
        acc[c] = vec4<f32>(0.0);
    }
    var m = MASKED;
    var l = 0.0;
    var s: array<f32, 32>;

    for (var t0 = 0u; t0 < p.tk; t0 += BC) {
        for (var e = li; e < BC * DV4; e += BR) {
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
        var tmax = MASKED;
        for (var j = 0u; j < BC; j++) {
            var dot4 = vec4<f32>(0.0);
            for (var c = 0u; c < DV4; c++) {
                dot4 = fma(qr[c], ks[j * DV4 + c], dot4);
            }
            var sj = dot4.x + dot4.y + dot4.z + dot4.w;
            if j >= n || !key_present(b, min(t0 + j, p.tk - 1u)) { sj = MASKED; }
            s[j] = sj;
            tmax = max(tmax, sj);
        }
        let mnew = max(m, tmax);
        let corr = exp(m - mnew);
        l *= corr;
        for (var c = 0u; c < DV4; c++) { acc[c] *= corr; }
        for (var j = 0u; j < BC; j++) {
            let pj = select(0.0, exp(s[j] - mnew), s[j] > 0.5 * MASKED);
            l += pj;
            for (var c = 0u; c < DV4; c++) {
                acc[c] = fma(vec4<f32>(pj), vs[j * DV4 + c], acc[c]);
            }
        }
        m = mnew;
        workgroupBarrier();
    }

    if live {
        let inv = select(0.0, 1.0 / l, l > 0.0);
        let obase = (bh * p.tq + row) * p.d;
        for (var cc = 0u; cc < p.d; cc++) {
            o[obase + cc] = acc[cc / 4u][cc % 4u] * inv;
        }
        lse[bh * p.tq + row] = select(MASKED, m + log(l), l > 0.0);
    }
}
