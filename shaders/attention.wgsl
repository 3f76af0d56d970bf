// Fused scaled-dot-product attention, forward (flash-attention style):
//   o = softmax(scale * q k^T + mask) v,  lse = logsumexp of each row of scale * q k^T.
// q, o are (B, H, Tq, D) or, with p.tokens_major = 1, (B, Tq, H, D) (the layout a linear
// layer writes, so heads need no permute); k, v likewise with Tk; lse is (B, H, Tq); mask is
// (B, Tk) u32, nonzero = key present, read only when p.has_mask = 1. D <= 64; Tq, Tk differ
// in cross-attention.
//
// One workgroup of TPW threads handles BR = TPW * R query rows of one (batch, head), R rows
// per thread: each key read from workgroup memory feeds R rows (register blocking; CPU
// drivers: TPW = 16, R = 4). GPUs take TPW = 64, R = 1: one query row per thread, no large
// register arrays. Keys and values stream through workgroup memory in tiles of BC rows; each
// thread keeps its rows' running max, running sum and output in registers (online softmax),
// so memory is linear in the sequence length and the Tq x Tk score matrix never reaches
// global memory. Rows whose keys are all masked give o = 0 and lse = -1e30 (the backward
// pass skips them).
//
// Every row's arithmetic is the same whatever TPW and R are (same tiles, same order), and
// the head dimension is specialised (DV = ceil(D / 4) vec4s: the zero padding up to 64 is
// never computed), so every variant gives bit-identical results.
//
// Grid: (ceil(Tq / BR), B * H, 1).

// #import "common/attention_params.wgsl"

override DV: u32 = 16u;   // head dim in vec4s, ceil(D / 4)
override TPW: u32 = 16u;  // threads per workgroup
override R: u32 = 4u;     // query rows per thread (at most 4)
const BC: u32 = 32u;      // key rows per tile (fixes the online softmax's order: keep it)
override TILE: u32 = 32u * DV;  // vec4s of one key (or value) tile

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
@group(0) @binding(5) var<storage, read_write> o: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;

var<workgroup> ks: array<vec4<f32>, TILE>;
var<workgroup> vs: array<vec4<f32>, TILE>;

// Offset of row `row` of head `bh` (= b * H + h) in a tensor of `t` rows per head.
fn row_base(bh: u32, row: u32, t: u32) -> u32 {
    if p.tokens_major == 0u {
        return (bh * t + row) * p.d;
    }
    return ((bh / p.h * t + row) * p.h + bh % p.h) * p.d;
}

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

@compute @workgroup_size(TPW)
fn forward(@builtin(workgroup_id) wid: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
    let bh = wid.y;
    let b = bh / p.h;
    let br = TPW * R;

    // Thread li owns query rows wid.x * BR + li + r * TPW for r < R.
    var qr: array<vec4<f32>, 64>;    // R * DV
    var acc: array<vec4<f32>, 64>;
    var m: array<f32, 4>;
    var l: array<f32, 4>;
    for (var r = 0u; r < R; r++) {
        let row = min(wid.x * br + li + r * TPW, p.tq - 1u);
        let qbase = row_base(bh, row, p.tq);
        for (var c = 0u; c < DV; c++) {
            qr[r * DV + c] = ld_q(qbase, c) * p.scale;
            acc[r * DV + c] = vec4<f32>(0.0);
        }
        m[r] = MASKED;
        l[r] = 0.0;
    }
    var s: array<f32, 128>;           // R * BC

    for (var t0 = 0u; t0 < p.tk; t0 += BC) {
        for (var e = li; e < BC * DV; e += TPW) {
            let j = t0 + e / DV;
            let c = e % DV;
            var kv = vec4<f32>(0.0);
            var vv = vec4<f32>(0.0);
            if j < p.tk {
                let kb = row_base(bh, j, p.tk);
                kv = ld_k(kb, c);
                vv = ld_v(kb, c);
            }
            ks[e] = kv;
            vs[e] = vv;
        }
        workgroupBarrier();

        // Keys past the end would score MASKED and weigh 0: they are skipped, which changes
        // no bit of the result.
        let n = min(BC, p.tk - t0);
        var tmax = array<f32, 4>(MASKED, MASKED, MASKED, MASKED);
        for (var j = 0u; j < n; j++) {
            var d: array<vec4<f32>, 4>;
            for (var r = 0u; r < R; r++) { d[r] = vec4<f32>(0.0); }
            for (var c = 0u; c < DV; c++) {
                let kv = ks[j * DV + c];
                for (var r = 0u; r < R; r++) { d[r] = fma(qr[r * DV + c], kv, d[r]); }
            }
            let hide = !key_present(b, t0 + j);
            for (var r = 0u; r < R; r++) {
                let sj = select(dot(d[r], vec4(1.0)), MASKED, hide);
                s[r * BC + j] = sj;
                tmax[r] = max(tmax[r], sj);
            }
        }
        var mnew: array<f32, 4>;
        for (var r = 0u; r < R; r++) {
            mnew[r] = max(m[r], tmax[r]);
            let corr = exp(m[r] - mnew[r]);
            l[r] *= corr;
            for (var c = 0u; c < DV; c++) { acc[r * DV + c] *= corr; }
            m[r] = mnew[r];
        }
        for (var j = 0u; j < n; j++) {
            var pj: array<f32, 4>;
            for (var r = 0u; r < R; r++) {
                let x = s[r * BC + j];
                pj[r] = select(0.0, exp(x - m[r]), x > 0.5 * MASKED);
                l[r] += pj[r];
            }
            for (var c = 0u; c < DV; c++) {
                let vv = vs[j * DV + c];
                for (var r = 0u; r < R; r++) {
                    acc[r * DV + c] = fma(vec4<f32>(pj[r]), vv, acc[r * DV + c]);
                }
            }
        }
        workgroupBarrier();
    }

    for (var r = 0u; r < R; r++) {
        let row = wid.x * br + li + r * TPW;
        if row < p.tq {
            let inv = select(0.0, 1.0 / l[r], l[r] > 0.0);
            let obase = row_base(bh, row, p.tq);
            for (var cc = 0u; cc < p.d; cc++) {
                o[obase + cc] = acc[r * DV + cc / 4u][cc % 4u] * inv;
            }
            lse[bh * p.tq + row] = select(MASKED, m[r] + log(l[r]), l[r] > 0.0);
        }
    }
}
