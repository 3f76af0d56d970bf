//! `pretrain`'s `--background-fade` and `--clip-norm` through the binary: each changes the
//! run against the same run without it (and a run that spells out the default changes
//! nothing), so a flag that was parsed and ignored fails here. Two steps of the tiny preset.

use std::path::Path;
use std::process::Command;

/// A 2-step run with `flags` into `out`: (step 1's VTC, the saved weights' bytes).
fn run(out: &Path, flags: &[&str]) -> (f64, Vec<u8>) {
    let o = Command::new(env!("CARGO_BIN_EXE_locomotion"))
        .args([
            "pretrain",
            "--steps",
            "2",
            "--batch",
            "2",
            "--log-every",
            "1",
        ])
        .args(["--quiet", "--out"])
        .arg(out)
        .args(flags)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    let weights = std::fs::read(out.join("checkpoint").join("model.safetensors")).unwrap();
    (first["vtc"].as_f64().unwrap(), weights)
}

#[test]
fn background_fade_and_clip_norm_change_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name);
    // From scratch the default fade is half of --steps: 1 here.
    let default = run(&at("default"), &[]);
    let spelled = run(&at("spelled"), &["--background-fade", "1"]);
    assert_eq!(default, spelled, "the same run twice differs");
    // Step 1 trains nothing (warm-up from 0): its loss is the input's. Without the fade its
    // clips have their backgrounds.
    let no_fade = run(&at("no-fade"), &["--background-fade", "0"]);
    assert_ne!(no_fade.0, default.0, "--background-fade 0 ignored");
    // Step 2's gradient norm is hundreds: clipped to 1 (the default) or not, AdamW steps
    // differently.
    let unclipped = run(
        &at("unclipped"),
        &["--background-fade", "1", "--clip-norm", "0"],
    );
    assert_eq!(unclipped.0, default.0);
    assert_ne!(unclipped.1, default.1, "--clip-norm 0 ignored");
}
