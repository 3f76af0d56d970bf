// Gradient of row-wise L2 normalisation (l2_normalize.wgsl): x, dy, dx are [rows, dim];
// with n = ‖x[r, :]‖ and y = x / n:  dx = (dy − y (y · dy)) / n, and dx = dy / eps where the
// norm was clamped at eps (there y = x / eps is linear in x). One thread per row.

struct Params {
    rows: u32,
    dim: u32,
    eps: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(64)
fn l2_normalize_backward(@builtin(workgroup_id) wid: vec3<u32>,
                         @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_id) lid: vec3<u32>) {
    let r = (wid.y * nwg.x + wid.x) * 64u + lid.x;
    if r >= p.rows { return; }
    let base = r * p.dim;
    var ss = 0.0;
    var xdy = 0.0;
    for (var j = 0u; j < p.dim; j++) {
        ss += x[base + j] * x[base + j];
        xdy += x[base + j] * dy[base + j];
    }
    let n = sqrt(ss);
    if n <= p.eps {
        for (var j = 0u; j < p.dim; j++) {
            dx[base + j] = dy[base + j] / p.eps;
        }
        return;
    }
    // y · dy = (x · dy) / n, so y (y · dy) = x (x · dy) / n².
    let c = xdy / (n * n);
    for (var j = 0u; j < p.dim; j++) {
        dx[base + j] = (dy[base + j] - x[base + j] * c) / n;
    }
}
