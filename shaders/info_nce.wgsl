// Symmetric InfoNCE (VTC) over a B x B similarity matrix with a learnable temperature:
//   logits = exp(t) * sim   (t = log of the logit scale, a learnable scalar, as in CLIP)
//   loss   = 1/(2B) * sum_i [ (lse_row_i - logits_ii) + (lse_col_i - logits_ii) ]
// i.e. the mean of video->text (rows) and text->video (columns) cross-entropy with the
// matching pair on the diagonal. sim, dsim are (B, B) row-major (row = video, column = text);
// log_scale, dloss, dlog_scale are (1,); stats is (2B,): row lse, then column lse; loss is (1,).
//
// forward, stage 0: 2B workgroups; workgroup g < B reduces row g, g >= B column g - B.
// forward, stage 1: one workgroup sums the loss in a fixed order.
// The backward is in info_nce_backward.wgsl.
// Everything is reduced in a fixed order: deterministic. Grids are linear counts of 64-thread
// workgroups, folded into (x, y).

struct Params {
    b: u32,
    stage: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> sim: array<f32>;
@group(0) @binding(2) var<storage, read> log_scale: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;

var<workgroup> red: array<f32, 64>;

// Tree reduction of red (op 0: max, 1: sum); all 64 threads must call it.
fn reduce(li: u32, op: u32) {
    for (var w = 32u; w > 0u; w >>= 1u) {
        workgroupBarrier();
        if li < w {
            if op == 0u {
                red[li] = max(red[li], red[li + w]);
            } else {
                red[li] += red[li + w];
            }
        }
    }
    workgroupBarrier();
}

// Element e of row (or column) `line`.
fn element(line: u32, e: u32, column: bool) -> u32 {
    return select(line * p.b + e, e * p.b + line, column);
}

fn line_lse(g: u32, li: u32) {
    let column = g >= p.b;
    let line = min(g % p.b, p.b - 1u);
    let scale = exp(log_scale[0]);
    var m = -3.0e38;
    for (var e = li; e < p.b; e += 64u) { m = max(m, scale * sim[element(line, e, column)]); }
    red[li] = m;
    reduce(li, 0u);
    m = red[0];
    workgroupBarrier();
    var s = 0.0;
    for (var e = li; e < p.b; e += 64u) { s += exp(scale * sim[element(line, e, column)] - m); }
    red[li] = s;
    reduce(li, 1u);
    if li == 0u && g < 2u * p.b {
        stats[g] = m + log(red[0]);
    }
}

fn total_loss(li: u32) {
    let scale = exp(log_scale[0]);
    var s = 0.0;
    for (var i = li; i < p.b; i += 64u) {
        s += stats[i] + stats[p.b + i] - 2.0 * scale * sim[i * p.b + i];
    }
    red[li] = s;
    reduce(li, 1u);
    if li == 0u { loss[0] = red[0] / (2.0 * f32(p.b)); }
}

@compute @workgroup_size(64)
fn nce_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    if p.stage == 0u {
        line_lse(wid.y * nwg.x + wid.x, li);
    } else {
        total_loss(li);
    }
}
