//! The `small` and `base` presets carry what the recipe learned on `tiny` (frame
//! differences; centred VTC), and a few `small` steps of the recipe run on lavapipe.

mod common;

use locomotion::model::config::{ModelConfig, PRESETS};
use locomotion::train::recipe;
use std::process::Command;

#[test]
fn every_preset_feeds_frame_differences_and_centres_vtc() {
    for name in PRESETS {
        let cfg = ModelConfig::preset(name).unwrap();
        assert!(cfg.video.frame_differences, "{name}: frame differences off");
        assert!(cfg.heads.center, "{name}: VTC not centred");
    }
}

#[test]
fn two_small_steps_of_the_recipe_are_finite_and_the_config_has_the_recipe() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("small");
    let o = Command::new(env!("CARGO_BIN_EXE_locomotion"))
        .args([
            "pretrain", "--preset", "small", "--batch", "2", "--steps", "2",
        ])
        .args(["--log-every", "1", "--quiet", "--out"])
        .arg(&out)
        .env("NODEVICE_SELECT", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("checkpoint/config.json")).unwrap())
            .unwrap();
    let model = &config["model"];
    assert_eq!(model["video"]["frame_differences"], true);
    assert_eq!(model["video"]["frames"], 16, "not the small preset");
    assert_eq!(model["heads"]["center"], true);
    let w = recipe::weights();
    let lw = &model["loss_weights"];
    assert_eq!(
        [lw["vtc"].as_f64(), lw["vtm"].as_f64(), lw["mlm"].as_f64()],
        w.map(Some)
    );
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let steps: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(steps.len(), 2, "{metrics}");
    for s in &steps {
        for k in ["vtc", "total", "grad_norm"] {
            assert!(s[k].as_f64().is_some_and(f64::is_finite), "{k}: {s}");
        }
    }
}

#[test]
fn the_experiment_scores_a_bigger_motion_benchmark_than_the_demo() {
    use locomotion::cli::{Cli, Command};
    let parse = |argv: &[&str]| <Cli as clap::Parser>::try_parse_from(argv).unwrap().command;
    let groups = |argv: &[&str]| match parse(argv) {
        Command::Demo(a) => a.plan().bench_groups,
        Command::Experiment(a) => a.plan().unwrap().bench_groups,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        groups(&["locomotion", "demo"]),
        recipe::BENCHMARK_GROUPS,
        "demo's default"
    );
    assert_eq!(
        groups(&["locomotion", "experiment"]),
        recipe::EXPERIMENT_BENCHMARK_GROUPS,
        "experiment's default"
    );
    const { assert!(recipe::EXPERIMENT_BENCHMARK_GROUPS > recipe::BENCHMARK_GROUPS) };
    // --groups reaches both plans.
    assert_eq!(groups(&["locomotion", "demo", "--groups", "5"]), 5);
    assert_eq!(groups(&["locomotion", "experiment", "--groups", "6"]), 6);
}
