// The parameters every matmul kernel but SGEMM reads at binding 0 (matmul_cpu, matmul_tex,
// matmul_subgroup, matmul_subgroup_buf and dev/matmul); their Rust side is
// `matmul::Params`. Batch element z starts at z * stride_a in A (0: shared), z * stride_b in
// B and z * stride_c in C. Flags: bit 0 A transposed and bit 1 B transposed (read by the dev
// kernels; the others take transposes as override constants or not at all), bit 2 add the
// bias, bit 3 accumulate into C.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    batch: u32,
    stride_a: u32,
    stride_b: u32,
    stride_c: u32,
    flags: u32,
}
