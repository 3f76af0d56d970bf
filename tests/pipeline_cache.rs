//! The driver's pipeline cache on disk: written when a device closes, read by the next one,
//! a corrupt or foreign file ignored with one warning (and replaced), no file at all when
//! disabled. One test owns the process environment (the cache folder is read from it).

mod common;

use std::path::Path;
use std::process::Command;

use locomotion::gpu::{
    AdapterRequest, Gpu, PIPELINE_CACHE_ENV, decode_pipeline_cache, encode_pipeline_cache,
    pipeline_cache_file,
};
use locomotion::tensor::ops::elementwise::add;
use locomotion::tensor::{Tape, Tensor};

/// Open a device, compile and run one kernel, close the device; whether it found a usable
/// cache file (None: no disk cache).
fn one_start() -> Option<bool> {
    let g = Gpu::new(&AdapterRequest::default()).expect("a GPU adapter");
    let loaded = g.pipelines.disk_cache();
    let x = common::random(100, 1);
    let tape = Tape::new(&g);
    let xt = Tensor::from_host(&g, &x, [100]).unwrap();
    let got = add(&tape, &xt, &xt).unwrap().to_vec().unwrap();
    assert_eq!(got[7], x[7] + x[7]);
    loaded
}

fn set_cache(value: &Path) {
    // SAFETY: this test binary has one test; nothing else reads the environment meanwhile.
    unsafe { std::env::set_var(PIPELINE_CACHE_ENV, value) };
}

/// `locomotion info`'s pipeline cache line and stderr with the cache in `dir` (it opens a
/// device, so reads the file).
fn run_info(dir: &Path) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_locomotion"))
        .arg("info")
        .env(PIPELINE_CACHE_ENV, dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "info failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("pipeline cache: "))
        .unwrap_or_else(|| panic!("info names no pipeline cache:\n{stdout}"))
        .to_string();
    (line, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn the_pipeline_cache_is_saved_reused_checked_and_can_be_disabled() {
    let probe = Gpu::new(&AdapterRequest::default()).expect("a GPU adapter");
    let info = probe.adapter.get_info();
    drop(probe);
    let tmp = tempfile::tempdir().unwrap();
    let xdg = tmp.path().join("xdg");
    let dir = xdg.join("locomotion").join("pipelines");
    let Some(file) = pipeline_cache_file(&dir, &info) else {
        eprintln!("skipped: {:?} keeps no pipeline cache", info.backend);
        return;
    };

    // First start: no file yet; closing the device writes it, for this driver, in the
    // default folder under $XDG_CACHE_HOME.
    // SAFETY: as in `set_cache`.
    unsafe {
        std::env::set_var("XDG_CACHE_HOME", &xdg);
        std::env::remove_var(PIPELINE_CACHE_ENV);
    }
    assert_eq!(one_start(), Some(false));
    let bytes = std::fs::read(&file).expect("the cache file after the first start");
    decode_pipeline_cache(&info, &bytes).expect("a file for this driver");
    // Second start: the file is used.
    assert_eq!(one_start(), Some(true));
    let (line, _) = run_info(&dir);
    assert!(
        line.contains(&*file.to_string_lossy()) && line.contains("(read)"),
        "{line}"
    );

    // A corrupt file: ignored with one warning, the run goes on, the next save replaces it.
    std::fs::write(&file, b"not a cache at all").unwrap();
    let (line, stderr) = run_info(&dir);
    assert!(line.contains("(new)"), "{line}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("pipeline cache"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].starts_with("warning:"), "{stderr}");
    assert!(warnings[0].contains(&*file.to_string_lossy()), "{stderr}");
    assert_eq!(one_start(), Some(false));
    decode_pipeline_cache(&info, &std::fs::read(&file).unwrap()).expect("replaced");

    // A file from another driver build is foreign.
    let mut other = info.clone();
    other.driver_info.push_str(" (older)");
    let foreign = encode_pipeline_cache(&other, b"driver data");
    let why = decode_pipeline_cache(&info, &foreign).unwrap_err();
    assert!(why.contains("another driver"), "{why}");
    std::fs::write(&file, &foreign).unwrap();
    assert_eq!(one_start(), Some(false));

    // Disabled: no cache, and no file or folder is made (the driver may keep its own
    // caches under $XDG_CACHE_HOME: only ours is checked).
    let ours = xdg.join("locomotion");
    std::fs::remove_dir_all(&ours).unwrap();
    set_cache(Path::new("off"));
    assert_eq!(one_start(), None);
    assert!(!ours.exists(), "a disabled cache made {}", ours.display());
    let (line, stderr) = run_info(Path::new("off"));
    assert_eq!(line, "pipeline cache: off (LOCOMOTION_PIPELINE_CACHE)");
    assert!(!stderr.contains("pipeline cache"), "{stderr}");
}
