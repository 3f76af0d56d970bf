//! The binary run as a user runs it, with extra environment variables and without any
//! adapter or kernel setting the test runner's own environment might carry.

use std::process::{Command, Output};

/// The variables that choose the adapter and the kernels: each test sets the ones it means.
pub const CHOICE_VARIABLES: [&str; 5] = [
    "WGPU_ADAPTER_NAME",
    "WGPU_POWER_PREF",
    "LOCOMOTION_KERNELS",
    "LOCOMOTION_ATTENTION",
    "LOCOMOTION_ATTENTION_BLOCK",
];

/// `locomotion bench train` of the tiny preset's VTC pre-training row; tests add the flags
/// they vary.
pub const BENCH_TINY_VTC: [&str; 6] = [
    "bench",
    "train",
    "--rows",
    "pretrain-vtc",
    "--preset",
    "tiny",
];

/// `locomotion ARGS` with `env` set; waits for it and returns what it wrote.
pub fn locomotion(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_locomotion"));
    c.args(args);
    for k in CHOICE_VARIABLES {
        c.env_remove(k);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// Bytes a child wrote, as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The run succeeded (else its stderr is the failure), and its stdout.
pub fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// The run failed with exit code 1 and one line of stderr; that line.
pub fn one_line_error(out: &Output) -> String {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err.trim_end().to_string()
}

/// `locomotion ARGS` fails with one line of stderr that contains `needle`.
pub fn fails_with(args: &[&str], needle: &str) {
    let out = locomotion(args, &[]);
    assert!(!out.status.success(), "{args:?} succeeded");
    let err = text(&out.stderr);
    assert!(err.contains(needle), "{args:?}: {err}");
    assert_eq!(
        err.trim().lines().count(),
        1,
        "{args:?}: one line, got {err}"
    );
}

/// `locomotion ARGS --json FILE` in a fresh folder: the JSON report it wrote.
pub fn json_report(args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let mut all = args.to_vec();
    all.extend(["--json", path.to_str().unwrap()]);
    ok(&locomotion(&all, env));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}
