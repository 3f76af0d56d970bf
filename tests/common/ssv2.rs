//! An SSv2-format mini dataset made on the spot: clips from the engine's compositor (`generate
//! --frames-png`, known motions) encoded to `<id>.webm` by ffmpeg (and one `.mp4`), SSv2's
//! raw JSON schema (`id`, `label`, `template`, `placeholders`) with templates from the clips'
//! directions, VindLU-format retrieval annotations with multi-video captions, one truncated
//! and one zero-byte video.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The mini dataset's files.
pub struct MiniSsv2 {
    /// The videos folder.
    pub videos: PathBuf,
    /// SSv2's raw validation JSON.
    pub ssv2_json: PathBuf,
    /// VindLU / Singularity retrieval annotations.
    pub ret_json: PathBuf,
    /// The good clips' ids (`<id>.webm` decodes).
    pub good: Vec<String>,
    /// The truncated and the zero-byte video.
    pub bad: [String; 2],
}

/// Whether ffmpeg runs here; `test` is skipped, saying so, where it does not (a failure
/// with LOCOMOTION_REQUIRE_FFMPEG=1, as in CI).
pub fn have_ffmpeg(test: &str) -> bool {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        super::skip::skip(
            test,
            "no ffmpeg on PATH (apt-get install ffmpeg)",
            "LOCOMOTION_REQUIRE_FFMPEG",
        );
    }
    ok
}

/// Run ffmpeg quietly, panicking with its message on failure.
pub fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-y", "-v", "error", "-nostdin"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run the `locomotion` binary with extra environment variables.
pub fn locomotion(args: &[&str], env: &[(&str, &Path)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_locomotion"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Encode a folder of PNG frames `%04d.png` to `out` (webm by libvpx, mp4 by libx264).
pub fn encode(frames: &Path, out: &Path) {
    let pattern = frames.join("%04d.png");
    let codec: &[&str] = if out.extension().is_some_and(|e| e == "mp4") {
        &["-c:v", "libx264", "-pix_fmt", "yuv420p"]
    } else {
        &["-c:v", "libvpx", "-deadline", "realtime", "-b:v", "1M"]
    };
    let mut args = vec!["-framerate", "12", "-i", pattern.to_str().unwrap()];
    args.extend_from_slice(codec);
    args.push(out.to_str().unwrap());
    ffmpeg(&args);
}

impl MiniSsv2 {
    /// Make the dataset under `root`: 6 good clips (ids 1000..1005), 1006 truncated, 1007
    /// zero bytes.
    pub fn make(root: &Path) -> Self {
        let generated = root.join("gen");
        let out = locomotion(
            &[
                "generate",
                "--clips",
                "6",
                "--size",
                "32",
                "--frames",
                "12",
                "--seed",
                "3",
                "--frames-png",
                "--out",
                generated.to_str().unwrap(),
            ],
            &[],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let videos = root.join("videos");
        std::fs::create_dir_all(&videos).unwrap();
        let manifest = std::fs::read_to_string(generated.join("manifest.jsonl")).unwrap();
        let mut records = Vec::new();
        let mut good = Vec::new();
        for (i, line) in manifest.lines().enumerate() {
            let e: serde_json::Value = serde_json::from_str(line).unwrap();
            let id = (1000 + i).to_string();
            let frames = generated.join(e["frames_dir"].as_str().unwrap());
            encode(&frames, &videos.join(format!("{id}.webm")));
            if i == 5 {
                encode(&frames, &videos.join(format!("{id}.mp4")));
            }
            let obj = &e["params"]["objects"][0];
            let dir = obj["segments"][0]["direction"]
                .as_str()
                .unwrap()
                .replace('_', " ");
            let name = obj["object"]["name"].as_str().unwrap();
            records.push(serde_json::json!({
                "id": id,
                "label": format!("Moving {name} {dir}"),
                "template": format!("Moving [something] {dir}"),
                "placeholders": [name],
            }));
            good.push(id);
        }
        // A webm cut to its header (no frame left) and an empty one.
        let whole = std::fs::read(videos.join("1000.webm")).unwrap();
        std::fs::write(videos.join("1006.webm"), &whole[..40]).unwrap();
        std::fs::write(videos.join("1007.webm"), b"").unwrap();
        for id in ["1006", "1007"] {
            records.push(serde_json::json!({
                "id": id, "label": "Moving ball up", "template": "Moving [something] up",
                "placeholders": ["ball"],
            }));
        }
        let ssv2_json = root.join("something-something-v2-validation.json");
        std::fs::write(&ssv2_json, serde_json::to_string(&records).unwrap()).unwrap();
        // Retrieval annotations: multi-video captions, one video under two captions, the mp4,
        // and a caption whose every video is bad.
        let ret = serde_json::json!([
            {"video": ["1000.webm", "1001.webm"], "caption": "Clips ZERO and one."},
            {"video": "1002.webm", "caption": "clip two"},
            {"video": ["1003.webm", "1001.webm"], "caption": "clip three, or one"},
            {"video": "1004.webm", "caption": "clip four"},
            {"video": "1005.mp4", "caption": "clip five (an mp4)"},
            {"video": ["1006.webm", "1007.webm"], "caption": "only broken videos"},
        ]);
        let ret_json = root.join("ret_custom_val.json");
        std::fs::write(&ret_json, serde_json::to_string(&ret).unwrap()).unwrap();
        Self {
            videos,
            ssv2_json,
            ret_json,
            good,
            bad: ["1006.webm".into(), "1007.webm".into()],
        }
    }
}
