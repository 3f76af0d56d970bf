//! One run per output folder: every command that writes a run folder (pretrain, finetune,
//! demo, experiment, generate) refuses a second run into it, naming the folder and the
//! holder's process id, leaves the holder's files alone, and is not blocked by the lock file
//! of a killed run.
#![cfg(unix)]

mod hostile;

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use hostile::child::Reaped;
use hostile::{assert_error, bin};
use locomotion::util::run_lock::{LOCK_FILE, RunLock};

#[test]
fn a_second_run_into_a_held_out_is_refused_naming_the_folder_and_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let pid = format!("process {}", std::process::id());
    let cases: [(&str, Vec<&str>); 5] = [
        ("pretrain", vec!["pretrain", "--steps", "1", "--batch", "2"]),
        ("demo", vec!["demo", "--steps", "1", "--batch", "2"]),
        (
            "experiment",
            vec!["experiment", "--steps", "1", "--batch", "2"],
        ),
        ("generate", vec!["generate", "--clips", "1", "--size", "32"]),
        ("finetune", vec!["finetune", "--steps", "1", "--batch", "2"]),
    ];
    for (name, args) in cases {
        let out = dir.path().join(name);
        // This test holds the folder, as a first run would; its files must survive.
        let held = RunLock::acquire(&out, "--out").unwrap();
        fs::write(out.join("metrics.jsonl"), "the first run's\n").unwrap();
        let mut c = bin();
        c.args(&args).arg("--out").arg(&out);
        if name == "finetune" {
            c.arg("--checkpoint").arg(dir.path().join("no-such-run"));
        }
        let o = c.output().unwrap();
        if name == "finetune" {
            // Nothing to fine-tune: refused on its own input first, the folder untouched.
            assert_eq!(o.status.code(), Some(1));
        } else {
            let folder = out.display().to_string();
            assert_error(&o, &[&folder, &pid, "another run"]);
        }
        assert_eq!(
            fs::read_to_string(out.join("metrics.jsonl")).unwrap(),
            "the first run's\n",
            "{name} touched the holder's files"
        );
        assert!(out.join(LOCK_FILE).is_file(), "{name} removed the lock");
        drop(held);
        assert!(!out.join(LOCK_FILE).exists(), "the holder removes its lock");
    }
}

#[test]
fn the_lock_file_of_a_killed_run_does_not_block_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // Reaped: a failing assertion below ends the 100000-step run instead of orphaning it.
    let mut child = Reaped::spawn(
        bin()
            .args([
                "pretrain", "--steps", "100000", "--batch", "2", "--quiet", "--out",
            ])
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let lock = out.join(LOCK_FILE);
    let start = Instant::now();
    let holder = child.id().to_string();
    while fs::read_to_string(&lock).ok().as_deref() != Some(holder.as_str()) {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the run never took its lock"
        );
        assert!(child.try_wait().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    // While it runs, a second run is refused with its id.
    let o = bin()
        .args(["pretrain", "--steps", "1", "--batch", "2", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_error(&o, &[&format!("process {holder}")]);
    child.kill();
    assert!(lock.is_file(), "a killed run leaves its lock file");
    let next = RunLock::acquire(&out, "--out").unwrap();
    assert_eq!(
        fs::read_to_string(&lock).unwrap(),
        std::process::id().to_string()
    );
    drop(next);
    assert!(!Path::new(&lock).exists());
}
