//! Background videos in any format through the `ffmpeg` executable: raw RGB frames over a
//! pipe, already scaled and centre-cropped by ffmpeg, read with a bound on the bytes and a
//! deadline on the time (a hanging ffmpeg is killed).

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Environment variable: seconds one ffmpeg decode may take before it is killed.
pub const TIMEOUT_ENV: &str = "LOCOMOTION_FFMPEG_TIMEOUT";
/// Seconds one decode may take by default (a few thousand small frames decode in seconds).
pub const DEFAULT_TIMEOUT_S: u64 = 300;

fn timeout() -> anyhow::Result<Duration> {
    match std::env::var(TIMEOUT_ENV) {
        Err(_) => Ok(Duration::from_secs(DEFAULT_TIMEOUT_S)),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(s) if (1..=86_400).contains(&s) => Ok(Duration::from_secs(s)),
            _ => bail!("{TIMEOUT_ENV}={v} is not a whole number of seconds from 1 to 86400"),
        },
    }
}

/// Decode at most `max` frames of `path`, fitted to `height` × `width`, as RGBA8 frames.
pub fn ffmpeg_frames(
    path: &Path,
    height: u32,
    width: u32,
    max: usize,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let limit = timeout()?;
    let vf = format!(
        "scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height}"
    );
    let child = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-frames:v", &max.to_string(), "-vf", &vf])
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "video '{}' needs the ffmpeg executable to decode, and none is on PATH: install ffmpeg, or convert it to a GIF or a folder of PNG frames",
            path.display()
        ),
        Err(e) => return Err(e).context(format!("cannot run ffmpeg on '{}'", path.display())),
    };
    let frame_bytes = height as usize * width as usize * 3;
    // Readers on threads, so a full stderr pipe cannot stall ffmpeg and the deadline holds.
    let stdout = child.stdout.take().expect("piped");
    let cap = (max * frame_bytes) as u64;
    let out = std::thread::spawn(move || {
        let (mut raw, mut s) = (Vec::new(), stdout);
        (&mut s).take(cap).read_to_end(&mut raw)?;
        std::io::copy(&mut s, &mut std::io::sink())?;
        Ok::<_, std::io::Error>(raw)
    });
    let stderr = child.stderr.take().expect("piped");
    let err = std::thread::spawn(move || {
        let mut text = Vec::new();
        let mut s = stderr;
        let _ = (&mut s).take(1 << 16).read_to_end(&mut text);
        let _ = std::io::copy(&mut s, &mut std::io::sink());
        String::from_utf8_lossy(&text).into_owned()
    });
    let status = wait_with_deadline(&mut child, limit).with_context(|| {
        format!(
            "ffmpeg did not finish decoding '{}' within {} s and was killed (set {TIMEOUT_ENV} to allow longer)",
            path.display(),
            limit.as_secs()
        )
    })?;
    let raw = out
        .join()
        .map_err(|_| anyhow::anyhow!("ffmpeg reader thread failed"))?
        .with_context(|| format!("cannot read ffmpeg's output for '{}'", path.display()))?;
    if !status.success() || raw.len() < frame_bytes {
        let text = err.join().unwrap_or_default();
        bail!(
            "ffmpeg could not decode video '{}': {}",
            path.display(),
            text.lines().next().unwrap_or("no frames")
        );
    }
    Ok(raw
        .chunks_exact(frame_bytes)
        .map(|rgb| {
            rgb.chunks_exact(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect()
        })
        .collect())
}

fn wait_with_deadline(
    child: &mut Child,
    limit: Duration,
) -> anyhow::Result<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if start.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            bail!("timed out");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
