//! Embeds every `shaders/*.wgsl` and `shaders/dev/*.wgsl` file: generates `shaders.rs` in OUT_DIR with one
//! `include_str!` per file, so a new shader needs no registration by hand.

use std::{env, fs, path::Path};

fn main() {
    // Read at run time, not baked in with env!: a target folder copied from another checkout
    // would otherwise keep embedding that checkout's shaders.
    let root = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&root).join("shaders");
    // Shipped kernels in shaders/, the ones kept for comparison in shaders/dev/; one stem
    // names one shader whichever folder holds it.
    let mut files: Vec<(String, std::path::PathBuf)> = Vec::new();
    for folder in [dir.clone(), dir.join("dev")] {
        println!("cargo:rerun-if-changed={}", folder.display());
        for p in fs::read_dir(&folder)
            .expect("shaders/ folder")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "wgsl"))
        {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            assert!(
                files.iter().all(|(n, _)| *n != stem),
                "shaders/ and shaders/dev/ both hold {stem}.wgsl"
            );
            files.push((stem, p));
        }
    }
    files.sort();
    let mut out = String::from(
        "/// Every embedded shader: (file stem, WGSL source).\npub const SHADERS: &[(&str, &str)] = &[\n",
    );
    for (n, path) in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        out.push_str(&format!(
            "    ({n:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push_str("];\n");
    fs::write(
        Path::new(&env::var("OUT_DIR").unwrap()).join("shaders.rs"),
        out,
    )
    .unwrap();
}
