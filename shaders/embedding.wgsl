// Embedding lookup and its gradient. ids are (N,) token ids < V; w is the table (V, C);
// out and dy are (N, C); dw is (V, C).
//   forward:  out[t, c] = w[ids[t], c]                        one thread per output element
//   backward: dw[v, c] = sum of dy[t, c] over the tokens t with ids[t] = v, in token order.
//     The host groups tokens by id (a counting sort): order (N,) lists token indices grouped
//     by id and offsets (V + 1,) delimits each id's group. One thread per (v, c) sums its own
//     group, so there are no races, no float atomics, and the result is deterministic.
// forward4 and backward4, for C % 4 = 0: the same, four columns an invocation (one vec4 load
// and store; llvmpipe moves a vec4 a lane at the cost of a scalar), the same sums in the same
// order.

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

@group(0) @binding(1) var<storage, read> order: array<u32>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dw: array<f32>;

// The invocation's linear index: 64 a workgroup, the linear count folded into (x, y).
fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.y * nwg.x + wid.x) * 64u + lid;
}

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let i = index(wid, nwg, lid);
    if i >= p.n * p.c { return; }
    let t = i / p.c;
    let col = i % p.c;
    out[i] = w[ids[t] * p.c + col];
}

@compute @workgroup_size(64)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let i = index(wid, nwg, lid);
    if i >= p.v * p.c { return; }
    let row = i / p.c;
    let col = i % p.c;
    var s = 0.0;
    for (var k = offsets[row]; k < offsets[row + 1u]; k++) {
        s += dy[order[k] * p.c + col];
    }
    dw[i] = s;
}

@group(0) @binding(2) var<storage, read> w4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4<f32>>;

@group(0) @binding(3) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dw4: array<vec4<f32>>;

@compute @workgroup_size(64)
fn forward4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let i = index(wid, nwg, lid);
    let c4 = p.c / 4u;
    if i >= p.n * c4 { return; }
    let t = i / c4;
    let col4 = i % c4;
    out4[i] = w4[ids[t] * c4 + col4];
}

@compute @workgroup_size(64)
fn backward4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let i = index(wid, nwg, lid);
    let c4 = p.c / 4u;
    if i >= p.v * c4 { return; }
    let row = i / c4;
    let col4 = i % c4;
    var s = vec4(0.0);
    for (var k = offsets[row]; k < offsets[row + 1u]; k++) {
        s += dy4[order[k] * c4 + col4];
    }
    dw4[i] = s;
}
