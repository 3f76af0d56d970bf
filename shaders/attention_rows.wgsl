// Row kernels of attention's matmul route (attention.rs, `attention_matmul_forward` and
// `attention_matmul_backward`): the products run on the matmul kernels, these do the rest
// with one invocation per score row (or per 4 scores) and vec4 accesses (Tk and D multiples
// of 4), which CPU drivers run with a quarter of the per-lane memory loops of scalar code.
// Keys from p.keys on are padding (attention_pad.wgsl) and count as masked; the mask, when
// there is one, is (B, p.keys).
//   softmax:  s = softmax(scale * s with masked keys at -1e30) row by row, in place; lse =
//             the row's logsumexp (-1e30 and P = 0 for a row whose keys are all masked)
//   delta:    delta = rowsum(do * o)                 (rows of D; the forward's o and lse)
//   dscores:  ds = scale * P * (ds - delta)          (ds holds do v^T on entry)
// s, P, ds are (B, H, Tq, Tk); o, do are (B, H, Tq, D); lse, delta (B, H, Tq); mask (B, Tk).
// Grids: softmax and delta B*H*Tq invocations, dscores B*H*Tq*Tk / 4; 64 a workgroup, the
// linear count folded into (x, y).

// #import "common/attention_params.wgsl"

@group(0) @binding(0) var<uniform> p: Params;

// softmax
@group(0) @binding(1) var<storage, read> mask: array<u32>;
@group(0) @binding(2) var<storage, read_write> s4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> lse: array<f32>;

// delta
@group(0) @binding(1) var<storage, read> o4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> do4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> delta_out: array<f32>;

// dscores
@group(0) @binding(1) var<storage, read> p4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> ds4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> delta: array<f32>;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.y * nwg.x + wid.x) * 64u + lid;
}

// The scaled scores of keys 4 j4 .. 4 j4 + 3 of row `row` (batch element b), masked ones at
// MASKED.
fn scaled(row: u32, b: u32, j4: u32) -> vec4<f32> {
    var x = s4[row * (p.tk / 4u) + j4] * p.scale;
    if p.has_mask != 0u || 4u * j4 + 3u >= p.keys {
        for (var e = 0u; e < 4u; e++) {
            let j = 4u * j4 + e;
            if j >= p.keys {
                x[e] = MASKED;
            } else if p.has_mask != 0u && mask[b * p.keys + j] == 0u {
                x[e] = MASKED;
            }
        }
    }
    return x;
}

@compute @workgroup_size(64)
fn softmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let row = index(wid, nwg, lid);
    if row >= p.b * p.h * p.tq { return; }
    let b = row / (p.h * p.tq);
    let n4 = p.tk / 4u;
    var m = vec4<f32>(MASKED);
    for (var j = 0u; j < n4; j++) { m = max(m, scaled(row, b, j)); }
    let mx = max(max(m.x, m.y), max(m.z, m.w));
    var l = vec4<f32>(0.0);
    for (var j = 0u; j < n4; j++) {
        let x = scaled(row, b, j);
        l += select(vec4<f32>(0.0), exp(x - mx), x > vec4<f32>(0.5 * MASKED));
    }
    let total = (l.x + l.y) + (l.z + l.w);
    let inv = select(0.0, 1.0 / total, total > 0.0);
    for (var j = 0u; j < n4; j++) {
        let x = scaled(row, b, j);
        s4[row * n4 + j] = select(vec4<f32>(0.0), exp(x - mx) * inv, x > vec4<f32>(0.5 * MASKED));
    }
    lse[row] = select(MASKED, mx + log(total), total > 0.0);
}

@compute @workgroup_size(64)
fn delta_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let row = index(wid, nwg, lid);
    if row >= p.b * p.h * p.tq { return; }
    let d4 = p.d / 4u;
    var acc = vec4<f32>(0.0);
    for (var c = 0u; c < d4; c++) { acc = fma(o4[row * d4 + c], do4[row * d4 + c], acc); }
    delta_out[row] = (acc.x + acc.y) + (acc.z + acc.w);
}

@compute @workgroup_size(64)
fn dscores(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let i = index(wid, nwg, lid);
    if i >= p.b * p.h * p.tq * p.tk / 4u { return; }
    let row = i / (p.tk / 4u);
    ds4[i] = p.scale * p4[i] * (ds4[i] - delta[row]);
}
