//! `bench kernels`, `bench train` and `bench composite` run through the binary as a user runs
//! them, at tiny sizes: the reports' structure, and each option changing what is measured
//! (a flag parsed and ignored fails here).

mod common;

use common::cli::{BENCH_TINY_VTC, json_report, locomotion, one_line_error};
use locomotion::bench::encoder::EncoderDims;
use serde_json::Value;

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or_else(|| panic!("{k} in {v}"))
}

fn names(rows: &Value) -> Vec<&str> {
    let rows = rows.as_array().unwrap();
    rows.iter().map(|r| r["name"].as_str().unwrap()).collect()
}

/// A step's matmul FLOPs for `d`: 3x the forward's, and the sequence mean's (2BSD).
fn encoder_flops(d: EncoderDims) -> f64 {
    3.0 * (d.forward_flops() + 2.0 * (d.batch * d.seq * d.width) as f64)
}

#[test]
fn bench_train_flags_set_the_rows_the_shapes_and_the_profile() {
    let encoder = |extra: &[&str]| {
        let mut a = vec!["bench", "train", "--rows", "transformer-encoder"];
        a.extend(["--warmup", "0", "--encoder-batch", "1", "--heads", "2"]);
        a.extend(extra);
        json_report(&a, &[])
    };
    let small = EncoderDims {
        batch: 1,
        seq: 20,
        width: 16,
        heads: 2,
        mlp: 24,
        layers: 1,
    };
    let v = encoder(&[
        "--steps", "2", "--seq", "20", "--width", "16", "--mlp", "24", "--layers", "1",
    ]);
    assert_eq!(names(&v["rows"]), ["transformer-encoder"]);
    let row = &v["rows"][0];
    assert_eq!(row["config"], "B=1 S=20 D=16 H=2 F=24 L=1");
    assert_eq!(row["steps"], 2);
    assert_eq!(f(row, "flops_per_step"), encoder_flops(small));
    assert!(
        f(row, "step_s") > 0.0 && row["clips_per_s"].is_null(),
        "{row}"
    );
    assert_eq!(v["profiles"].as_array().map_or(0, Vec::len), 0, "{v}");
    // Other shapes, one step, and a profile of the kernels that ran.
    let big = EncoderDims {
        seq: 12,
        width: 24,
        layers: 2,
        ..small
    };
    let v = encoder(&[
        "--steps",
        "1",
        "--seq",
        "12",
        "--width",
        "24",
        "--mlp",
        "24",
        "--layers",
        "2",
        "--profile",
    ]);
    let row = &v["rows"][0];
    assert_eq!(row["config"], "B=1 S=12 D=24 H=2 F=24 L=2");
    assert_eq!(row["steps"], 1);
    assert_eq!(f(row, "flops_per_step"), encoder_flops(big));
    let profiles = v["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 1, "{v}");
    let kernels = profiles[0]["trace"]["kernels"].as_array().unwrap();
    // The optimizer is one flat dispatch a step (one group), whatever the tensor count.
    let count = |name: &str| {
        kernels
            .iter()
            .find(|k| k["kernel"] == name)
            .map(|k| k["count"].clone())
    };
    assert_eq!(
        count("adamw::adamw_flat"),
        Some(serde_json::json!(1)),
        "{v}"
    );
    assert_eq!(
        count("grad_norm::sumsq_partial"),
        Some(serde_json::json!(1)),
        "{v}"
    );
    assert_eq!(count("adamw::adamw"), None, "{v}");

    // The pre-training row on the preset and batch asked for, and again on two devices.
    let flags = [
        "--batch",
        "2",
        "--steps",
        "1",
        "--warmup",
        "0",
        "--devices",
        "2",
    ];
    let v = json_report(&[&BENCH_TINY_VTC[..], &flags].concat(), &[]);
    assert_eq!(
        names(&v["rows"]),
        ["pretrain-tiny (vtc)", "pretrain-tiny (vtc) x2"]
    );
    for (r, devices) in v["rows"].as_array().unwrap().iter().zip([1, 2]) {
        assert_eq!(r["devices"], devices, "{r}");
        assert!((f(r, "clips_per_s") - 2.0 / f(r, "step_s")).abs() < 1e-9 * f(r, "clips_per_s"));
    }

    let e = one_line_error(&locomotion(&["bench", "train", "--rows", "encoder"], &[]));
    assert!(e.contains("--rows") && e.contains("\"encoder\""), "{e}");
    let e = one_line_error(&locomotion(
        &[
            "bench",
            "train",
            "--rows",
            "pretrain-vtc",
            "--preset",
            "huge",
        ],
        &[],
    ));
    assert!(e.contains("huge"), "{e}");
}

#[test]
fn bench_kernels_quick_shapes_and_the_wall_clock() {
    let info: Value =
        serde_json::from_str(&common::cli::ok(&locomotion(&["info", "--json"], &[]))).unwrap();
    let quick = json_report(&["bench", "kernels", "--quick"], &[]);
    assert_eq!(quick["adapter"], info["chosen"]["name"]);
    let rows = quick["rows"].as_array().unwrap();
    assert!(rows.len() >= 10, "{quick}");
    let shapes: Vec<&str> = rows.iter().map(|r| r["shape"].as_str().unwrap()).collect();
    // --quick: the tiny matmuls, none of the full suite's.
    assert!(shapes.contains(&"M=N=K=64"), "{shapes:?}");
    assert!(
        !shapes
            .iter()
            .any(|s| s.contains("256") && s.starts_with("M=")),
        "{shapes:?}"
    );
    for r in rows {
        assert!(f(r, "seconds") > 0.0, "{r}");
    }
    let clocks = |v: &Value| -> Vec<String> {
        let rows = v["rows"].as_array().unwrap();
        rows.iter()
            .map(|r| r["clock"].as_str().unwrap().to_string())
            .collect()
    };
    // Timestamps where the adapter has them, the host clock with --wall-clock.
    let with_timestamps = info["caps"]["timestamps"].as_bool().unwrap();
    let default = if with_timestamps { "timestamp" } else { "wall" };
    assert!(clocks(&quick).iter().all(|c| c == default), "{quick}");
    let wall = json_report(&["bench", "kernels", "--quick", "--wall-clock"], &[]);
    assert!(clocks(&wall).iter().all(|c| c == "wall"), "{wall}");
}

#[test]
fn bench_composite_measures_the_clips_and_iterations_asked_for() {
    let args = ["bench", "composite", "--clips", "3", "--cpu-clips", "1"];
    let v = json_report(&[&args[..], &["--iters", "2"]].concat(), &[]);
    assert!(v["adapter"].as_str().is_some_and(|a| !a.is_empty()), "{v}");
    let rows = v["rows"].as_array().unwrap();
    let configs: Vec<(u64, u64)> = rows
        .iter()
        .map(|r| (r["side"].as_u64().unwrap(), r["objects"].as_u64().unwrap()))
        .collect();
    assert_eq!(configs, [(112, 1), (112, 2), (224, 1), (224, 2)]);
    for r in rows {
        assert_eq!(
            (r["gpu_clips"].as_u64(), r["cpu_clips"].as_u64()),
            (Some(3), Some(1)),
            "{r}"
        );
        assert_eq!(r["iters"], 2, "{r}");
        let (gpu, cpu) = (f(r, "gpu_rgba8_clips_per_s"), f(r, "cpu_clips_per_s"));
        assert!(
            gpu > 0.0 && cpu > 0.0 && f(r, "gpu_normalized_clips_per_s") > 0.0,
            "{r}"
        );
        // The speedup is the two measured rates' ratio, not a separate guess.
        assert!(
            (f(r, "speedup") - gpu / cpu).abs() <= 1e-9 * f(r, "speedup"),
            "{r}"
        );
    }
    // The CPU reference renders no more clips than the GPU batch holds.
    let v = json_report(
        &[
            "bench",
            "composite",
            "--clips",
            "1",
            "--cpu-clips",
            "4",
            "--iters",
            "1",
        ],
        &[],
    );
    for r in v["rows"].as_array().unwrap() {
        assert_eq!(
            (r["gpu_clips"].as_u64(), r["cpu_clips"].as_u64()),
            (Some(1), Some(1)),
            "{r}"
        );
        assert_eq!(r["iters"], 1, "{r}");
    }
}
