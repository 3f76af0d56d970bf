//! GPU memory errors are one-line errors, never panics: an allocation the device refuses is
//! caught by an error scope, an error outside any scope comes back from the next wait, and a
//! run too large for the adapter names the preset, the batch and what to lower; `bench
//! train` reports the peak memory of each batch size.

mod common;

use std::process::{Command, Output};

use locomotion::gpu::{AdapterRequest, Gpu, GpuError};

fn locomotion(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_locomotion"))
        .args(args)
        .env("NODEVICE_SELECT", "1")
        .output()
        .unwrap()
}

/// Exit 1 and one stderr line holding every needle.
fn assert_one_line_error(o: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(lines[0].contains(n), "{n:?} missing: {err}");
    }
}

#[test]
fn an_allocation_the_device_refuses_is_an_error_from_its_scope() {
    // A fresh device: the error must not reach the shared one's uncaptured slot either.
    let g = Gpu::new(&AdapterRequest::default()).unwrap();
    // MAP_READ may only go with COPY_DST: a validation error at creation.
    let bad = wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::STORAGE;
    let e = g.pool.get(1024, bad).unwrap_err();
    assert!(matches!(e, GpuError::Device(_)), "{e}");
    assert!(e.to_string().contains("allocating buffer"), "{e}");
    assert!(g.take_device_error().is_none(), "the scope let it through");
    assert_eq!(
        g.pool.stats().allocations,
        0,
        "a failed allocation was counted"
    );
    g.wait(None).unwrap();
}

#[test]
fn an_error_outside_any_scope_comes_back_from_wait_instead_of_a_panic() {
    let g = Gpu::new(&AdapterRequest::default()).unwrap();
    let _b = g.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("invalid on purpose"),
        size: 256,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let e = g.wait(None).unwrap_err();
    assert!(matches!(e, GpuError::Device(_)), "{e}");
    assert!(e.to_string().contains("invalid on purpose"), "{e}");
    assert_eq!(e.to_string().lines().count(), 1, "{e}");
    g.wait(None).unwrap();
}

#[test]
fn over_limit_buffers_count_as_memory_errors() {
    let g = common::gpu();
    let too_big = g.limits.max_storage_buffer_binding_size + 4;
    let e = g.pool.storage(too_big, "activations").unwrap_err();
    assert!(e.is_memory(), "{e}");
    assert!(e.to_string().contains("activations"), "{e}");
    let wrapped = anyhow::Error::from(locomotion::tensor::TensorError::from(e));
    assert!(locomotion::train::memory::is_memory_error(&wrapped));
}

#[test]
fn a_batch_too_large_for_the_adapter_names_preset_batch_and_what_to_lower() {
    let g = common::gpu();
    // One clip of `small` is 16·3·112² floats (2.4 MB): past the storage-binding limit at
    // this many clips, refused as the first activation is allocated.
    let clip = 16 * 3 * 112 * 112 * 4;
    let batch = (g.limits.max_storage_buffer_binding_size / clip + 1).max(2);
    if batch > 512 {
        common::skip::skip(
            "memory error",
            "the adapter binds over 1 GiB: the batch that overflows it is too slow here",
            "LOCOMOTION_REQUIRE_CPU_ADAPTER",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let b = batch.to_string();
    let sizes = ["--preset", "small", "--batch", &b, "--steps", "1"];
    let o = locomotion(
        &[
            &["pretrain"][..],
            &sizes,
            &["--quiet", "--out", out.to_str().unwrap()],
        ]
        .concat(),
    );
    let lower = format!("try {}", batch / 2);
    let needles = [
        "preset small",
        &format!("--batch {b}"),
        "lower --batch",
        &lower,
        "--preset (tiny)",
    ];
    assert_one_line_error(&o, &needles);
    assert!(!out.join("checkpoint").exists());

    let bench = ["bench", "train", "--rows", "pretrain-vtc", "--warmup", "0"];
    let o = locomotion(&[&bench[..], &sizes].concat());
    assert_one_line_error(&o, &needles);
}

#[test]
fn bench_train_reports_peak_memory_per_batch_size_as_an_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("train.json");
    let json = json.to_str().unwrap();
    let flags = [
        "--batch", "2,6", "--steps", "1", "--warmup", "0", "--json", json,
    ];
    let o = locomotion(&[&common::cli::BENCH_TINY_VTC[..], &flags].concat());
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let rows = v["rows"].as_array().unwrap();
    let peak: Vec<(u64, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["batch"].as_u64().unwrap(),
                r["peak_memory_bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(peak.iter().map(|p| p.0).collect::<Vec<_>>(), [2, 6]);
    assert!(peak[1].1 > peak[0].1, "more clips, more memory: {peak:?}");
    assert!(
        stdout.contains("peak memory") && stdout.contains("at batch 6"),
        "{stdout}"
    );
    assert!(stdout.contains("estimate"), "{stdout}");
}

#[test]
fn the_advice_fits_the_batch_and_the_preset() {
    use locomotion::model::config::ModelConfig;
    use locomotion::train::memory::explain;
    let too_large = || {
        anyhow::Error::from(GpuError::TooLarge {
            what: "video batch".into(),
            bytes: 10,
            limit: 5,
            kind: "storage binding",
        })
    };
    let msg = |preset: &str, batch| {
        let cfg = ModelConfig::preset(preset).unwrap();
        explain(too_large(), &cfg, batch, "gpu").to_string()
    };
    let m = msg("base", 32);
    assert!(
        m.starts_with(
            "preset base at --batch 32 does not fit the memory of adapter 'gpu' (video batch"
        ),
        "{m}"
    );
    assert!(
        m.ends_with("lower --batch (try 16) or choose a smaller --preset (small)"),
        "{m}"
    );
    assert!(msg("small", 2).ends_with(": choose a smaller --preset (tiny)"));
    assert!(
        msg("tiny", 2).ends_with("use a smaller model (--config) or an adapter with more memory")
    );
    let mut custom = ModelConfig::preset("tiny").unwrap();
    custom.video.hidden_size = 32;
    let m = explain(too_large(), &custom, 8, "gpu").to_string();
    assert!(
        m.starts_with("a --config model at --batch 8") && m.ends_with("(try 4)"),
        "{m}"
    );
    // Other errors pass through untouched.
    let other = explain(anyhow::anyhow!("a bad caption"), &custom, 8, "gpu");
    assert_eq!(other.to_string(), "a bad caption");
}
