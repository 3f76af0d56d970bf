// Row gather with the row indices in a GPU buffer (no host round trip), and its gradient.
// ids are (N,) row indices < V; w is the table (V, C); out and dy are (N, C); dw is (V, C).
//   forward:  out[t, c] = w[ids[t], c]                 one thread per output element;
//             an index >= V gives a row of zeros (never an out-of-bounds read)
//   backward: dw[v, c] = sum of dy[t, c] over t with ids[t] = v, t ascending. One thread per
//             (v, c) scans all N indices: O(N·V·C), fine for the few rows it serves (VTM
//             pairs), with no host-side grouping, no atomics and a deterministic sum order.
//   rows_u32: the forward for u32 tables (attention masks).

struct Params {
    n: u32,
    v: u32,
    c: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;

@group(0) @binding(2) var<storage, read> w_u32: array<u32>;
@group(0) @binding(3) var<storage, read_write> out_u32: array<u32>;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.y * nwg.x + wid.x) * 64u + lid;
}

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let i = index(wid, nwg, lid);
    if i >= p.n * p.c { return; }
    let row = ids[i / p.c];
    if row >= p.v {
        out[i] = 0.0;
        return;
    }
    out[i] = w[row * p.c + i % p.c];
}

@compute @workgroup_size(64)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let i = index(wid, nwg, lid);
    if i >= p.v * p.c { return; }
    let row = i / p.c;
    let col = i % p.c;
    var s = 0.0;
    for (var t = 0u; t < p.n; t++) {
        if ids[t] == row {
            s += dy[t * p.c + col];
        }
    }
    dw[i] = s;
}

@compute @workgroup_size(64)
fn rows_u32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let i = index(wid, nwg, lid);
    if i >= p.n * p.c { return; }
    let row = ids[i / p.c];
    if row >= p.v {
        out_u32[i] = 0u;
        return;
    }
    out_u32[i] = w_u32[row * p.c + i % p.c];
}
