// Tubelet embedding's rearrangement (ViViT / VideoMAE): a video [B, T, C, H, W] cut into
// non-overlapping tubelets of tt frames × ph × pw pixels, one row per tubelet:
//   im2col: patches[b, n, d] = video[b, t, c, y, x]       patches is [B, N, D]
//   col2im: video[b, t, c, y, x] = patches[b, n, d]       (the gradient: the inverse scatter)
// with N = (T/tt)·(H/ph)·(W/pw) tokens ordered (time, row, column) and D = C·tt·ph·pw values
// ordered (channel, frame, row, column) like a Conv3d kernel. Tubelets do not overlap, so the
// map is a bijection: every thread writes one element and no two threads write the same one.
//
// Each thread moves one run of pw elements (a tubelet row: contiguous in both layouts), so
// the index arithmetic (integer divisions, costly on CPU drivers) is done once per run.
// Dispatch: 64 threads a workgroup over total / pw runs, the count possibly folded into (x, y).

struct Params {
    batch: u32,
    frames: u32,
    channels: u32,
    height: u32,
    width: u32,
    tt: u32,
    ph: u32,
    pw: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// The video index of patch element i (row-major [B, N, D]).
fn video_index(i: u32) -> u32 {
    let gh = p.height / p.ph;
    let gw = p.width / p.pw;
    let d_len = p.channels * p.tt * p.ph * p.pw;
    let n_len = (p.frames / p.tt) * gh * gw;
    let d = i % d_len;
    let n = (i / d_len) % n_len;
    let b = i / (d_len * n_len);
    let dx = d % p.pw;
    let dy = (d / p.pw) % p.ph;
    let dt = (d / (p.pw * p.ph)) % p.tt;
    let c = d / (p.pw * p.ph * p.tt);
    let ix = n % gw;
    let iy = (n / gw) % gh;
    let it = n / (gw * gh);
    let t = it * p.tt + dt;
    let y = iy * p.ph + dy;
    let x = ix * p.pw + dx;
    return (((b * p.frames + t) * p.channels + c) * p.height + y) * p.width + x;
}

fn total() -> u32 {
    return p.batch * p.frames * p.channels * p.height * p.width;
}

@compute @workgroup_size(64)
fn im2col(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    let run = (wid.y * nwg.x + wid.x) * 64u + lid.x;
    if run >= total() / p.pw { return; }
    let i = run * p.pw;
    let vi = video_index(i);
    for (var dx = 0u; dx < p.pw; dx++) {
        dst[i + dx] = src[vi + dx];
    }
}

@compute @workgroup_size(64)
fn col2im(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    let run = (wid.y * nwg.x + wid.x) * 64u + lid.x;
    if run >= total() / p.pw { return; }
    let i = run * p.pw;
    let vi = video_index(i);
    for (var dx = 0u; dx < p.pw; dx++) {
        dst[vi + dx] = src[i + dx];
    }
}
