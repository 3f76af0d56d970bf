// The fixed-order final sum of a split-K matmul (see matmul_sgemm.wgsl):
//   C[i] = sum over s = 0, 1, .. splits-1 of part[s][i] (+ bias[i % N]) (+ C[i] when accumulating)
// part is (splits, batch, M, N), C and i run over (batch, M, N). The splits are summed in
// order whatever the schedule, so the result is the same bits on every run.
// One thread per output; grid: ceil(batch * M * N / 64) workgroups folded into (x, y).

// #import "common/sgemm_params.wgsl"

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

@compute @workgroup_size(64)
fn matmul_splitk(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = (wid.x + wid.y * nwg.x) * 64u + lid;
    let total = p.batch * p.m * p.n;
    if i >= total {
        return;
    }
    var v = 0.0;
    for (var s = 0u; s < p.splits; s++) {
        v += part[s * total + i];
    }
    if (p.flags & 4u) != 0u {
        v += bias[i % p.n];
    }
    if (p.flags & 8u) != 0u {
        v += c[i];
    }
    c[i] = v;
}
