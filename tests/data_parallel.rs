//! Data-parallel pre-training on several devices in one process (`--devices`), on one
//! lavapipe adapter opened more than once: the losses and weights of a run on 2 devices
//! equal those of one device with the same global batch, an uneven split over 3 too, a failing
//! replica stops the others with its error, and a run interrupted on 3 devices resumes on 1.

mod common;

use std::path::Path;
use std::process::Command;

use common::dist::{assert_same_losses, records, weight_gaps};
use locomotion::dist::devices::open_devices;
use locomotion::gpu::{AdapterRequest, Gpu};
use locomotion::model::config::ModelConfig;
use locomotion::train::config::TrainConfig;
use locomotion::train::trainer::train_devices;

fn config(out: &Path) -> TrainConfig {
    let mut model = ModelConfig::preset("tiny").unwrap();
    (
        model.loss_weights.vtc,
        model.loss_weights.vtm,
        model.loss_weights.mlm,
    ) = (1.0, 1.0, 1.0);
    TrainConfig {
        model,
        steps: 4,
        batch: 6,
        warmup: 1,
        seed: 11,
        group_size: 3,
        ..common::tiny_run(out)
    }
}

fn devices(n: usize) -> Vec<Gpu> {
    let gpus = open_devices(&n.to_string(), &AdapterRequest::default()).unwrap();
    for g in &gpus {
        g.pool.set_poison(Some(common::POISON));
    }
    gpus
}

#[test]
fn two_devices_train_as_one_and_resume_on_one() {
    let one = tempfile::tempdir().unwrap();
    let c = config(one.path());
    let s1 = train_devices(&devices(1), &c, None).unwrap();
    assert_eq!(s1.step, 4);
    let reference = records(one.path());
    assert!(
        reference
            .iter()
            .all(|r| r.vtc > 0.0 && r.vtm > 0.0 && r.mlm > 0.0)
    );

    // Even split: 3 + 3 clips.
    let two = tempfile::tempdir().unwrap();
    let s2 = train_devices(&devices(2), &config(two.path()), None).unwrap();
    assert_eq!(s2.step, 4);
    assert!(s2.allreduce_share > 0.0 && s2.allreduce_share < 1.0);
    assert_same_losses(&records(two.path()), &reference);
    let gaps = weight_gaps(two.path(), one.path(), (c.steps, c.lr));
    assert!(gaps.is_empty(), "weights differ: {gaps:?}");

    // Uneven split over 3 devices (4 + 1 + 1: a replica with one pair takes its VTM
    // negatives from the others), interrupted after 2 steps, resumed on one device.
    let uneven = tempfile::tempdir().unwrap();
    let mut cfg = config(uneven.path());
    cfg.stop_after = Some(2);
    let s = train_devices(&devices(3), &cfg, Some(&[4.0, 1.0, 1.0])).unwrap();
    assert!(s.interrupted && s.step == 2);
    cfg.stop_after = None;
    cfg.resume = true;
    train_devices(&devices(1), &cfg, None).unwrap();
    assert_same_losses(&records(uneven.path()), &reference);
    let gaps = weight_gaps(uneven.path(), one.path(), (cfg.steps, cfg.lr));
    assert!(gaps.is_empty(), "resumed weights differ: {gaps:?}");
}

#[test]
fn a_failing_replica_stops_the_others_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    // --out is a file: replica 0 cannot create it; replica 1 must not wait for it forever.
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let start = std::time::Instant::now();
    let err = train_devices(&devices(2), &config(&file), None).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("cannot create --out"), "{msg}");
    assert!(
        start.elapsed().as_secs() < 300,
        "took {:?}",
        start.elapsed()
    );
}

fn cli(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_locomotion"))
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr).to_string();
    (out.status.success(), text)
}

#[test]
fn device_flags_that_cannot_work_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out = out.to_str().unwrap();
    for (args, expect) in [
        (
            vec!["--devices", "2", "--device-weights", "1"],
            "gives 1 weights for 2 devices",
        ),
        (
            vec!["--devices", "2", "--device-weights", "1,-1"],
            "one positive number per device",
        ),
        (vec!["--devices", "0"], "give 1 to 64 devices"),
        (
            vec!["--devices", "no-such-card"],
            "no adapter 'no-such-card'",
        ),
        (
            vec!["--devices", "3", "--batch", "2"],
            "smaller than the 3 devices",
        ),
    ] {
        let mut all = vec!["pretrain", "--steps", "1", "--quiet", "--out", out];
        all.extend(&args);
        let (ok, err) = cli(&all);
        assert!(!ok, "{args:?} succeeded");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(!Path::new(out).exists(), "{args:?} left {out}");
    }
    // `all` takes GPUs only: on a machine with only a CPU adapter it says what to do.
    let only_cpu = locomotion::gpu::discover()
        .iter()
        .all(|a| a.get_info().device_type == wgpu::DeviceType::Cpu);
    if only_cpu {
        let (ok, err) = cli(&["pretrain", "--steps", "1", "--out", out, "--devices", "all"]);
        assert!(!ok);
        assert!(err.contains("--devices N opens N devices"), "{err}");
    }
}
