// Tubelet flattening (im2col for a 3-D patch embedding) and its inverse.
// video is (B, T, C, H, W); tubelets are (tt, th, tw) and tile it exactly, giving a grid
// (gt, gh, gw) = (T/tt, H/th, W/tw). patches is (B, N, D) with token n = (it*gh + iy)*gw + ix
// and value d = ((c*tt + dt)*th + dy)*tw + dx (the order of a Conv3d weight [out, C, t, h, w]).
// `tubelets` gathers video -> patches; `untubelets` gathers patches -> video (the gradient,
// since the map is a bijection).

struct Params {
    b: u32,
    t: u32,
    c: u32,
    h: u32,
    w: u32,
    tt: u32,
    th: u32,
    tw: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn thread_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.y * nwg.x + wid.x) * 64u + lid;
}

// The patches index of video element i (both have B*T*C*H*W elements).
fn patch_index(i: u32) -> u32 {
    let x = i % p.w;
    var r = i / p.w;
    let y = r % p.h;
    r = r / p.h;
    let c = r % p.c;
    r = r / p.c;
    let t = r % p.t;
    let b = r / p.t;
    let gh = p.h / p.th;
    let gw = p.w / p.tw;
    let gt = p.t / p.tt;
    let n = ((t / p.tt) * gh + y / p.th) * gw + x / p.tw;
    let d = ((c * p.tt + t % p.tt) * p.th + y % p.th) * p.tw + x % p.tw;
    let dim = p.c * p.tt * p.th * p.tw;
    return (b * gt * gh * gw + n) * dim + d;
}

@compute @workgroup_size(64)
fn untubelets(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = thread_index(wid, nwg, lid);
    if (i >= p.b * p.t * p.c * p.h * p.w) {
        return;
    }
    dst[i] = src[patch_index(i)];
}

@compute @workgroup_size(64)
fn tubelets(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = thread_index(wid, nwg, lid);
    if (i >= p.b * p.t * p.c * p.h * p.w) {
        return;
    }
    // Each thread owns one video element and scatters it: the map is a bijection, so every
    // patch value is written exactly once.
    dst[patch_index(i)] = src[i];
}
