//! The unrolled CPU-driver matmul kernels (`shaders/matmul_cpu.wgsl`, `matmul_tex.wgsl`) are
//! exactly the output of their generator (`tests/matmul_unrolled/mod.rs`). This test only
//! checks; after changing the generator, `cargo run --release --example write_shaders`
//! rewrites the files.

mod matmul_unrolled;

#[test]
fn the_unrolled_cpu_matmul_kernels_are_the_generators_output() {
    for (name, body) in matmul_unrolled::kernels() {
        let (path, file, want) = matmul_unrolled::expected(name, &body);
        if file != want {
            let line = file
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .map_or(file.lines().count().min(want.lines().count()), |i| i);
            panic!(
                "{path} is not the generator's output (first difference at line {}); after changing the generator run `cargo run --release --example write_shaders`, never edit the file's generated part",
                line + 1
            );
        }
    }
}
