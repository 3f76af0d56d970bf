// Prepends one learned row (a [CLS] token) to every sequence of a batch.
// row is (H,), x is (B, N, H), out is (B, N + 1, H) with out[b, 0] = row, out[b, 1 + n] = x[b, n].
// Its backward is prepend_backward.wgsl.

struct Params {
    b: u32,
    n: u32,
    h: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> bb: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

fn thread_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.y * nwg.x + wid.x) * 64u + lid;
}

// a = row (H,), bb = x (B, N, H), c = out (B, N + 1, H).
@compute @workgroup_size(64)
fn forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = thread_index(wid, nwg, lid);
    if (i >= p.b * (p.n + 1u) * p.h) {
        return;
    }
    let j = i % p.h;
    let s = (i / p.h) % (p.n + 1u);
    let b = i / (p.h * (p.n + 1u));
    if (s == 0u) {
        c[i] = a[j];
    } else {
        c[i] = bb[(b * p.n + s - 1u) * p.h + j];
    }
}
