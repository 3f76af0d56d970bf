//! Rewrite the generated part of `shaders/matmul_cpu.wgsl` and `shaders/matmul_tex.wgsl`
//! from their generator (`tests/matmul_unrolled/mod.rs`), after changing it:
//! `cargo run --release --example write_shaders`. `cargo test --test shader_generator` checks
//! that the files are its output.

#[path = "../tests/matmul_unrolled/mod.rs"]
mod matmul_unrolled;

fn main() {
    for (name, body) in matmul_unrolled::kernels() {
        let (path, file, want) = matmul_unrolled::expected(name, &body);
        if file == want {
            println!("{path}: unchanged");
        } else {
            std::fs::write(&path, &want).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
            println!("{path}: rewritten");
        }
    }
}
