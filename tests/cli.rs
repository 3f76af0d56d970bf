//! The command line as a user meets it: `info`, `--version`, bad flags, a missing backend.

use std::process::Command;

fn locomotion(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_locomotion"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run locomotion");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn info_names_the_chosen_adapter() {
    let (ok, out, err) = locomotion(&["info"], &[]);
    assert!(ok, "{err}");
    assert!(out.contains("chosen: "), "{out}");
    assert!(out.contains("storage binding"), "{out}");
}

#[test]
fn info_json_parses() {
    let (ok, out, err) = locomotion(&["info", "--json"], &[]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert!(v["chosen"]["name"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(v["adapters"].as_array().is_some_and(|a| !a.is_empty()));
    assert!(
        v["limits"]["max_storage_buffer_binding_size"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[test]
fn a_backend_this_machine_lacks_gives_one_clear_line() {
    // Linux has no Metal; macOS has no DX12 — either way no adapter.
    let backend = if cfg!(target_os = "macos") {
        "dx12"
    } else {
        "metal"
    };
    let (ok, out, err) = locomotion(&["info"], &[("WGPU_BACKEND", backend)]);
    assert!(!ok, "must fail: {out}");
    let line = err.trim();
    assert!(line.starts_with("error: no GPU adapter found"), "{line}");
    assert!(line.contains(&format!("WGPU_BACKEND={backend}")), "{line}");
    assert!(line.contains("mesa-vulkan-drivers"), "{line}");
    assert_eq!(line.lines().count(), 1, "{line}");
}

#[test]
fn version_help_and_bad_flags() {
    let (ok, out, _) = locomotion(&["--version"], &[]);
    assert!(ok && out.contains(env!("CARGO_PKG_VERSION")), "{out}");
    let (ok, out, _) = locomotion(&["--help"], &[]);
    assert!(ok && out.contains("info"), "{out}");
    let (ok, _, err) = locomotion(&["info", "--no-such-flag"], &[]);
    assert!(!ok && err.contains("--no-such-flag"), "{err}");
}

#[test]
fn demo_and_experiment_help_show_the_recipe_defaults() {
    use locomotion::train::recipe;
    // The experiment pre-trains four times as long as the demo (experiment::comparison::STEPS).
    let steps = [recipe::STEPS, locomotion::experiment::comparison::STEPS];
    assert_eq!(steps[1], 4 * steps[0]);
    for (cmd, steps) in ["demo", "experiment"].into_iter().zip(steps) {
        let (ok, out, err) = locomotion(&[cmd, "--help"], &[]);
        assert!(ok, "{err}");
        for (flag, value) in [
            ("--steps", steps.to_string()),
            ("--batch", recipe::BATCH.to_string()),
            ("--lr", recipe::LR.to_string()),
            ("--preset", recipe::PRESET.to_string()),
        ] {
            let line = out
                .lines()
                .skip_while(|l| !l.trim_start().starts_with(flag))
                .take(2)
                .collect::<String>();
            assert!(
                line.contains(&format!("[default: {value}]")),
                "{cmd} --help, {flag}: {line}"
            );
        }
    }
}

/// `scripts/gpu-check.sh` refuses a missing OUTDIR, an unknown option and two OUTDIRs with one
/// line each and exit 2, before it writes anything (a mistyped `--quick OUTDIR` order is fine).
#[cfg(unix)]
#[test]
fn gpu_check_script_refuses_bad_arguments_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/gpu-check.sh");
    for (args, needle) in [
        (vec![], "no OUTDIR"),
        (vec!["--bogus", "x"], "unknown option '--bogus'"),
        (vec!["a", "b"], "one OUTDIR only"),
    ] {
        let out = Command::new("bash")
            .arg(script)
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "{args:?}: {err}"
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "it wrote something"
    );
}

/// `pretrain --config FILE`: a model config or a checkpoint's config.json trains that model
/// (with --weights' loss weights); a bad field is named before anything is written, and
/// --preset beside it is refused.
#[test]
fn pretrain_config_file_trains_that_model_and_names_a_bad_field() {
    use locomotion::model::config::ModelConfig;
    let dir = tempfile::tempdir().unwrap();
    let path = |p: &str| dir.path().join(p).to_string_lossy().into_owned();
    let mut model = ModelConfig::preset("tiny").unwrap();
    model.text.intermediate_size = 96;
    let wrapped = serde_json::json!({ "format_version": 1, "model": model, "state": {} });
    std::fs::write(path("ckpt.json"), wrapped.to_string()).unwrap();
    let env = [("NODEVICE_SELECT", "1")];
    let (ok, _, err) = locomotion(
        &[
            "pretrain",
            "--config",
            &path("ckpt.json"),
            "--steps",
            "1",
            "--batch",
            "2",
            "--quiet",
            "--out",
            &path("run"),
        ],
        &env,
    );
    assert!(ok, "{err}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("run/checkpoint/config.json")).unwrap())
            .unwrap();
    assert_eq!(saved["model"]["text"]["intermediate_size"], 96);
    assert_eq!(
        saved["model"]["loss_weights"]["vtm"], 0.0,
        "--weights 1,0,0 applies"
    );

    let mut bad = serde_json::to_value(ModelConfig::preset("tiny").unwrap()).unwrap();
    bad["text"]["num_attention_heads"] = 3.into();
    std::fs::write(path("bad.json"), bad.to_string()).unwrap();
    let (ok, _, err) = locomotion(
        &[
            "pretrain",
            "--config",
            &path("bad.json"),
            "--out",
            &path("never"),
        ],
        &env,
    );
    assert!(!ok && err.contains("text.num_attention_heads"), "{err}");
    assert!(err.contains("bad.json"), "{err}");
    assert!(
        !dir.path().join("never").exists(),
        "a refused run wrote --out"
    );
    let (ok, _, err) = locomotion(
        &[
            "pretrain",
            "--config",
            &path("bad.json"),
            "--preset",
            "tiny",
            "--out",
            &path("x"),
        ],
        &env,
    );
    assert!(!ok && err.contains("--preset"), "{err}");
}
