//! The generator of the two unrolled CPU-driver matmul kernels, `shaders/matmul_cpu.wgsl`
//! and `shaders/matmul_tex.wgsl`: each file's hand-written head (comments, bindings, helper
//! functions) is kept as it is and everything from its `@compute` entry point on is this
//! generator's output. Written as WGSL loops over arrays, lavapipe keeps the accumulators in
//! memory (measured: the texture kernel 3.5x and the vec4 one 1.4x slower at 1024³), hence
//! the unrolled form.
//!
//! Shared by the check (`tests/shader_generator.rs`, which never writes) and the command that
//! rewrites the files after a generator changes: `cargo run --release --example write_shaders`.

#![allow(dead_code)]

use std::fmt::Write;

/// `matmul_cpu`: 8 invocations, a 16 x 32 block (an invocation 16 rows x 4 columns as 16
/// vec4 accumulators), A's 16 x 16 block staged in workgroup memory 16 values of k at a time.
fn matmul_cpu() -> String {
    let mut s = String::new();
    let w = &mut s;
    w.push_str("@compute @workgroup_size(8)\n");
    w.push_str("fn matmul_cpu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {\n");
    for line in [
        "let m0 = wid.y * 16u;",
        "let n0 = wid.x * 32u;",
        "let k4 = p.k / 4u;",
        "let n4 = p.n / 4u;",
        "let abase = wid.z * (p.stride_a / 4u);",
        "let bbase = wid.z * (p.stride_b / 4u);",
        "let col = min(n0 / 4u + lane, n4 - 1u);",
    ] {
        writeln!(w, "    {line}").unwrap();
    }
    for i in 0..8 {
        let e = 8 * i;
        writeln!(
            w,
            "    let src{i} = abase + min(m0 + (lane + {e}u) / 4u, p.m - 1u) * k4 + (lane + {e}u) % 4u;"
        )
        .unwrap();
    }
    for r in 0..16 {
        writeln!(w, "    var acc{r} = vec4<f32>(0.0);").unwrap();
    }
    w.push_str("    for (var kq = 0u; kq < k4; kq += 4u) {\n");
    for i in 0..8 {
        writeln!(w, "        a_block[lane + {}u] = a4[src{i} + kq];", 8 * i).unwrap();
    }
    w.push_str("        workgroupBarrier();\n");
    for j in 0..4 {
        writeln!(
            w,
            "        let brow{j} = bbase + (kq + {j}u) * 4u * n4 + col;"
        )
        .unwrap();
        for c in 0..4 {
            writeln!(w, "        let b{j}_{c} = b4[brow{j} + {c}u * n4];").unwrap();
        }
        for r in 0..16 {
            writeln!(w, "        let a{j}_{r} = a_block[{}];", 4 * r + j).unwrap();
            for (c, x) in ["x", "y", "z", "w"].iter().enumerate() {
                writeln!(
                    w,
                    "        acc{r} = fma(vec4<f32>(a{j}_{r}.{x}), b{j}_{c}, acc{r});"
                )
                .unwrap();
            }
        }
    }
    w.push_str("        workgroupBarrier();\n    }\n");
    w.push_str("    let cbase = wid.z * p.stride_c;\n    let c0 = n0 + 4u * lane;\n");
    for r in 0..16 {
        writeln!(w, "    store_vec4(m0 + {r}u, c0, cbase, acc{r});").unwrap();
    }
    w.push_str("}\n\n");
    w.push_str(
        "fn store_vec4(row: u32, col: u32, cbase: u32, v: vec4<f32>) {\n    if row >= p.m {\n        return;\n    }\n",
    );
    for (i, x) in ["x", "y", "z", "w"].iter().enumerate() {
        let col = if i == 0 {
            "col".to_string()
        } else {
            format!("col + {i}u")
        };
        writeln!(w, "    store_one(row, {col}, cbase, v.{x});").unwrap();
    }
    w.push_str("}\n");
    s
}

/// `matmul_tex`: 8 invocations, an 8 x 256 block (an invocation 8 rows x 8 groups of 4
/// columns, 32 columns apart), A and B read as texels.
fn matmul_tex() -> String {
    let mut s = String::new();
    let w = &mut s;
    w.push_str("@compute @workgroup_size(8)\n");
    w.push_str("fn matmul_tex(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {\n");
    w.push_str("    let m0 = wid.y * 8u;\n    let n4 = p.n / 4u;\n");
    for g in 0..8 {
        writeln!(
            w,
            "    let col{g} = min(wid.x * 64u + lane + {}u, n4 - 1u);",
            8 * g
        )
        .unwrap();
    }
    for r in 0..8 {
        writeln!(w, "    let row{r} = min(m0 + {r}u, p.m - 1u);").unwrap();
    }
    for r in 0..8 {
        for g in 0..8 {
            writeln!(w, "    var acc{r}_{g} = vec4<f32>(0.0);").unwrap();
        }
    }
    w.push_str("    for (var kq = 0u; kq < p.k / 4u; kq++) {\n        let k0 = kq * 4u;\n");
    for g in 0..8 {
        for j in 0..4 {
            writeln!(w, "        let b{g}_{j} = fetch(b_tex, col{g}, k0 + {j}u);").unwrap();
        }
    }
    for r in 0..8 {
        writeln!(w, "        let a{r} = fetch(a_tex, kq, row{r});").unwrap();
        for g in 0..8 {
            writeln!(
                w,
                "        acc{r}_{g} = mac(a{r}, b{g}_0, b{g}_1, b{g}_2, b{g}_3, acc{r}_{g});"
            )
            .unwrap();
        }
    }
    w.push_str("    }\n");
    for r in 0..8 {
        for g in 0..8 {
            writeln!(
                w,
                "    store_vec4(m0 + {r}u, 4u * (wid.x * 64u + lane + {}u), acc{r}_{g});",
                8 * g
            )
            .unwrap();
        }
    }
    w.push_str("}\n");
    s
}

/// The generated kernels: (name, generated part).
pub fn kernels() -> [(&'static str, String); 2] {
    [("matmul_cpu", matmul_cpu()), ("matmul_tex", matmul_tex())]
}

/// `shaders/{name}.wgsl`'s path, its current text, and what it must be: its head up to
/// `fn {name}`'s `@compute` line, then `body`.
pub fn expected(name: &str, body: &str) -> (String, String, String) {
    let path = format!("{}/shaders/{name}.wgsl", env!("CARGO_MANIFEST_DIR"));
    let file = std::fs::read_to_string(&path).unwrap();
    let marker = format!("@compute @workgroup_size(8)\nfn {name}(");
    let at = file
        .find(&marker)
        .unwrap_or_else(|| panic!("{path}: no {marker:?}"));
    let want = format!("{}{body}", &file[..at]);
    (path, file, want)
}
