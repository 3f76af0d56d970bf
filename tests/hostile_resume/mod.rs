//! Hostile resumes: a resume whose flags, moments or tensors do not match its checkpoint is a
//! one-line error, and a resumed run logs each step once.

use std::fs;
use std::path::Path;
use std::process::Output;

use super::{assert_error, bin, generate, run, stderr};
use locomotion::data::tokenizer::TextTokenizer;
use locomotion::model::checkpoint::{Checkpoint, HostTensor};

/// `pretrain` into `out` with a fixed set of flags, `set` replacing or adding some.
fn pretrain(out: &Path, set: &[(&str, &str)], extra: &[&str]) -> Output {
    let mut flags = vec![
        ("--steps", "3"),
        ("--batch", "2"),
        ("--log-every", "1"),
        ("--save-every", "1"),
    ];
    for &(k, v) in set {
        match flags.iter_mut().find(|slot| slot.0 == k) {
            Some(slot) => slot.1 = v,
            None => flags.push((k, v)),
        }
    }
    let mut c = bin();
    c.arg("pretrain");
    for (k, v) in flags {
        c.args([k, v]);
    }
    c.args(["--quiet", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn metric_steps(out: &Path) -> Vec<u64> {
    fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["step"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

#[test]
fn resume_refuses_conflicting_flags_and_bad_moments_and_logs_each_step_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = pretrain(&out, &[("--stop-after", "2")], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(metric_steps(&out), [1, 2]);
    // A kill after step 3 was logged but before its checkpoint: the log ran ahead.
    let mut log = fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    log.push_str("{\"step\":3,\"lr\":0.0}\n{\"step\":");
    fs::write(out.join("metrics.jsonl"), log).unwrap();

    for (flag, value) in [
        ("--seed", "5"),
        ("--batch", "3"),
        ("--lr", "0.0005"),
        ("--captions", "spatial"),
    ] {
        let o = pretrain(&out, &[(flag, value)], &["--resume"]);
        assert_error(&o, &["--resume", flag, "conflicts", "--steps"]);
    }
    let o = pretrain(&out, &[("--weights", "1,0,1")], &["--resume"]);
    assert_error(&o, &["--weights"]);
    let o = pretrain(&out, &[("--preset", "small")], &["--resume"]);
    assert_error(&o, &["--preset"]);
    // A run that trained on curved paths (experiment --nonlinear) is not resumed on straight
    // ones: the stored generation option is checked too.
    let config = out.join("checkpoint").join("config.json");
    let text = fs::read_to_string(&config).unwrap();
    assert!(text.contains("\"nonlinear\": false"), "{text}");
    fs::write(
        &config,
        text.replace("\"nonlinear\": false", "\"nonlinear\": true"),
    )
    .unwrap();
    let o = pretrain(&out, &[], &["--resume"]);
    assert_error(&o, &["--nonlinear false", "conflicts", "true"]);
    fs::write(&config, text).unwrap();

    // A save killed between its two renames: the checkpoint sits in a hidden sibling.
    let ck = out.join("checkpoint");
    fs::rename(&ck, out.join(".checkpoint.old-4242")).unwrap();
    let o = pretrain(&out, &[], &["--resume"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(metric_steps(&out), [1, 2, 3], "each step logged once");
    assert_eq!(Checkpoint::load(&ck).unwrap().config.state.step, 3);

    // An optimizer moment with more elements than its parameter: named, exit 1, no panic.
    let mut c = Checkpoint::load(&ck).unwrap();
    let name = c
        .tensors
        .keys()
        .find(|k| k.starts_with("adam.m."))
        .unwrap()
        .clone();
    let n = c.tensors[&name].data.len() + 5;
    c.tensors
        .insert(name.clone(), HostTensor::new(vec![n], vec![0.0; n]));
    c.save(&ck).unwrap();
    let resume = || {
        bin()
            .args([
                "pretrain", "--steps", "4", "--batch", "2", "--quiet", "--resume", "--out",
            ])
            .arg(&out)
            .output()
            .unwrap()
    };
    assert_error(&resume(), &[&name]);
    c.tensors.remove(&name);
    c.save(&ck).unwrap();
    assert_error(&resume(), &[&name]);

    // finetune keeps the checkpoint's model: another --preset is refused, not ignored.
    let ft = dir.path().join("ft");
    let o = bin()
        .args([
            "finetune",
            "--preset",
            "small",
            "--steps",
            "1",
            "--batch",
            "2",
            "--checkpoint",
        ])
        .arg(&out)
        .arg("--out")
        .arg(&ft)
        .output()
        .unwrap();
    assert_error(&o, &["--preset small"]);
    // ... while --weights is honoured, and the settings line says which objective trains.
    let o = bin()
        .args([
            "finetune",
            "--weights",
            "0,0,1",
            "--steps",
            "1",
            "--batch",
            "2",
            "--checkpoint",
        ])
        .arg(&out)
        .arg("--out")
        .arg(dir.path().join("ft-mlm"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("objectives MLM 1") && stdout.contains("preset the checkpoint's"),
        "{stdout}"
    );

    // eval: a VTM head trained with weight 0 is not used to re-rank; a folder of runs hints.
    let cfg_path = ck.join("config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&cfg_path).unwrap()).unwrap();
    cfg["model"]["loss_weights"]["vtm"] = 0.0.into();
    fs::write(&cfg_path, serde_json::to_string(&cfg).unwrap()).unwrap();
    let o = run(&[
        "eval",
        "--rerank-vtm",
        "4",
        "--checkpoint",
        out.to_str().unwrap(),
    ]);
    assert_error(&o, &["--rerank-vtm", "VTM weight 0"]);
    let o = run(&["eval", "--checkpoint", dir.path().to_str().unwrap()]);
    assert_error(&o, &["use --checkpoint", "run"]);

    // A corrupt clip of an --data folder is named as a clip, not as a background.
    let data = dir.path().join("data");
    let o = generate(&data, "4", &["--captions", "--paraphrases", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let clip = fs::read_dir(data.join("clips"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    fs::write(&clip, b"GIF89a broken").unwrap();
    let o = run(&[
        "eval",
        "--checkpoint",
        out.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert_error(&o, &["clip GIF"]);
    assert!(!stderr(&o).contains("background"), "{}", stderr(&o));

    // Another run's tokenizer (a vocabulary the checkpoint was not trained with) is named.
    // (A config.json edited to another vocab_size no longer gets this far: its weights'
    // shapes refute it as it loads; tests/hostile_checkpoints.rs.)
    let tok_path = out.join("tokenizer.json");
    let ours = fs::read(&tok_path).unwrap();
    TextTokenizer::train(&["another run's own captions"], 40, 32, false)
        .unwrap()
        .save(&tok_path)
        .unwrap();
    let o = run(&["eval", "--checkpoint", out.to_str().unwrap()]);
    assert_error(&o, &["tokenizer.json", "another run's tokenizer"]);
    fs::write(&tok_path, ours).unwrap();

    // A weight that is not finite is named with its file, not found as a NaN similarity.
    let mut c = Checkpoint::load(&ck).unwrap();
    let name = c
        .tensors
        .keys()
        .find(|k| !k.starts_with("adam."))
        .unwrap()
        .clone();
    c.tensors.get_mut(&name).unwrap().data[0] = f32::NAN;
    c.save(&ck).unwrap();
    let o = run(&["eval", "--checkpoint", out.to_str().unwrap()]);
    assert_error(&o, &["model.safetensors", &name, "non-finite"]);
}
