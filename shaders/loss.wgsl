// Cross-entropy over logits with integer targets and an ignore index (MLM, VTM):
//   loss = mean over rows with target != ignore of (logsumexp(logits_i) - logits_i[target_i])
// logits, dlogits are (N, C); targets is (N,) u32; stats is (2N,): per-row loss, then per-row
// logsumexp; loss is (2,): [mean loss, number of counted rows]; dloss is (1,): the upstream
// gradient of the mean loss.
//
// forward, stage 0: one 64-thread workgroup per row (linear count, folded into (x, y)),
//                   max and sum reduced in workgroup memory in a fixed order.
// forward, stage 1: one workgroup sums the row losses (fixed order, deterministic).
// backward:         one thread per logit: dlogits = dloss * (softmax - onehot) / count,
//                   zero on ignored rows. Grid: linear count of 64-thread workgroups.

struct Params {
    n: u32,
    c: u32,
    ignore: u32,
    stage: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;
@group(0) @binding(5) var<storage, read> dloss: array<f32>;
@group(0) @binding(6) var<storage, read_write> dlogits: array<f32>;

var<workgroup> red: array<f32, 64>;
var<workgroup> red2: array<f32, 64>;

// Tree reduction of red (op 0: max, 1: sum) and red2 (sum); all 64 threads must call it.
fn reduce(li: u32, op: u32) {
    for (var w = 32u; w > 0u; w >>= 1u) {
        workgroupBarrier();
        if li < w {
            if op == 0u {
                red[li] = max(red[li], red[li + w]);
            } else {
                red[li] += red[li + w];
            }
            red2[li] += red2[li + w];
        }
    }
    workgroupBarrier();
}

fn row_stats(row_in: u32, li: u32) {
    let valid = row_in < p.n;
    let row = min(row_in, p.n - 1u);
    let base = row * p.c;
    var m = -3.0e38;
    for (var j = li; j < p.c; j += 64u) { m = max(m, logits[base + j]); }
    red[li] = m;
    red2[li] = 0.0;
    reduce(li, 0u);
    m = red[0];
    workgroupBarrier();
    var s = 0.0;
    for (var j = li; j < p.c; j += 64u) { s += exp(logits[base + j] - m); }
    red[li] = s;
    reduce(li, 1u);
    if valid && li == 0u {
        let lse = m + log(red[0]);
        let t = targets[row];
        var l = 0.0;
        if t != p.ignore && t < p.c { l = lse - logits[base + t]; }
        stats[row] = l;
        stats[p.n + row] = lse;
    }
}

fn mean_loss(li: u32) {
    var s = 0.0;
    var cnt = 0.0;
    for (var i = li; i < p.n; i += 64u) {
        s += stats[i];
        let t = targets[i];
        cnt += select(0.0, 1.0, t != p.ignore && t < p.c);
    }
    red[li] = s;
    red2[li] = cnt;
    reduce(li, 1u);
    if li == 0u {
        loss[0] = select(0.0, red[0] / red2[0], red2[0] > 0.0);
        loss[1] = red2[0];
    }
}

@compute @workgroup_size(64)
fn ce_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    if p.stage == 0u {
        row_stats(wid.y * nwg.x + wid.x, li);
    } else {
        mean_loss(li);
    }
}

@compute @workgroup_size(64)
fn ce_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let idx = (wid.y * nwg.x + wid.x) * 64u + li;
    if idx >= p.n * p.c { return; }
    let row = idx / p.c;
    let j = idx % p.c;
    let t = targets[row];
    let count = loss[1];
    var g = 0.0;
    if t != p.ignore && t < p.c && count > 0.0 {
        let prob = exp(logits[idx] - stats[p.n + row]);
        g = (prob - select(0.0, 1.0, j == t)) * dloss[0] / count;
    }
    dlogits[idx] = g;
}
