//! Embeds every `shaders/*.wgsl` and `shaders/dev/*.wgsl` file: expands its imports of
//! `shaders/common/` (`src/shaders/import.rs`) into OUT_DIR and generates `shaders.rs` there
//! with one `include_str!` per file, so a new shader needs no registration by hand.

use std::{env, fs, path::Path};

#[path = "src/shaders/import.rs"]
mod import;

fn main() {
    // Read at run time, not baked in with env!: a target folder copied from another checkout
    // would otherwise keep embedding that checkout's shaders.
    let root = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&root).join("shaders");
    let out_dir = Path::new(&env::var("OUT_DIR").unwrap()).join("shaders");
    fs::create_dir_all(&out_dir).unwrap();
    // The snippets shaders import: not shaders themselves, but a change rebuilds.
    println!("cargo:rerun-if-changed={}", dir.join("common").display());
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
        let src = fs::read_to_string(path).unwrap();
        let mut read = |name: &str| {
            let snippet = dir.join(name);
            println!("cargo:rerun-if-changed={}", snippet.display());
            fs::read_to_string(snippet).ok()
        };
        let file = format!("{n}.wgsl");
        let expanded = import::expand(&file, &src, &mut read).unwrap_or_else(|e| panic!("{e}"));
        let target = out_dir.join(&file);
        fs::write(&target, expanded).unwrap();
        out.push_str(&format!(
            "    ({n:?}, include_str!({:?})),\n",
            target.display().to_string()
        ));
    }
    out.push_str("];\n");
    fs::write(
        Path::new(&env::var("OUT_DIR").unwrap()).join("shaders.rs"),
        out,
    )
    .unwrap();
}
