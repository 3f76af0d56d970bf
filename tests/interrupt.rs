//! Ctrl-C during `pretrain`: the run finishes its step, saves a checkpoint, says where it
//! stopped and exits 0; `--resume` then carries on from there.
#![cfg(unix)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::child::Reaped;
use locomotion::model::checkpoint::Checkpoint;

fn pretrain(out: &Path, steps: &str, resume: bool) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_locomotion"));
    c.args([
        "pretrain",
        "--steps",
        steps,
        "--batch",
        "2",
        "--log-every",
        "1",
    ])
    .args(["--quiet", "--out"])
    .arg(out);
    if resume {
        c.arg("--resume");
    }
    c
}

fn metrics_lines(out: &Path) -> usize {
    std::fs::read_to_string(out.join("metrics.jsonl"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[test]
fn ctrl_c_saves_a_checkpoint_exits_cleanly_and_the_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    // Ended when dropped, so a failed assertion leaves no run behind.
    let mut child = Reaped::spawn(
        pretrain(dir.path(), "1000", false)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let start = Instant::now();
    while metrics_lines(dir.path()) == 0 {
        // A first step takes seconds; the bound only stops a hung run, at any load.
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "no step logged within 10 minutes"
        );
        assert!(child.try_wait().is_none(), "pretrain ended before a step");
        std::thread::sleep(Duration::from_millis(50));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let step: u64 = stdout
        .split("stopped at step ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no 'stopped at step N' in {stdout:?}"));
    assert!((1..1000).contains(&step), "{stdout}");

    let ck = Checkpoint::load(&dir.path().join("checkpoint")).unwrap();
    assert_eq!(
        ck.config.state.step, step,
        "the checkpoint is of the step it stopped at"
    );
    assert_eq!(metrics_lines(dir.path()), step as usize);

    // Resume to two steps further: it finishes there.
    let end = (step + 2).to_string();
    let out = pretrain(dir.path(), &end, true).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("finished at step {end}")),
        "{stdout}"
    );
    let ck = Checkpoint::load(&dir.path().join("checkpoint")).unwrap();
    assert_eq!(ck.config.state.step, step + 2);
    assert_eq!(metrics_lines(dir.path()), step as usize + 2);
}
