//! User videos through `ffmpeg`: short videos made here with ffmpeg's test sources (mp4,
//! webm, mkv, odd sizes, a variable frame rate, a file cut in the middle) arrive resized,
//! centre-cropped and cut to --frames; broken files are a clear error naming the file; an
//! ffmpeg that hangs is killed at the deadline. Skipped, saying so, where ffmpeg is absent;
//! a failure instead with LOCOMOTION_REQUIRE_FFMPEG=1 (.ci/run installs ffmpeg and sets it).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::ssv2::{ffmpeg, have_ffmpeg};
use locomotion::motion::backgrounds::load_video;

/// `frames` frames of ffmpeg's moving test pattern at `w`×`h`, encoded with `codec`.
fn testsrc(dir: &Path, name: &str, w: u32, h: u32, frames: u32, codec: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let src = format!("testsrc=size={w}x{h}:rate=10");
    let n = frames.to_string();
    let mut args = vec!["-f", "lavfi", "-i", &src, "-frames:v", &n];
    args.extend_from_slice(codec);
    args.push(path.to_str().unwrap());
    ffmpeg(&args);
    path
}

fn err_text(e: anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

#[test]
fn mp4_webm_and_mkv_at_odd_sizes_arrive_fitted_and_cut_to_frames() {
    if !have_ffmpeg("mp4_webm_and_mkv_at_odd_sizes_arrive_fitted_and_cut_to_frames") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        testsrc(
            dir.path(),
            "a.mp4",
            96,
            64,
            12,
            &["-c:v", "libx264", "-pix_fmt", "yuv420p"],
        ),
        testsrc(
            dir.path(),
            "b.webm",
            80,
            48,
            12,
            &["-c:v", "libvpx", "-deadline", "realtime"],
        ),
        // Odd sizes need a codec without chroma subsampling.
        testsrc(dir.path(), "c.mkv", 33, 17, 12, &["-c:v", "ffv1"]),
        testsrc(dir.path(), "d.mkv", 121, 199, 3, &["-c:v", "ffv1"]),
    ];
    for path in &cases {
        let t0 = Instant::now();
        let v = load_video(path, 24, 40, 8).unwrap_or_else(|e| panic!("{}", err_text(e)));
        let want = if path.ends_with("d.mkv") { 3 } else { 8 };
        assert_eq!(v.frames.len(), want, "{}: cut to --frames", path.display());
        for f in &v.frames {
            assert_eq!(f.len(), 24 * 40 * 4, "{}", path.display());
            assert!(f.chunks_exact(4).all(|p| p[3] == 255));
        }
        // The test pattern's counter moves (in the 8-frame ones' kept centre): frames differ.
        if want == 8 {
            assert!(
                v.frames[0] != v.frames[7],
                "{}: frames 0 and 7 equal",
                path.display()
            );
        }
        assert!(t0.elapsed() < Duration::from_secs(20));
    }
}

#[test]
fn a_wide_video_is_scaled_to_cover_and_its_centre_kept() {
    if !have_ffmpeg("a_wide_video_is_scaled_to_cover_and_its_centre_kept") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 200×100: a red centre square between blue bars; fitted to 32×32 only red remains.
    let path = dir.path().join("bars.mkv");
    let src = "color=c=red:size=200x100:rate=5,\
               drawbox=x=0:y=0:w=50:h=100:color=blue:t=fill,\
               drawbox=x=150:y=0:w=50:h=100:color=blue:t=fill";
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        src,
        "-frames:v",
        "4",
        "-c:v",
        "ffv1",
        "-pix_fmt",
        "bgr0",
        path.to_str().unwrap(),
    ]);
    let v = load_video(&path, 32, 32, 16).unwrap();
    assert_eq!(
        v.frames.len(),
        4,
        "a short video gives its own frames (looped later)"
    );
    let f = &v.frames[0];
    for y in 0..32 {
        for x in 1..31 {
            let p = &f[(y * 32 + x) * 4..][..4];
            assert!(
                p[0] > 200 && p[2] < 60,
                "({x}, {y}) is {p:?}, not the red centre"
            );
        }
    }
}

#[test]
fn a_variable_frame_rate_video_decodes() {
    if !have_ffmpeg("a_variable_frame_rate_video_decodes") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vfr.mkv");
    // Frame times 0, 0.1, 0.2, then jumps of a second: a variable frame rate.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=10",
        "-frames:v",
        "10",
        "-vf",
        "setpts='if(lt(N,3),N,N*10)/10/TB'",
        "-fps_mode",
        "vfr",
        "-c:v",
        "ffv1",
        path.to_str().unwrap(),
    ]);
    let v = load_video(&path, 16, 16, 6).unwrap_or_else(|e| panic!("{}", err_text(e)));
    assert!((1..=6).contains(&v.frames.len()), "{}", v.frames.len());
    assert!(v.frames.iter().all(|f| f.len() == 16 * 16 * 4));
}

#[test]
fn truncated_and_garbage_videos_are_errors_naming_the_file() {
    if !have_ffmpeg("truncated_and_garbage_videos_are_errors_naming_the_file") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // An mp4 keeps its index at the end: cut in the middle, nothing decodes.
    let mp4 = testsrc(
        dir.path(),
        "cut.mp4",
        64,
        48,
        30,
        &["-c:v", "libx264", "-pix_fmt", "yuv420p"],
    );
    let bytes = std::fs::read(&mp4).unwrap();
    std::fs::write(&mp4, &bytes[..bytes.len() / 2]).unwrap();
    let e = err_text(load_video(&mp4, 16, 16, 8).unwrap_err());
    assert!(
        e.contains("cut.mp4") && e.contains("ffmpeg could not decode"),
        "{e}"
    );
    // An mkv cut in the middle gives the frames before the cut, or an error; never a panic.
    let mkv = testsrc(dir.path(), "cut.mkv", 64, 48, 30, &["-c:v", "ffv1"]);
    let bytes = std::fs::read(&mkv).unwrap();
    std::fs::write(&mkv, &bytes[..bytes.len() / 2]).unwrap();
    match load_video(&mkv, 16, 16, 30) {
        Ok(v) => assert!((1..30).contains(&v.frames.len()), "{}", v.frames.len()),
        Err(e) => assert!(err_text(e).contains("cut.mkv")),
    }
    let junk = dir.path().join("junk.webm");
    std::fs::write(&junk, b"not a video at all").unwrap();
    let e = err_text(load_video(&junk, 16, 16, 8).unwrap_err());
    assert!(e.contains("junk.webm"), "{e}");
    assert!(!e.contains('\n'), "one line: {e}");
}

#[cfg(unix)]
#[test]
fn an_ffmpeg_that_hangs_is_killed_at_the_deadline() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let fake = bin.join("ffmpeg");
    std::fs::write(&fake, "#!/bin/sh\nexec sleep 600\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let video = dir.path().join("slow.mp4");
    std::fs::write(&video, b"whatever").unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let t0 = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_locomotion"))
        .args([
            "generate", "--clips", "1", "--size", "32", "--frames", "4", "--out",
        ])
        .arg(dir.path().join("out"))
        .arg("--backgrounds")
        .arg(&video)
        .env("PATH", path)
        .env("LOCOMOTION_FFMPEG_TIMEOUT", "2")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("slow.mp4") && stderr.contains("killed"),
        "{stderr}"
    );
    assert!(t0.elapsed() < Duration::from_secs(60), "{:?}", t0.elapsed());
    assert!(
        !dir.path().join("out").exists(),
        "a failed run leaves no --out"
    );
}
