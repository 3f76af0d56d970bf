// Heads-major copies padded to a multiple of 4 rows for attention's matmul route
// (attention.rs, `pad_heads` and `unpad_heads`), so the products and the row kernels run on
// vec4s whatever the sequence length:
//   pad:    y (B, H, T4, D) <- x, rows t >= T zero
//   unpad:  y <- x (B, H, T4, D), rows t >= T dropped
// where the unpadded side is (B, T, H, D) with p.tokens_major = 1 (a linear layer's rows),
// else (B, H, T, D). D is a multiple of 4. One thread per row of D values written (B*H*T4
// for pad, B*H*T for unpad), copied as vec4s: CPU drivers pay for integer division per
// thread, not per element. 64 a workgroup, the linear count folded into (x, y).

struct Params {
    b: u32,
    h: u32,
    t: u32,
    t4: u32,
    d: u32,
    tokens_major: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.y * nwg.x + wid.x) * 64u + lid;
}

// First vec4 of row (b, h, t) on the unpadded side.
fn natural(b: u32, h: u32, t: u32) -> u32 {
    let d4 = p.d / 4u;
    if p.tokens_major == 1u {
        return ((b * p.t + t) * p.h + h) * d4;
    }
    return ((b * p.h + h) * p.t + t) * d4;
}

@compute @workgroup_size(64)
fn pad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
    let row = index(wid, nwg, lid);
    if row >= p.b * p.h * p.t4 { return; }
    let d4 = p.d / 4u;
    let t = row % p.t4;
    let bh = row / p.t4;
    let dst = row * d4;
    if t < p.t {
        let src = natural(bh / p.h, bh % p.h, t);
        for (var c = 0u; c < d4; c++) { y[dst + c] = x[src + c]; }
    } else {
        for (var c = 0u; c < d4; c++) { y[dst + c] = vec4<f32>(0.0); }
    }
}

@compute @workgroup_size(64)
fn unpad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let row = index(wid, nwg, lid);
    if row >= p.b * p.h * p.t { return; }
    let d4 = p.d / 4u;
    let t = row % p.t;
    let bh = row / p.t;
    let src = (bh * p.t4 + t) * d4;
    let dst = natural(bh / p.h, bh % p.h, t);
    for (var c = 0u; c < d4; c++) { y[dst + c] = x[src + c]; }
}
