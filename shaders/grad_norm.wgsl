// Global gradient-norm clipping, a deterministic two-stage reduction:
//   sumsq_partial: dst[offset + g] = sum of src[e]^2 over chunk g (1024 elements) of one
//                  gradient buffer src (n,); called once per gradient buffer, each with its
//                  own offset into the shared partials buffer dst.
//   clip_scale:    one workgroup sums src[0..count) (the partials) in a fixed order and writes
//                  dst (2,) = [norm, scale] with norm = sqrt(total) and
//                  scale = min(1, max_norm / (norm + 1e-6)) (1 when max_norm <= 0).
// Both stages bind src at 1 and dst at 2. Grid: sumsq_partial: a linear count of ceil(n/1024)
// 64-thread workgroups, folded into (x, y); clip_scale: one workgroup.

const CHUNK: u32 = 1024u;

struct Params {
    n: u32,
    offset: u32,
    max_norm: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

var<workgroup> red: array<f32, 64>;

// Tree sum of red; all 64 threads must call it.
fn reduce_sum(li: u32) {
    for (var w = 32u; w > 0u; w >>= 1u) {
        workgroupBarrier();
        if li < w { red[li] += red[li + w]; }
    }
    workgroupBarrier();
}

@compute @workgroup_size(64)
fn sumsq_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let g = wid.y * nwg.x + wid.x;
    var s = 0.0;
    for (var e = li; e < CHUNK; e += 64u) {
        let i = g * CHUNK + e;
        if i < p.n { s = fma(src[i], src[i], s); }
    }
    red[li] = s;
    reduce_sum(li);
    if li == 0u && g * CHUNK < p.n { dst[p.offset + g] = red[0]; }
}

@compute @workgroup_size(64)
fn clip_scale(@builtin(local_invocation_index) li: u32) {
    var s = 0.0;
    for (var i = li; i < p.n; i += 64u) { s += src[i]; }
    red[li] = s;
    reduce_sum(li);
    if li == 0u {
        let norm = sqrt(red[0]);
        dst[0] = norm;
        dst[1] = select(1.0, min(1.0, p.max_norm / (norm + 1e-6)), p.max_norm > 0.0);
    }
}
