// The parameters of the GPU matmul and its split-K sum at binding 0 (matmul_sgemm and
// matmul_splitk); their Rust side is `matmul::sgemm::Params`. Batch element z starts at
// z * stride_a in A (0: shared), z * stride_b in B and z * stride_c in C. Flags: bit 2 add
// the bias, bit 3 accumulate into C (bits 0 and 1, the transposes, are override constants
// here). One split multiplies a K range of k_chunk (a multiple of BK); `splits` partial
// products are summed in order.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    batch: u32,
    stride_a: u32,
    stride_b: u32,
    stride_c: u32,
    flags: u32,
    k_chunk: u32,
    splits: u32,
}
