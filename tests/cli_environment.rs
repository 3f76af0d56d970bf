//! What the binary reads besides its subcommand's flags: the global `--adapter`, the
//! WGPU_ADAPTER_NAME, WGPU_POWER_PREF, LOCOMOTION_KERNELS, LOCOMOTION_ATTENTION,
//! LOCOMOTION_ATTENTION_BLOCK and LOCOMOTION_SHADER_DIR variables. Each would fail if the
//! setting were read and ignored: a bad value is a one-line error naming the variable, and a
//! good one changes the adapter, or the kernels a profiled training step runs.
//! (LOCOMOTION_FFMPEG_TIMEOUT: ffmpeg_video.rs; LOCOMOTION_LLM_API_KEY: caption_llm.rs;
//! LOCOMOTION_COLLECTIVE_TIMEOUT: mpi.rs; `bench`'s flags: bench_cli.rs.)

mod common;

use std::process::{Command, Output};

use common::cli::{json_report, locomotion, ok, one_line_error, text};

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
fn every_command_that_opens_a_device_takes_the_global_adapter_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let absent = "zz-no-such-adapter";
    let (g, p, d, e) = (out("g"), out("p"), out("d"), out("e"));
    let commands: [Vec<&str>; 7] = [
        vec![
            "generate", "--clips", "1", "--size", "16", "--frames", "2", "--out", &g,
        ],
        vec![
            "pretrain", "--steps", "1", "--batch", "2", "--quiet", "--out", &p,
        ],
        vec!["demo", "--steps", "1", "--quiet", "--out", &d],
        vec![
            "experiment",
            "--seeds",
            "1",
            "--steps",
            "1",
            "--quiet",
            "--out",
            &e,
        ],
        vec!["probe", "motion", "--steps", "1", "--quiet"],
        vec!["bench", "kernels", "--quick"],
        vec!["bench", "composite", "--clips", "1"],
    ];
    for args in commands {
        let all = [&args[..], &["--adapter", absent]].concat();
        let e = one_line_error(&locomotion(&all, &[]));
        assert!(e.contains(absent), "{args:?}: {e}");
    }
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
fn a_bad_kernel_or_adapter_setting_is_one_line_naming_the_variable() {
    for (name, value) in [
        ("LOCOMOTION_KERNELS", "fast"),
        ("LOCOMOTION_ATTENTION", "flash"),
        ("LOCOMOTION_ATTENTION_BLOCK", "8,4,8"),
        ("LOCOMOTION_ATTENTION_BLOCK", "8,5,8,2"),
        ("LOCOMOTION_ATTENTION_BLOCK", "0,4,8,2"),
        ("WGPU_POWER_PREF", "fastest"),
    ] {
        let e = one_line_error(&locomotion(&["info"], &[(name, value)]));
        assert!(e.contains(&format!("{name}={value}")), "{e}");
    }
    // Not only `info` reads them: any command that opens a device refuses them (here before
    // it generates anything).
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clips");
    let generate = [
        "generate", "--clips", "1", "--size", "16", "--frames", "2", "--out",
    ];
    let args = [&generate[..], &[out.to_str().unwrap()]].concat();
    for (name, value) in [
        ("WGPU_POWER_PREF", "fastest"),
        ("LOCOMOTION_ATTENTION", "flash"),
        ("LOCOMOTION_ATTENTION_BLOCK", "8"),
    ] {
        let e = one_line_error(&locomotion(&args, &[(name, value)]));
        assert!(e.contains(&format!("{name}={value}")), "{e}");
        assert!(!out.join("manifest.jsonl").exists());
    }
}

#[test]
fn info_prints_the_kernel_choices_the_settings_make() {
    let choices = |env: &[(&str, &str)]| {
        let out = ok(&locomotion(&["info", "--json"], env));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["choices"].clone()
    };
    let gpu = [("LOCOMOTION_KERNELS", "gpu")];
    let c = choices(&gpu);
    assert_eq!(c["kernels"], "gpu");
    assert_eq!(
        c["attention_kernels"],
        "matmuls while the scores take at most 256 MiB, else fused rows (blocks by shape)"
    );
    let c = choices(&[("LOCOMOTION_KERNELS", "cpu")]);
    assert_eq!(c["kernels"], "cpu");
    assert_eq!(
        c["attention_kernels"],
        "matmuls from 256 scores, else fused blocked (blocks by shape)"
    );
    let c = choices(&[
        ("LOCOMOTION_KERNELS", "gpu"),
        ("LOCOMOTION_ATTENTION", "blocked"),
        ("LOCOMOTION_ATTENTION_BLOCK", "16,2,32,1"),
    ]);
    assert_eq!(c["attention"]["route"], "blocked");
    assert_eq!(
        c["attention_kernels"],
        "fused blocked (16x2 forward, 32x1 backward)"
    );
    assert_eq!(choices(&[])["power_preference"], "HighPerformance");
    let c = choices(&[("WGPU_POWER_PREF", "low")]);
    assert_eq!(c["power_preference"], "LowPower");
    // Every choice a launcher makes, each with the setting that changes it, in the JSON and
    // one line each in the text report.
    for (env, matmul) in [
        (&gpu, "SGEMM"),
        (&[("LOCOMOTION_KERNELS", "cpu")], "subgroup"),
    ] {
        let each = choices(env)["each"].as_array().unwrap().clone();
        let named = |what: &str| {
            each.iter()
                .find(|c| c["what"] == what)
                .unwrap_or_else(|| panic!("no {what} choice in {each:?}"))
                .clone()
        };
        for (what, var) in [
            ("kernel variants", "LOCOMOTION_KERNELS"),
            ("matmul", "LOCOMOTION_KERNELS"),
            ("layer norm", "LOCOMOTION_KERNELS"),
            ("column sums", "LOCOMOTION_KERNELS"),
            ("attention route", "LOCOMOTION_ATTENTION="),
            ("fused attention kernels", "LOCOMOTION_ATTENTION="),
            ("fused attention blocks", "LOCOMOTION_ATTENTION_BLOCK"),
        ] {
            let c = named(what);
            assert!(c["setting"].as_str().unwrap().starts_with(var), "{c}");
        }
        let m = named("matmul")["runs"].as_str().unwrap().to_string();
        assert!(m.starts_with(matmul), "{m}");
        let out = ok(&locomotion(&["info"], env));
        for c in &each {
            let line = format!(
                "  {}: {} ({})",
                c["what"].as_str().unwrap(),
                c["runs"].as_str().unwrap(),
                c["setting"].as_str().unwrap()
            );
            assert!(out.contains(&line), "{line} not in {out}");
        }
        assert!(out.contains("comparison kernels, never in a step"), "{out}");
    }
    let c = choices(&[
        ("LOCOMOTION_KERNELS", "gpu"),
        ("LOCOMOTION_ATTENTION", "matmul"),
    ]);
    let route = c["each"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["what"] == "attention route");
    assert_eq!(route.unwrap()["runs"], "matmuls where D allows, else fused");
}

#[test]
fn the_power_preference_orders_integrated_and_discrete_gpus() {
    use locomotion::gpu::{power_preference_of, rank};
    use wgpu::DeviceType::{Cpu, DiscreteGpu, IntegratedGpu};
    let order = |pref: Option<&str>| {
        let p = power_preference_of(pref).unwrap();
        [DiscreteGpu, IntegratedGpu, Cpu].map(|t| rank(t, p))
    };
    for high in [None, Some("high"), Some(" HIGH ")] {
        let [d, i, c] = order(high);
        assert!(d < i && i < c, "{high:?}");
    }
    let [d, i, c] = order(Some("low"));
    assert!(i < d && d < c);
    // No preference: wgpu's order among real GPUs (a stable sort keeps it).
    let [d, i, c] = order(Some("none"));
    assert!(d == i && i < c);
}

/// The kernels one profiled step of a tiny transformer encoder (S=20, D=8 a head) runs with
/// the settings `env`.
fn encoder_kernels(env: &[(&str, &str)]) -> Vec<String> {
    let args = [
        "bench",
        "train",
        "--rows",
        "transformer-encoder",
        "--steps",
        "1",
        "--warmup",
        "0",
        "--encoder-batch",
        "1",
        "--seq",
        "20",
        "--width",
        "16",
        "--heads",
        "2",
        "--mlp",
        "16",
        "--layers",
        "1",
        "--profile",
    ];
    let v = json_report(&args, env);
    let kernels = v["profiles"][0]["trace"]["kernels"].as_array().unwrap();
    let names = kernels
        .iter()
        .map(|k| k["kernel"].as_str().unwrap().to_string());
    names.collect()
}

/// The one kernel in `names` that starts with `prefix`.
fn only<'a>(names: &'a [String], prefix: &str) -> &'a str {
    let hits: Vec<&String> = names.iter().filter(|n| n.starts_with(prefix)).collect();
    assert_eq!(hits.len(), 1, "{prefix} in {names:?}");
    hits[0]
}

#[test]
fn the_kernel_settings_change_the_kernels_a_training_step_runs() {
    let as_matmuls = |n: &[String]| n.iter().any(|k| k.starts_with("attention_rows::softmax"));
    let fused = |n: &[String]| n.iter().any(|k| k.starts_with("attention::forward"));
    // CPU-driver kernels: a 20x20 score matrix runs as matmuls.
    let n = encoder_kernels(&[("LOCOMOTION_KERNELS", "cpu")]);
    assert!(as_matmuls(&n) && !fused(&n), "{n:?}");
    let sgemm = |n: &[String]| n.iter().any(|k| k.starts_with("matmul_sgemm::"));
    assert!(!sgemm(&n), "{n:?}");
    // GPU kernels: the SGEMM matmul, and attention as matmuls while the scores fit.
    let n = encoder_kernels(&[("LOCOMOTION_KERNELS", "gpu")]);
    assert!(sgemm(&n) && as_matmuls(&n) && !fused(&n), "{n:?}");
    // LOCOMOTION_ATTENTION overrides the kernel choice either way: the fused
    // one-row-per-thread kernels on the GPU path ...
    let n = encoder_kernels(&[
        ("LOCOMOTION_KERNELS", "gpu"),
        ("LOCOMOTION_ATTENTION", "rows"),
    ]);
    assert!(!as_matmuls(&n), "{n:?}");
    assert_eq!(
        only(&n, "attention::forward"),
        "attention::forward[TPW=64,DV=2,R=1]"
    );
    // ... and the register-blocked fused kernels on the CPU path.
    let n = encoder_kernels(&[
        ("LOCOMOTION_KERNELS", "cpu"),
        ("LOCOMOTION_ATTENTION", "blocked"),
    ]);
    assert_eq!(
        only(&n, "attention::forward"),
        "attention::forward[TPW=8,DV=2,R=4]"
    );
    // LOCOMOTION_ATTENTION_BLOCK sets the fused kernels' threads and rows.
    let n = encoder_kernels(&[
        ("LOCOMOTION_ATTENTION", "blocked"),
        ("LOCOMOTION_ATTENTION_BLOCK", "16,2,32,1"),
    ]);
    assert_eq!(
        only(&n, "attention::forward"),
        "attention::forward[TPW=16,DV=2,R=2]"
    );
    assert!(
        only(&n, "attention_backward::backward")
            .starts_with("attention_backward::backward[TPW=32,")
            && only(&n, "attention_backward::backward").ends_with(",R=1]"),
        "{n:?}"
    );
}
