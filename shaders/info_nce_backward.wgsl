// Backward of the symmetric InfoNCE of info_nce.wgsl (logits = exp(t) * sim, t learnable):
//   dsim = dloss * exp(t)/(2B) * (Prow + Pcol - 2 I)
//   dt   = dloss / (2B) * sum_ij (Prow + Pcol - 2 I)_ij * logits_ij
// where Prow / Pcol are the row / column softmaxes of the logits, rebuilt from the forward's
// logsumexps. sim, dsim are (B, B) row-major; log_scale, dloss, dlog_scale are (1,); stats is
// (2B,): row lse, then column lse.
//
// stage 0: one thread per element (linear count of 64-thread workgroups, folded into (x, y)).
// stage 1: one workgroup reduces dt in a fixed order (deterministic).

struct Params {
    b: u32,
    stage: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> sim: array<f32>;
@group(0) @binding(2) var<storage, read> log_scale: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read> dloss: array<f32>;
@group(0) @binding(5) var<storage, read_write> dsim: array<f32>;
@group(0) @binding(6) var<storage, read_write> dlog_scale: array<f32>;

var<workgroup> red: array<f32, 64>;

// Tree sum of red; all 64 threads must call it.
fn reduce_sum(li: u32) {
    for (var w = 32u; w > 0u; w >>= 1u) {
        workgroupBarrier();
        if li < w { red[li] += red[li + w]; }
    }
    workgroupBarrier();
}

// (Prow + Pcol - 2 I) at element (i, j): the gradient of 2B * loss with respect to logits_ij.
fn dlogit(i: u32, j: u32, logit: f32) -> f32 {
    let pr = exp(logit - stats[i]);
    let pc = exp(logit - stats[p.b + j]);
    return pr + pc - select(0.0, 2.0, i == j);
}

@compute @workgroup_size(64)
fn nce_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let scale = exp(log_scale[0]);
    let k = dloss[0] / (2.0 * f32(p.b));
    if p.stage == 0u {
        let idx = (wid.y * nwg.x + wid.x) * 64u + li;
        if idx < p.b * p.b {
            let i = idx / p.b;
            let j = idx % p.b;
            dsim[idx] = k * scale * dlogit(i, j, scale * sim[idx]);
        }
    } else {
        var s = 0.0;
        for (var idx = li; idx < p.b * p.b; idx += 64u) {
            let logit = scale * sim[idx];
            s += dlogit(idx / p.b, idx % p.b, logit) * logit;
        }
        red[li] = s;
        reduce_sum(li);
        if li == 0u { dlog_scale[0] = k * red[0]; }
    }
}
