//! What the binary reads besides its subcommand's flags: the global `--adapter`, the
//! WGPU_ADAPTER_NAME and LOCOMOTION_SHADER_DIR variables, and `bench composite` run as a
//! user runs it. Each would fail if the setting were read and ignored.
//! (LOCOMOTION_KERNELS: tests/gpu_path.rs; LOCOMOTION_FFMPEG_TIMEOUT: ffmpeg_video.rs;
//! LOCOMOTION_LLM_API_KEY: caption_llm.rs; LOCOMOTION_COLLECTIVE_TIMEOUT: mpi.rs.)

use std::process::{Command, Output};

fn locomotion(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_locomotion"));
    c.args(args).env_remove("WGPU_ADAPTER_NAME");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The adapter `info` chooses by default, from its "chosen: NAME (backend, type)" line.
fn chosen(out: &Output) -> String {
    let s = text(&out.stdout);
    let line = s.lines().find_map(|l| l.strip_prefix("chosen: "));
    let line = line.unwrap_or_else(|| panic!("no chosen adapter in {s}"));
    line.rsplit_once(" (").unwrap().0.to_string()
}

#[test]
fn adapter_flag_and_variable_pick_the_adapter_and_the_flag_wins() {
    let out = locomotion(&["info"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let name = chosen(&out);
    // A part of its name, in other case, picks it.
    let part = name.split_whitespace().next().unwrap().to_uppercase();
    let absent = "zz-no-such-adapter";
    for (args, env) in [
        (vec!["info", "--adapter", absent], vec![]),
        (vec!["info"], vec![("WGPU_ADAPTER_NAME", absent)]),
    ] {
        let out = locomotion(&args, &env);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?} {env:?}: {err}");
        assert!(err.contains(absent) && err.contains(&name), "{err}");
    }
    let out = locomotion(
        &["info", "--adapter", &part],
        &[("WGPU_ADAPTER_NAME", absent)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(chosen(&out), name);
}

#[test]
fn shader_dir_replaces_the_embedded_shaders() {
    let empty = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let run = |shaders: &std::path::Path, to: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_locomotion"));
        c.args([
            "generate", "--clips", "1", "--size", "16", "--frames", "2", "--out",
        ])
        .arg(out.path().join(to))
        .env("LOCOMOTION_SHADER_DIR", shaders);
        c.output().unwrap()
    };
    // A folder without composite.wgsl: the compositor cannot be built.
    let o = run(empty.path(), "a");
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("composite"), "{err}");
    // The repository's shaders, read from disk: the same clip is made.
    let shaders = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let o = run(&shaders, "b");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(out.path().join("b").join("manifest.jsonl").is_file());
}

#[test]
fn bench_composite_runs_from_the_command_line_and_writes_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("composite.json");
    let args = ["bench", "composite", "--clips", "2", "--cpu-clips", "1"];
    let mut args = args.to_vec();
    args.extend(["--iters", "1", "--json", json.to_str().unwrap()]);
    let out = locomotion(&args, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("GPU / CPU"),
        "{}",
        text(&out.stdout)
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(v["adapter"].as_str().is_some_and(|a| !a.is_empty()), "{v}");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "two sizes by one and two objects: {v}");
    for r in rows {
        let f = |k: &str| r[k].as_f64().unwrap_or_else(|| panic!("{k} in {r}"));
        let (gpu, cpu) = (f("gpu_rgba8_clips_per_s"), f("cpu_clips_per_s"));
        assert!(
            gpu > 0.0 && cpu > 0.0 && f("gpu_normalized_clips_per_s") > 0.0,
            "{r}"
        );
        // The speedup is the two measured rates' ratio, not a separate guess.
        assert!(
            (f("speedup") - gpu / cpu).abs() <= 1e-9 * f("speedup"),
            "{r}"
        );
    }
}
