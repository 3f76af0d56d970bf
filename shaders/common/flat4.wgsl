// What the flat elementwise kernels share (elementwise, unary, quick_gelu): each invocation
// owns one vec4, elements 4 i .. 4 i + 3 of n, because llvmpipe moves a vec4 a lane at the
// cost of a scalar and runs a quarter of the workgroups (BENCHMARKS.md, "The CPU path against
// XLA"). The importing module declares `p.n` (the element count) and `out:
// array<vec4<f32>>`; its launcher binds every buffer rounded up to 16 bytes, inside the
// buffer's allocation, so the last vec4 of an n that is not a multiple of 4 is addressable:
// its lanes at n and past are read as whatever the padding holds and written back unchanged.
//
// Dispatch convention (src/gpu/batch.rs): 64 invocations a workgroup; the linear workgroup
// count may be folded into an (x, y) grid when it exceeds 65 535, so the vec4 index is
// (wid.y * nwg.x + wid.x) * 64 + lid.x, guarded against ceil(n / 4).

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    return (wid.y * nwg.x + wid.x) * 64u + lid.x;
}

// Whether vec4 `i` holds any of the n elements.
fn in_range(i: u32) -> bool {
    return i < (p.n + 3u) / 4u;
}

// The element index of each lane of vec4 `i`.
fn lanes(i: u32) -> vec4<u32> {
    return vec4(4u * i) + vec4(0u, 1u, 2u, 3u);
}

// out[i] = v for the lanes below n; the lanes past n keep what they hold.
fn put(i: u32, v: vec4<f32>) {
    if 4u * i + 4u <= p.n {
        out[i] = v;
    } else {
        out[i] = select(out[i], v, lanes(i) < vec4(p.n));
    }
}

const INV_SQRT2: f32 = 0.70710678118654752;
const INV_SQRT_2PI: f32 = 0.39894228040143268;

// erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7); WGSL has no erf.
fn erf4(z: vec4<f32>) -> vec4<f32> {
    let a = abs(z);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t
        + 0.254829592) * t;
    return sign(z) * (1.0 - poly * exp(-a * a));
}
