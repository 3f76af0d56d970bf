//! Portability without the hardware: every `shaders/*.wgsl` (and `shaders/dev/*.wgsl`), its
//! imports of `shaders/common/` expanded, is parsed and validated by naga
//! with the capabilities the engine requests, then translated to SPIR-V, MSL, HLSL and GLSL
//! for every compute entry point. A failure names the file, the entry point and the backend.

use std::path::{Path, PathBuf};

use locomotion::shaders::import::{IMPORT, expand};
use naga::back::{glsl, hlsl, msl, spv};
use naga::valid::{Capabilities, ValidationFlags, Validator};

fn shader_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    // The shipped kernels and, in dev/, the ones kept for comparison.
    let mut files: Vec<PathBuf> = [dir.clone(), dir.join("dev")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).expect("shaders/ and shaders/dev/ exist"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wgsl"))
        .collect();
    files.sort();
    files
}

/// The capabilities the engine asks a device for: f16 and subgroups where present.
fn capabilities() -> Capabilities {
    Capabilities::SHADER_FLOAT16 | Capabilities::SUBGROUP | Capabilities::SUBGROUP_BARRIER
}

/// Check one WGSL source; returns every failure as "file: entry: backend: error".
pub fn check_source(file: &str, source: &str) -> Vec<String> {
    let mut failures = Vec::new();
    let module = match naga::front::wgsl::parse_str(source) {
        Ok(m) => m,
        Err(e) => return vec![format!("{file}: parse: {}", e.emit_to_string(source))],
    };
    let info = match Validator::new(ValidationFlags::all(), capabilities()).validate(&module) {
        Ok(i) => i,
        Err(e) => return vec![format!("{file}: validate: {}", e.emit_to_string(source))],
    };
    let uses_f16 = source.contains("enable f16");
    if module.entry_points.is_empty() {
        failures.push(format!("{file}: no entry points"));
    }
    for ep in &module.entry_points {
        let name = ep.name.clone();
        let stage = ep.stage;
        let fail = |backend: &str, e: String| format!("{file}: {name}: {backend}: {e}");
        // `override` constants at their defaults, as a pipeline without constants gets them
        // (launchers specialise some; the defaults are valid values).
        let (module, info) = match naga::back::pipeline_constants::process_overrides(
            &module,
            &info,
            Some((stage, &name)),
            &Default::default(),
        ) {
            Ok(x) => x,
            Err(e) => {
                failures.push(fail("overrides", e.to_string()));
                continue;
            }
        };
        let (module, info) = (module.as_ref(), info.as_ref());

        let spv_opts = spv::Options {
            lang_version: (1, 3),
            ..Default::default()
        };
        let spv_pipe = spv::PipelineOptions {
            shader_stage: stage,
            entry_point: name.clone(),
        };
        if let Err(e) = spv::write_vec(module, info, &spv_opts, Some(&spv_pipe)) {
            failures.push(fail("SPIR-V", e.to_string()));
        }

        let msl_opts = msl::Options {
            lang_version: (2, 4),
            ..Default::default()
        };
        let msl_pipe = msl::PipelineOptions {
            entry_point: Some((stage, name.clone())),
            ..Default::default()
        };
        if let Err(e) = msl::write_string(module, info, &msl_opts, &msl_pipe) {
            failures.push(fail("MSL", e.to_string()));
        }

        let hlsl_opts = hlsl::Options {
            shader_model: hlsl::ShaderModel::V6_2,
            ..Default::default()
        };
        let hlsl_pipe = hlsl::PipelineOptions {
            entry_point: Some((stage, name.clone())),
        };
        let mut out = String::new();
        if let Err(e) =
            hlsl::Writer::new(&mut out, &hlsl_opts, &hlsl_pipe).write(module, info, None)
        {
            failures.push(fail("HLSL", e.to_string()));
        }

        // wgpu's GL backend never offers SHADER_F16, so f16 shaders are not run there.
        if !uses_f16 {
            let glsl_opts = glsl::Options {
                version: glsl::Version::Desktop(430),
                ..Default::default()
            };
            let glsl_pipe = glsl::PipelineOptions {
                shader_stage: stage,
                entry_point: name.clone(),
                multiview: None,
            };
            let mut out = String::new();
            let written = glsl::Writer::new(
                &mut out,
                module,
                info,
                &glsl_opts,
                &glsl_pipe,
                naga::proc::BoundsCheckPolicies::default(),
            )
            .and_then(|mut w| w.write());
            if let Err(e) = written {
                failures.push(fail("GLSL", e.to_string()));
            }
        }
    }
    failures
}

/// The file `f` as the engine compiles it: its imports of `shaders/common/` expanded.
fn expanded(f: &Path) -> Result<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let name = f.file_name().unwrap().to_string_lossy().into_owned();
    let src = std::fs::read_to_string(f).unwrap();
    let mut read = |snippet: &str| std::fs::read_to_string(dir.join(snippet)).ok();
    expand(&name, &src, &mut read)
}

#[test]
fn every_shader_translates_to_every_backend() {
    let files = shader_files();
    assert!(!files.is_empty(), "no shaders found");
    let mut failures = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        match expanded(f) {
            Ok(src) => failures.extend(check_source(&name, &src)),
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "portability failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_shader_is_embedded_with_its_imports_expanded() {
    let mut imports = 0;
    for f in shader_files() {
        let stem = f.file_stem().unwrap().to_string_lossy().into_owned();
        let embedded = locomotion::shaders::source(&stem);
        assert!(embedded.is_some(), "{stem}.wgsl is not embedded");
        assert_eq!(embedded, expanded(&f).ok().as_deref(), "{stem}.wgsl");
        imports += std::fs::read_to_string(&f).unwrap().matches(IMPORT).count();
    }
    assert!(
        imports > 0,
        "no shader imports a snippet: the check above checks no expansion"
    );
}

#[test]
fn an_import_is_replaced_by_its_snippet_and_a_bad_one_names_file_and_line() {
    let mut read = |name: &str| match name {
        "common/p.wgsl" => Some("struct P { n: u32 }".to_string()),
        "common/again.wgsl" => Some(format!("{IMPORT}\"common/p.wgsl\"\n")),
        _ => None,
    };
    let src = "// a kernel\n    // #import \"common/p.wgsl\"\nfn f() {}\n";
    assert_eq!(
        expand("k.wgsl", src, &mut read).unwrap(),
        "// a kernel\nstruct P { n: u32 }\nfn f() {}\n"
    );
    for (line, why) in [
        (
            "// #import \"common/absent.wgsl\"",
            "k.wgsl:2: imports common/absent.wgsl, which does not exist",
        ),
        (
            "// #import common/p.wgsl",
            "k.wgsl:2: an import names a quoted path",
        ),
        (
            "// #import \"common/again.wgsl\"",
            "k.wgsl:2: common/again.wgsl imports in turn",
        ),
    ] {
        let e = expand("k.wgsl", &format!("// a kernel\n{line}\n"), &mut read).unwrap_err();
        assert!(e.starts_with(why), "{e}");
    }
}

#[test]
fn a_broken_shader_is_reported_with_file_and_stage() {
    // A type error: assigning a vec to a scalar.
    let broken = "@group(0) @binding(0) var<storage, read_write> o: array<f32>;\n\
                  @compute @workgroup_size(1) fn main() { o[0] = vec2<f32>(1.0, 2.0); }";
    let f = check_source("broken.wgsl", broken);
    assert_eq!(f.len(), 1);
    assert!(f[0].starts_with("broken.wgsl: validate:"), "{}", f[0]);

    // Parses and validates, but uses a builtin no backend should accept for compute.
    let unparsable = "@compute @workgroup_size(1) fn main( { }";
    let f = check_source("syntax.wgsl", unparsable);
    assert!(f[0].starts_with("syntax.wgsl: parse:"), "{}", f[0]);
}
