//! Hostile runs of the binary: a folder that already holds a dataset, two runs into one
//! folder, flags out of range, a closed stdout, a resume whose flags or tensors do not match
//! its checkpoint (`hostile_resume/`); each ends in a one-line error (or a clean exit), never
//! a panic or a silently wrong result.
#![cfg(unix)]

use std::fs;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

mod hostile;
use hostile::{assert_error, bin};

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn generate(out: &Path, clips: &str, extra: &[&str]) -> Output {
    let mut c = bin();
    c.args([
        "generate", "--size", "32", "--frames", "4", "--clips", clips, "--out",
    ])
    .arg(out)
    .args(extra);
    c.output().unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn generate_refuses_an_old_dataset_unless_forced_and_force_leaves_only_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let o = generate(&out, "5", &["--captions", "--paraphrases", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(names(&out.join("clips")).len(), 5);
    assert_eq!(names(&out), ["captions.jsonl", "clips", "manifest.jsonl"]);

    // More paraphrases than the captions have rewrites (a lexicon with one word for each
    // entry): said and counted, not silent.
    let lexicon: serde_json::Value =
        serde_json::from_str(&fs::read_to_string("data/lexicon.json").unwrap()).unwrap();
    fn first(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Array(a) => serde_json::Value::Array(a[..1].to_vec()),
            serde_json::Value::Object(o) => o.iter().map(|(k, x)| (k.clone(), first(x))).collect(),
            other => other.clone(),
        }
    }
    let mut one: serde_json::Map<String, serde_json::Value> = lexicon
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if k == "word_classes" {
                    v.clone()
                } else {
                    first(v)
                },
            )
        })
        .collect();
    one.insert("replace".into(), true.into());
    let lex = dir.path().join("one-word.json");
    fs::write(&lex, serde_json::to_string(&one).unwrap()).unwrap();
    let caps = dir.path().join("caps.jsonl");
    let m = out.join("manifest.jsonl");
    let o = run(&[
        "describe",
        m.to_str().unwrap(),
        "--paraphrases",
        "64",
        "--lexicon",
        lex.to_str().unwrap(),
        "--out",
        caps.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("5 of 5 clips got fewer than the 64 paraphrases"),
        "{}",
        stderr(&o)
    );

    assert_error(
        &generate(&out, "2", &[]),
        &["already holds a dataset", "--force"],
    );
    assert_eq!(
        names(&out.join("clips")).len(),
        5,
        "a refused run changes nothing"
    );

    let o = generate(&out, "2", &["--force", "--seed", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        names(&out),
        ["clips", "manifest.jsonl"],
        "old captions removed"
    );
    assert_eq!(names(&out.join("clips")).len(), 2, "old clips removed");
    let manifest = fs::read_to_string(out.join("manifest.jsonl")).unwrap();
    assert_eq!(manifest.lines().count(), 2);

    // A file generate never writes is not removed, even with --force.
    fs::write(out.join("notes.txt"), "mine").unwrap();
    assert_error(&generate(&out, "2", &["--force"]), &["notes.txt"]);
    assert!(out.join("notes.txt").exists() && out.join("manifest.jsonl").exists());
}

#[test]
fn a_second_run_into_a_locked_out_is_refused_and_a_failed_run_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    fs::create_dir(&out).unwrap();
    // This test holds the lock, as a first run would.
    let lock = fs::File::create(out.join(".locomotion.lock")).unwrap();
    lock.lock().unwrap();
    assert_error(&generate(&out, "2", &[]), &["being written by another run"]);
    assert!(
        out.join(".locomotion.lock").exists(),
        "the holder's lock stays"
    );
    assert_eq!(names(&out), [".locomotion.lock"]);
    drop(lock);

    // Bad input fails before anything is written: no --out at all.
    let bad = dir.path().join("bad.gif");
    fs::write(&bad, b"GIF89a\x10\x00").unwrap();
    let fresh = dir.path().join("fresh");
    let o = generate(&fresh, "2", &["--backgrounds", bad.to_str().unwrap()]);
    assert_error(&o, &["bad.gif"]);
    assert!(!fresh.exists(), "{:?}", fresh);
}

#[test]
fn generate_checks_its_memory_budget_before_any_work_and_streams_its_clips() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let t0 = Instant::now();
    let o = bin()
        .args([
            "generate",
            "--size",
            "4096x4096",
            "--frames",
            "4096",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_error(&o, &["--frames", "--size", "per clip"]);
    let o = bin()
        .args([
            "generate", "--size", "512", "--frames", "64", "--batch", "64", "--clips", "64",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_error(&o, &["--batch"]);
    assert!(t0.elapsed() < Duration::from_secs(60));
    assert!(!out.exists());

    // A billion clips: clips appear at once and memory stays flat (it held an index per clip).
    // Ended when dropped, also when an assertion below fails.
    let mut child = hostile::child::Reaped::spawn(
        bin()
            .args([
                "generate",
                "--size",
                "16",
                "--frames",
                "2",
                "--clips",
                "1000000000",
            ])
            .arg("--out")
            .arg(&out)
            .stderr(Stdio::null()),
    );
    let stage = out.join(".partial").join("clips");
    let t0 = Instant::now();
    while fs::read_dir(&stage).map_or(0, |d| d.count()) < 40 {
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "no clips streamed out"
        );
        assert!(child.try_wait().is_none(), "generate ended");
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap();
    drop(child);
    assert!(peak_kb < 1 << 20, "peak RSS {} MiB", peak_kb >> 10);
}

#[test]
fn flags_out_of_range_are_refused_before_any_work_and_a_closed_stdout_is_a_clean_exit() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("manifest.jsonl");
    fs::write(&m, "").unwrap();
    for t in ["1e30", "1e19", "nan", "-1", "0"] {
        let flag = format!("--llm-timeout={t}");
        let o = run(&[
            "describe",
            m.to_str().unwrap(),
            "--llm-url",
            "http://127.0.0.1:9",
            "--llm-model",
            "x",
            &flag,
        ]);
        assert_error(&o, &["--llm-timeout"]);
    }
    let o = run(&["describe", m.to_str().unwrap(), "--paraphrases", "65"]);
    assert_error(&o, &["--paraphrases", "0 to 64"]);
    let out = dir.path().join("run");
    let o = run(&[
        "pretrain",
        "--weights",
        "0,0,0",
        "--steps",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_error(&o, &["--weights", "nothing would be trained"]);
    let o = run(&[
        "pretrain",
        "--weight-decay",
        "1e300",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_error(&o, &["--weight-decay"]);
    let o = run(&["demo", "--groups", "0", "--out", out.to_str().unwrap()]);
    assert_error(&o, &["--groups"]);
    assert!(!out.exists(), "nothing written");
    // A bad --data is found after the tokenizer is written: the failed run removes it.
    let missing = dir.path().join("no-such-data");
    let o = run(&[
        "pretrain",
        "--steps",
        "1",
        "--batch",
        "2",
        "--quiet",
        "--data",
        missing.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_error(&o, &["no-such-data"]);
    assert!(
        !out.exists(),
        "a failed run leaves no --out: {:?}",
        out.exists().then(|| names(&out))
    );

    let o = bin()
        .args(["info"])
        .env("WGPU_BACKEND", "bogus")
        .output()
        .unwrap();
    assert_error(&o, &["WGPU_BACKEND", "bogus"]);

    // The reader goes away before the first byte: no panic, exit 0.
    let mut child = bin()
        .args(["info", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{:?}: {}", o.status, stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

mod hostile_resume;
