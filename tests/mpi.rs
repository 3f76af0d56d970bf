//! `mpirun -np 2 locomotion pretrain --distributed mpi` on one machine (lavapipe under each
//! rank): the losses and weights equal one device's with the same global batch (also with
//! two devices on each rank), a rank killed mid-run ends the job with an error within the
//! timeout, and the run resumes from its last checkpoint. The MPI build (`--features mpi`, binary `locomotion-mpi`) is made here, into the
//! same target folder, so the default binary the other tests run is left as it is.
//!
//! Needs `mpirun` (Open MPI) and clang: `.ci/run` installs them and sets
//! LOCOMOTION_REQUIRE_MPI=1, so in CI a missing MPI fails instead of skipping.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::child::Reaped;
use common::dist::{assert_same_losses, records, weight_gaps};

const STEPS: u64 = 8;
const LR: f64 = 3e-4;

/// The flags every run here shares: 8 steps of batch 6, all three objectives, a log line and
/// a checkpoint every 2 steps.
fn run_flags(out: &Path) -> Vec<String> {
    let mut v: Vec<String> = [
        "pretrain",
        "--steps",
        "8",
        "--batch",
        "6",
        "--lr",
        "3e-4",
        "--warmup",
        "1",
        "--weights",
        "1,1,1",
        "--group-size",
        "3",
        "--seed",
        "5",
        "--log-every",
        "1",
        "--save-every",
        "2",
        "--quiet",
        "--out",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(out.display().to_string());
    v
}

/// The MPI build of the CLI, or None (with the reason printed) where there is no MPI.
fn mpi_binary() -> Option<PathBuf> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let have = Command::new("mpirun")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success());
            if !have {
                common::skip::skip(
                    "tests/mpi.rs",
                    "no mpirun (apt-get install openmpi-bin libopenmpi-dev clang)",
                    "LOCOMOTION_REQUIRE_MPI",
                );
                return None;
            }
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args([
                    "build",
                    "--release",
                    "--features",
                    "mpi",
                    "--bin",
                    "locomotion-mpi",
                ])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("cargo runs");
            assert!(status.success(), "cargo build --features mpi failed");
            let bin = Path::new(env!("CARGO_BIN_EXE_locomotion")).with_file_name("locomotion-mpi");
            assert!(bin.exists(), "{} was not built", bin.display());
            Some(bin)
        })
        .clone()
}

fn mpirun(bin: &Path, np: usize, args: &[String]) -> Command {
    let mut c = Command::new("mpirun");
    c.args([
        "--allow-run-as-root",
        "--oversubscribe",
        "-np",
        &np.to_string(),
    ])
    .arg(bin)
    .args(args)
    // A rank that waits longer than this for the others ends the job.
    .env("LOCOMOTION_COLLECTIVE_TIMEOUT", "120");
    c
}

fn check(out: Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One device, the default binary: the reference.
fn reference() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_locomotion"))
            .args(run_flags(&dir.path().join("run")))
            .output()
            .unwrap();
        check(out, "the one-device run");
        dir
    })
    .path()
}

#[test]
fn two_ranks_train_as_one_device() {
    let Some(bin) = mpi_binary() else { return };
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let mut args = run_flags(&run);
    args.extend(["--distributed".into(), "mpi".into()]);
    let out = mpirun(&bin, 2, &args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    check(out, "mpirun -np 2");
    // Rank 0 alone reports.
    assert_eq!(stdout.matches("finished at step 8").count(), 1, "{stdout}");
    let one = reference().join("run");
    assert_same_losses(&records(&run), &records(&one));
    let gaps = weight_gaps(&run, &one, (STEPS, LR));
    assert!(gaps.is_empty(), "weights differ: {gaps:?}");
}

#[test]
fn two_ranks_with_two_devices_each_train_as_one_device() {
    let Some(bin) = mpi_binary() else { return };
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let mut args = run_flags(&run);
    // 4 replicas over a batch of 6: shares of 2, 2, 1 and 1.
    args.extend(["--distributed", "mpi", "--devices", "2"].map(String::from));
    let out = mpirun(&bin, 2, &args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    check(out, "mpirun -np 2 with --devices 2");
    assert!(stdout.contains("across 4 replicas"), "{stdout}");
    let one = reference().join("run");
    assert_same_losses(&records(&run), &records(&one));
    let gaps = weight_gaps(&run, &one, (STEPS, LR));
    assert!(gaps.is_empty(), "weights differ: {gaps:?}");
}

/// The pids of `mpirun`'s rank `rank` for the run in `out`.
fn rank_pid(rank: u32, out: &Path) -> Option<u32> {
    let want = format!("OMPI_COMM_WORLD_RANK={rank}");
    let out = out.display().to_string();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
        let env = std::fs::read(e.path().join("environ")).ok()?;
        let has = |hay: &[u8], s: &str| hay.split(|&b| b == 0).any(|p| p == s.as_bytes());
        (has(&cmd, &out) && has(&env, &want)).then_some(pid)
    })
}

/// Start the MPI job `args` (writing `run`), kill rank 1 at its first checkpoint and wait for
/// the job to end: its stderr and how long the survivors took to stop. None when the job had
/// finished every step before the kill landed (a loaded machine can starve this thread for
/// that long), so there was nothing to test.
fn kill_rank_1_at_the_first_checkpoint(
    bin: &Path,
    args: &[String],
    run: &Path,
) -> Option<(Output, Duration)> {
    // Ended (mpirun and its ranks) when dropped, also when an assertion below fails.
    let mut child = Reaped::spawn(
        mpirun(bin, 2, args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    let start = Instant::now();
    while !run.join("checkpoint").join("config.json").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "no checkpoint after 10 minutes"
        );
        if child.try_wait().is_some() {
            panic!("the run ended before its first checkpoint");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = rank_pid(1, run).expect("rank 1's process");
    let killed = Instant::now();
    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output();
    let waited = killed.elapsed();
    let done = records(run).last().map_or(0, |r| r.step);
    (done < STEPS).then_some((out, waited))
}

#[test]
fn a_killed_rank_ends_the_job_and_the_run_resumes() {
    let Some(bin) = mpi_binary() else { return };
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let mut args = run_flags(&run);
    args.extend(["--distributed".into(), "mpi".into()]);
    // The kill races the run's last 6 steps: a run that won it is started again, afresh.
    let (out, waited) = (0..3)
        .find_map(|_| {
            let _ = std::fs::remove_dir_all(&run);
            kill_rank_1_at_the_first_checkpoint(&bin, &args, &run)
        })
        .expect("three runs finished before rank 1 could be killed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the job succeeded with a rank killed: {stderr}"
    );
    assert!(
        waited < Duration::from_secs(120),
        "the survivors took {waited:?} to stop"
    );
    assert!(
        stderr.contains("rank 1") || stderr.contains("signal 9"),
        "{stderr}"
    );

    // Resume with the same world size: it ends where an uninterrupted run ends.
    args.push("--resume".into());
    check(mpirun(&bin, 2, &args).output().unwrap(), "the resumed run");
    let one = reference().join("run");
    assert_same_losses(&records(&run), &records(&one));
    let gaps = weight_gaps(&run, &one, (STEPS, LR));
    assert!(gaps.is_empty(), "resumed weights differ: {gaps:?}");
}

#[test]
fn without_the_feature_distributed_mpi_says_how_to_build() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_locomotion"))
        .args([
            "pretrain",
            "--steps",
            "1",
            "--quiet",
            "--distributed",
            "mpi",
            "--out",
        ])
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--features mpi"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
