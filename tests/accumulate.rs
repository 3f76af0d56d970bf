//! `--accumulate N` (GradCache): a batch run in N micro-batches trains as the whole batch
//! at once (VTC-only and with VTM + MLM, on uneven splits), its activation memory is lower,
//! N = 1 is today's step bit for bit, and values that cannot work are refused in one line.
//!
//! Tolerance: the data-parallel tests' ([`common::dist`]): losses and gradient norms within
//! 1e-3 relative, weights within 1e-3 of the tensor's largest value. Micro-batches run the
//! encoders' matmuls on fewer rows and the losses' gradients reach the encoders through
//! `Σ state · grad`, so sums run in another order: float rounding, not another gradient.

mod common;

use std::path::Path;

use common::cli::{BENCH_TINY_VTC, locomotion, ok, one_line_error};
use common::dist::{assert_same_losses, records, weight_gaps};
use locomotion::dist::devices::open_devices;
use locomotion::gpu::{AdapterRequest, Gpu};
use locomotion::model::checkpoint::Checkpoint;
use locomotion::train::accumulate::micro_batches;
use locomotion::train::config::TrainConfig;
use locomotion::train::trainer::train;

/// Batch 5 with independent clips: 2 micro-batches are 3 + 2, 3 are 2 + 2 + 1.
fn config(out: &Path, weights: [f64; 3], accumulate: usize) -> TrainConfig {
    let mut c = TrainConfig {
        steps: 3,
        batch: 5,
        warmup: 1,
        seed: 17,
        accumulate,
        ..common::tiny_run(out)
    };
    let w = &mut c.model.loss_weights;
    [w.vtc, w.vtm, w.mlm] = weights;
    c
}

/// Train with 1, 2 and 3 micro-batches; the split runs equal the whole batch.
fn trains_as_one_batch(weights: [f64; 3]) {
    let gpu = common::gpu();
    let one = tempfile::tempdir().unwrap();
    train(&gpu, &config(one.path(), weights, 1)).unwrap();
    let reference = records(one.path());
    let vtc_only = weights[1] == 0.0 && weights[2] == 0.0;
    for (k, w) in [("vtc", 0), ("vtm", 1), ("mlm", 2)] {
        let on = weights[w] > 0.0;
        let logged = |r: &locomotion::train::trainer::StepRecord| [r.vtc, r.vtm, r.mlm][w];
        assert!(
            reference.iter().all(|r| (logged(r) > 0.0) == on),
            "{k} logged {:?}",
            reference.iter().map(logged).collect::<Vec<_>>()
        );
    }
    for n in [2, 3] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), weights, n);
        train(&gpu, &cfg).unwrap();
        assert_same_losses(&records(dir.path()), &reference);
        let mut gaps = weight_gaps(dir.path(), one.path(), (cfg.steps, cfg.lr));
        gaps.retain(|g| !(vtc_only && centred_away(g, &cfg)));
        assert!(
            gaps.is_empty(),
            "--accumulate {n}: weights differ: {gaps:?}"
        );
    }

    // Interrupted with 2 micro-batches, resumed with 3: the checkpoint records the value,
    // and a resume may change it (it splits the work, not the data).
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), weights, 2);
    cfg.stop_after = Some(1);
    assert!(train(&gpu, &cfg).unwrap().interrupted);
    let stored = Checkpoint::load(&dir.path().join("checkpoint")).unwrap();
    assert_eq!(stored.config.state.extra["accumulate"], 2);
    (cfg.stop_after, cfg.resume, cfg.accumulate) = (None, true, 3);
    train(&gpu, &cfg).unwrap();
    assert_same_losses(&records(dir.path()), &reference);
    let mut gaps = weight_gaps(dir.path(), one.path(), (cfg.steps, cfg.lr));
    gaps.retain(|g| !(vtc_only && centred_away(g, &cfg)));
    assert!(gaps.is_empty(), "resumed with --accumulate 3: {gaps:?}");
}

/// With VTC alone, the encoders' last layer-norm shifts (the text's last layer's `ffn.ln.beta`,
/// mean-pooled; the video's `ln_final.beta`, its [CLS]) move every embedding of the batch
/// alike, which the batch centring removes: their gradient is 0 in exact arithmetic and
/// rounding noise otherwise, which AdamW turns into steps of up to lr (see
/// [`common::dist::zero_gradient`]). Such a gap (`weight_gaps`' "NAME by GAP ...") is held
/// to steps · lr instead.
fn centred_away(gap: &str, cfg: &TrainConfig) -> bool {
    let last = cfg.model.text.num_hidden_layers - 1;
    let mut words = gap.split_whitespace();
    let name = words.next().unwrap_or_default();
    let size: f64 = words
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::MAX);
    let shift = name == format!("text.layers.{last}.ffn.ln.beta") || name == "video.ln_final.beta";
    shift && size <= cfg.steps as f64 * cfg.lr
}

#[test]
fn micro_batches_split_evenly_larger_first() {
    assert_eq!(micro_batches(5, 2), vec![0..3, 3..5]);
    assert_eq!(micro_batches(5, 3), vec![0..2, 2..4, 4..5]);
    assert_eq!(micro_batches(6, 3), vec![0..2, 2..4, 4..6]);
    assert_eq!(micro_batches(4, 4), vec![0..1, 1..2, 2..3, 3..4]);
    assert_eq!(micro_batches(4, 1), vec![0..4]);
}

#[test]
fn vtc_pretraining_in_micro_batches_equals_one_batch() {
    trains_as_one_batch([1.0, 0.0, 0.0]);
}

#[test]
fn vtm_and_mlm_in_micro_batches_equal_one_batch() {
    trains_as_one_batch([1.0, 1.0, 1.0]);
}

/// A device of its own, so that no other test's buffers count in its peak.
fn own_device() -> Gpu {
    open_devices("1", &AdapterRequest::default())
        .unwrap()
        .remove(0)
}

#[test]
fn micro_batches_lower_the_peak_memory() {
    let gpu = own_device();
    let mut peaks = Vec::new();
    for n in [1, 4] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = TrainConfig {
            steps: 1,
            batch: 8,
            accumulate: n,
            ..common::tiny_run(dir.path())
        };
        gpu.pool.reset_peak();
        train(&gpu, &cfg).unwrap();
        peaks.push(gpu.pool.stats().peak_bytes);
    }
    // The encoders' saved activations are most of a tiny step's memory: a quarter of the
    // batch at a time must save at least a third of the peak.
    assert!(
        3 * peaks[1] < 2 * peaks[0],
        "peak bytes with --accumulate 1 and 4: {peaks:?}"
    );
}

/// The tensors of a run's checkpoint.
fn weights(run: &Path) -> Vec<(String, Vec<f32>)> {
    let c = Checkpoint::load(&run.join("checkpoint")).unwrap();
    c.tensors.into_iter().map(|(k, t)| (k, t.data)).collect()
}

#[test]
fn accumulate_1_is_the_step_without_the_flag_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec![
            "pretrain", "--preset", "tiny", "--steps", "2", "--batch", "3",
        ];
        args.extend([
            "--group-size",
            "1",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ]);
        args.extend(extra);
        ok(&locomotion(&args, &[]));
        weights(&out)
    };
    let (plain, flagged) = (run("plain", &[]), run("one", &["--accumulate", "1"]));
    assert_eq!(plain.len(), flagged.len());
    for ((name, a), (_, b)) in plain.iter().zip(&flagged) {
        let same = a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{name} differs between no flag and --accumulate 1");
    }
}

#[test]
fn bad_accumulate_values_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out = out.to_str().unwrap();
    for (cmd, args) in [
        ("pretrain", vec!["--accumulate", "0"]),
        ("pretrain", vec!["--batch", "4", "--accumulate", "5"]),
        ("pretrain", vec!["--devices", "2", "--accumulate", "2"]),
        ("demo", vec!["--batch", "4", "--accumulate", "5"]),
        ("experiment", vec!["--batch", "4", "--accumulate", "0"]),
    ] {
        let mut all = vec![cmd, "--steps", "1", "--quiet", "--out", out];
        all.extend(&args);
        let err = one_line_error(&locomotion(&all, &[]));
        assert!(err.contains("--accumulate"), "{cmd} {args:?}: {err}");
        assert!(!Path::new(out).exists(), "{cmd} {args:?} left {out}");
    }
}

#[test]
fn bench_train_reports_peak_memory_per_accumulate_value() {
    let flags = [
        "--steps",
        "1",
        "--warmup",
        "1",
        "--batch",
        "8",
        "--accumulate",
        "1,4",
    ];
    let args = [&BENCH_TINY_VTC[..], &flags].concat();
    let report = common::cli::json_report(&args, &[]);
    let rows = report["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["pretrain-tiny (vtc)", "pretrain-tiny (vtc) acc 4"]);
    let peak = |i: usize| rows[i]["peak_memory_bytes"].as_u64().unwrap();
    assert!(peak(1) < peak(0), "peaks {} and {}", peak(0), peak(1));
    let config = rows[1]["config"].as_str().unwrap();
    assert!(config.contains("in 4 micro-batches"), "{config}");
}

/// A frozen pretrained text encoder (VTC only: its pooled states come from the per-caption
/// cache, and GradCache's third pass skips it): 2 micro-batches train as the whole batch.
/// Prints SKIP without `LOCOMOTION_MINILM_DIR`.
#[test]
fn a_frozen_text_encoder_in_micro_batches_equals_one_batch() {
    let Some(minilm) = common::minilm::model_dir() else {
        return;
    };
    let gpu = common::gpu();
    let frozen = |out: &Path, n: usize| TrainConfig {
        init_text: Some(locomotion::train::init_text::InitText {
            dir: minilm.clone(),
            freeze: true,
            layers: Some(1),
        }),
        ..config(out, [1.0, 0.0, 0.0], n)
    };
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let whole = train(&gpu, &frozen(one.path(), 1)).unwrap();
    let split = train(&gpu, &frozen(two.path(), 2)).unwrap();
    assert!(whole.text_cache.misses > 0 && split.text_cache.misses > 0);
    assert_same_losses(&records(two.path()), &records(one.path()));
    let cfg = frozen(two.path(), 2);
    let mut gaps = weight_gaps(two.path(), one.path(), (cfg.steps, cfg.lr));
    gaps.retain(|g| !centred_away(g, &cfg));
    assert!(gaps.is_empty(), "frozen, --accumulate 2: {gaps:?}");
}
