// The arithmetic ceiling of a driver: fused multiply-adds on registers only, no memory in the
// loop, so `bench kernels` can set each kernel's GFLOP/s beside what the device's ALUs give
// through WGSL (on lavapipe: llvmpipe's SIMD lanes, 8 floats wide on a 256-bit build).
// Invocation i loads x[i] (a vec4), starts 4 independent vec4 accumulators at x[i] + j
// (enough to hide an FMA's latency without spilling), runs `iters` rounds of two
// acc = fma(acc, a, b) on each, and writes the sum of their components to out[i].
// FLOPs: invocations * iters * 8 * 4 * 2. Grid: ceil(n / 64) workgroups of 64, folded into
// (x, y) past 65 535 (src/gpu/batch.rs), so i = (wid.y * nwg.x + wid.x) * 64 + lid.x.

struct Params {
    n: u32,
    iters: u32,
    a: f32,
    b: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn fma_peak(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = (wid.y * nwg.x + wid.x) * 64u + lid;
    if i >= p.n {
        return;
    }
    let v = x[i];
    // Four accumulators in named variables: 16 registers of 8 lanes, what AVX2 has. Eight
    // spill on llvmpipe, and an array indexed in a loop halves the rate (BENCHMARKS.md).
    var a0 = v;
    var a1 = v + vec4(1.0);
    var a2 = v + vec4(2.0);
    var a3 = v + vec4(3.0);
    let a = vec4(p.a);
    let b = vec4(p.b);
    for (var t = 0u; t < p.iters; t++) {
        a0 = fma(a0, a, b);
        a1 = fma(a1, a, b);
        a2 = fma(a2, a, b);
        a3 = fma(a3, a, b);
        a0 = fma(a0, a, b);
        a1 = fma(a1, a, b);
        a2 = fma(a2, a, b);
        a3 = fma(a3, a, b);
    }
    let s = a0 + a1 + a2 + a3;
    out[i] = s.x + s.y + s.z + s.w;
}
