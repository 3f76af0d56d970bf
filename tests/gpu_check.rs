//! `scripts/gpu-check.sh` on lavapipe: without --allow-cpu it refuses to measure and names
//! the adapter; with it and tiny budgets it runs every step, leaves at most 8 files and
//! every JSON file parses.

mod common;

use std::path::Path;
use std::process::{Command, Output};

/// Run the script with `args` (the test binary's locomotion), or None when a tool it needs
/// is missing here.
fn gpu_check(out: &Path, args: &[&str]) -> Option<Output> {
    for tool in ["bash", "timeout", "tar"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            common::skip::skip(
                "gpu_check",
                &format!("no {tool} here"),
                "LOCOMOTION_REQUIRE_GPU_CHECK",
            );
            return None;
        }
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/gpu-check.sh");
    Some(
        Command::new("bash")
            .arg(script)
            .arg(out)
            .args(args)
            .env("LOCOMOTION_BIN", env!("CARGO_BIN_EXE_locomotion"))
            .env("NODEVICE_SELECT", "1")
            .output()
            .unwrap(),
    )
}

/// Every file in `dir` (the script leaves no folders), and each JSON one parsed.
fn files_and_json(dir: &Path) -> (Vec<String>, Vec<(String, serde_json::Value)>) {
    let mut names = Vec::new();
    let mut json = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        assert!(
            e.file_type().unwrap().is_file(),
            "a folder in OUTDIR: {e:?}"
        );
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") {
            let text = std::fs::read_to_string(e.path()).unwrap();
            let v = serde_json::from_str(&text)
                .unwrap_or_else(|err| panic!("{name} is not valid JSON ({err}):\n{text}"));
            json.push((name.clone(), v));
        }
        names.push(name);
    }
    names.sort();
    (names, json)
}

fn is_cpu_adapter() -> bool {
    let g = common::gpu();
    g.is_cpu()
}

#[test]
fn without_allow_cpu_it_refuses_a_cpu_adapter_and_names_it() {
    if !is_cpu_adapter() {
        common::skip::skip(
            "gpu_check refusal",
            "the adapter here is a GPU, so there is nothing to refuse",
            "LOCOMOTION_REQUIRE_CPU_ADAPTER",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(o) = gpu_check(dir.path(), &["--quick", "--total", "30"]) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(3), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("REFUSED to measure: "))
        .unwrap_or_else(|| panic!("no REFUSED line: {stdout}"));
    let name = common::gpu().summary.name;
    for needle in [
        name.as_str(),
        "Cpu adapter",
        "--allow-cpu",
        "VK_DRIVER_FILES",
    ] {
        assert!(line.contains(needle), "{needle:?} missing: {line}");
    }
    let (names, json) = files_and_json(dir.path());
    assert!(
        !names.iter().any(|n| n == "selftest.json"),
        "it measured: {names:?}"
    );
    let summary = &json.iter().find(|(n, _)| n == "summary.json").unwrap().1;
    assert!(summary["refused"].as_str().unwrap().contains(&name));
    assert!(summary["adapter"].as_str().unwrap().contains(&name));
}

#[test]
fn with_allow_cpu_and_tiny_budgets_every_step_runs_into_at_most_8_files() {
    let dir = tempfile::tempdir().unwrap();
    let Some(o) = gpu_check(dir.path(), &["--quick", "--allow-cpu", "--total", "60"]) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
    let (names, json) = files_and_json(dir.path());
    assert!(names.len() <= 8, "{} files: {names:?}", names.len());
    for want in [
        "summary.json",
        "summary.txt",
        "info.json",
        "selftest.json",
        "kernels.json",
        "train.json",
        "train-memory.json",
        "logs.tar.gz",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    let get = |n: &str| &json.iter().find(|(m, _)| m == n).unwrap().1;
    let summary = get("summary.json");
    assert!(summary["refused"].is_null());
    let steps = summary["steps"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "info",
            "selftest",
            "warmup",
            "bench-kernels",
            "bench-train",
            "bench-train-memory"
        ]
    );
    for s in steps {
        assert_eq!(s["status"], "ok", "{s}");
        assert!(s["limit_s"].as_u64().unwrap() <= 60, "{s}");
    }
    let selftest = get("selftest.json");
    assert_eq!(selftest["failed"], 0, "{selftest}");
    assert!(selftest["passed"].as_u64().unwrap() >= 8);
    let memory = get("train-memory.json")["rows"].as_array().unwrap().clone();
    assert_eq!(memory.len(), 2, "one row per batch size");
    assert!(
        memory
            .iter()
            .all(|r| r["peak_memory_bytes"].as_u64().unwrap() > 0)
    );
    // The logs hold stderr apart from the JSON: the tarball lists every step's .err.
    let list = Command::new("tar")
        .arg("-tzf")
        .arg(dir.path().join("logs.tar.gz"))
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.contains("selftest.err") && list.contains("bench-train.log"),
        "{list}"
    );
}
