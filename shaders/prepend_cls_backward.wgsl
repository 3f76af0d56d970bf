// Gradient of prepending a [CLS] token (prepend_cls.wgsl): dy is [B, N + 1, D];
//   dx[b, n, :] = dy[b, 1 + n, :]          dx is [B, N, D]
//   dcls[:]     = Σ_b dy[b, 0, :]          dcls is [D] (every sequence shares the token)
// One thread per element of dx; the first D threads also sum one column of dcls over B.

struct Params {
    batch: u32,
    tokens: u32,
    dim: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<storage, read_write> dcls: array<f32>;

@compute @workgroup_size(64)
fn prepend_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = (wid.y * nwg.x + wid.x) * 64u + lid.x;
    let row = (p.tokens + 1u) * p.dim;
    if i < p.dim {
        var acc = 0.0;
        for (var b = 0u; b < p.batch; b++) {
            acc += dy[b * row + i];
        }
        dcls[i] = acc;
    }
    let n = p.batch * p.tokens * p.dim;
    if i >= n { return; }
    let b = i / (p.tokens * p.dim);
    let r = i % (p.tokens * p.dim);
    dx[i] = dy[b * row + p.dim + r];
}
