// Column sums in two fixed-order stages (deterministic: no atomics, the same bits on every
// run): out[c] = sum over rows r of x[r, c]; x is (rows, C), out is (C,). Bias gradients and,
// through layernorm.wgsl's backward_params, layer norm's dgamma / dbeta use it.
//   colsum: partial[g, c] = x[r0, c] + x[r0 + 1, c] + ... over the rows of chunk g,
//           [g * chunk_rows, min((g + 1) * chunk_rows, rows)), added in row order; partial is
//           (chunks, C). Stage 2 is the same entry over the partials as one chunk of `chunks`
//           rows, so it adds them in chunk order.
// Grid: (ceil(C / 64) column strips, chunks); one thread per column of a chunk, so a warp
// reads 64 consecutive floats of each row. colsum4, for C % 4 = 0: the same sums (the same
// order, the same bits) four columns an invocation, one vec4 load a row, ceil(C / 256) strips:
// llvmpipe moves a vec4 a lane at the cost of a scalar (BENCHMARKS.md).

struct Params {
    rows: u32,
    c: u32,
    chunk_rows: u32,
    chunks: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(64)
fn colsum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let col = wid.x * 64u + li;
    let g = wid.y;
    if col >= p.c || g >= p.chunks { return; }
    let r0 = g * p.chunk_rows;
    let r1 = min(r0 + p.chunk_rows, p.rows);
    var s = 0.0;
    for (var r = r0; r < r1; r++) {
        s += x[r * p.c + col];
    }
    partial[g * p.c + col] = s;
}

@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> partial4: array<vec4<f32>>;

@compute @workgroup_size(64)
fn colsum4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let col4 = wid.x * 64u + li;
    let c4 = p.c / 4u;
    let g = wid.y;
    if col4 >= c4 || g >= p.chunks { return; }
    let r0 = g * p.chunk_rows;
    let r1 = min(r0 + p.chunk_rows, p.rows);
    var s = vec4(0.0);
    for (var r = r0; r < r1; r++) {
        s += x4[r * c4 + col4];
    }
    partial4[g * c4 + col4] = s;
}
