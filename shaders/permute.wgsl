// Swaps axes 1 and 2 of a 4-D tensor: x is (A, B, C, D) row-major, y is (A, C, B, D).
// Splits attention heads, (batch, seq, heads, head_dim) -> (batch, heads, seq, head_dim), and
// merges them back (the same swap with B and C exchanged), so one swap is the other's backward.

struct Params {
    a: u32,
    b: u32,
    c: u32,
    d: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn swap12(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let group = wid.y * nwg.x + wid.x;
    let i = group * 64u + lid;
    if (i >= p.a * p.b * p.c * p.d) {
        return;
    }
    // i walks y = (A, C, B, D) so that the writes are contiguous.
    let di = i % p.d;
    var r = i / p.d;
    let bi = r % p.b;
    r = r / p.b;
    let ci = r % p.c;
    let ai = r / p.c;
    y[i] = x[((ai * p.b + bi) * p.c + ci) * p.d + di];
}
