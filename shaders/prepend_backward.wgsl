// Backward of prepend.wgsl (a learned [CLS] row put in front of every sequence): splits the
// gradient dout (B, N + 1, H) into dx (B, N, H) = dout[:, 1:] and drow (H,) = the sum over b of
// dout[b, 0] (threads below H do that sum, in a fixed order, so results are deterministic).

struct Params {
    b: u32,
    n: u32,
    h: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<storage, read_write> drow: array<f32>;

@compute @workgroup_size(64)
fn backward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = (wid.y * nwg.x + wid.x) * 64u + lid;
    if (i < p.b * p.n * p.h) {
        let j = i % p.h;
        let s = (i / p.h) % p.n;
        let b = i / (p.h * p.n);
        dx[i] = dout[(b * (p.n + 1u) + s + 1u) * p.h + j];
    }
    if (i < p.h) {
        var acc = 0.0;
        for (var b = 0u; b < p.b; b = b + 1u) {
            acc = acc + dout[b * (p.n + 1u) * p.h + i];
        }
        drow[i] = acc;
    }
}
