//! `locomotion selftest`: every check passes on the GPU kernel variants here, its report is
//! JSON on a file of its own, and a check can fail (the comparison rejects NaN, lengths that
//! differ and wrong values).

mod common;

use locomotion::selftest::reference::{matmul, rel_err, softmax};
use locomotion::selftest::{F32_BOUND, run};
use std::process::Command;

#[test]
fn every_check_passes_on_the_gpu_kernel_variants() {
    let g = common::gpu();
    let mut lines = Vec::new();
    let report = run(&g, |c| lines.push(c.line()));
    assert_eq!(report.failed, 0, "{lines:#?}");
    assert_eq!(report.checks.len(), lines.len());
    assert!(report.checks.len() >= 8);
    assert!(report.checks.iter().any(|c| c.name.contains("attention")));
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("ok   ") && !l.contains('\n'))
    );
}

#[test]
fn the_comparison_rejects_nan_lengths_and_wrong_values() {
    let want = matmul(&[1.0, 2.0, 3.0, 4.0], &[1.0, 0.0, 0.0, 1.0], None, 2, 2, 2);
    assert_eq!(want, [1.0, 2.0, 3.0, 4.0]);
    assert!(rel_err(&[1.0, 2.0, 3.0, 4.0], &want) < F32_BOUND);
    assert!(rel_err(&[1.0, 2.0, 3.0, f32::NAN], &want) > F32_BOUND);
    assert!(rel_err(&[1.0, 2.0, 3.0], &want) > F32_BOUND);
    assert!(rel_err(&[1.0, 2.0, 3.0, 4.01], &want) > F32_BOUND);
    let p = softmax(&[0.0, 0.0, 1000.0, 1000.0], 2);
    assert_eq!(p, [0.5, 0.5, 0.5, 0.5]);
}

#[test]
fn the_command_prints_a_line_per_check_and_writes_valid_json() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("selftest.json");
    let o = Command::new(env!("CARGO_BIN_EXE_locomotion"))
        .args(["selftest", "--json"])
        .arg(&json)
        .env("NODEVICE_SELECT", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap())
        .expect("selftest.json is JSON");
    let n = v["checks"].as_array().unwrap().len();
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok   ")).count(), n);
    assert!(
        stdout.contains(&format!("{n} of {n} checks passed")),
        "{stdout}"
    );
    assert_eq!(v["kernels"], "gpu");
}
