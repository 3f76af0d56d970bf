//! `generate`'s motion flags through the binary: each changes what the manifest records
//! against a run of the same seed without it, so a flag that was parsed and ignored fails
//! here. (`--nonlinear`, `--easing`, `--scale-changes`, `--still-segments`, `--min-travel`,
//! `--min-turn`, `--min-segment-frames`.)

use std::process::Command;

use locomotion::motion::params::{
    Easing, Keyframe, ManifestEntry, PathShape, Rotation, ScaleChange, Segment,
};

/// Width of the generated clips, in pixels.
const SIZE: f32 = 32.0;

/// Every object segment of a 40-clip, 8-frame dataset made with `flags`: the segment with
/// its start and end keyframes.
fn segments(flags: &[&str]) -> Vec<(Segment, Keyframe, Keyframe)> {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_locomotion"))
        .args(["generate", "--clips", "40", "--size", "32", "--frames", "8"])
        .args(["--seed", "3", "--out"])
        .arg(dir.path())
        .args(flags)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "generate {flags:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = std::fs::read_to_string(dir.path().join("manifest.jsonl")).unwrap();
    let mut all = Vec::new();
    for line in manifest.lines() {
        let e: ManifestEntry = serde_json::from_str(line).unwrap();
        for o in e.params.objects {
            for (s, k) in o.segments.iter().zip(o.keyframes.windows(2)) {
                all.push((s.clone(), k[0], k[1]));
            }
        }
    }
    assert!(all.len() >= 40, "{} segments", all.len());
    all
}

/// Pixels a straight segment travels.
fn travel_px(a: &Keyframe, b: &Keyframe) -> f32 {
    ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt() * SIZE
}

fn frames(s: &Segment) -> u32 {
    s.end_frame - s.start_frame
}

#[test]
fn motion_flags_add_paths_easing_scaling_and_stillness_that_the_default_never_draws() {
    let plain = segments(&[]);
    let straight = |s: &Segment| s.path == PathShape::Straight;
    assert!(plain.iter().all(|(s, ..)| straight(s)
        && s.easing == Easing::Linear
        && s.scale == ScaleChange::None
        && !s.still));
    let rich = segments(&[
        "--nonlinear",
        "--easing",
        "--scale-changes",
        "--still-segments",
    ]);
    let any = |f: &dyn Fn(&Segment) -> bool| rich.iter().any(|(s, ..)| f(s));
    assert!(
        any(&|s| !straight(s)),
        "--nonlinear drew no curve or circle"
    );
    assert!(
        any(&|s| s.easing != Easing::Linear),
        "--easing drew no easing"
    );
    assert!(
        any(&|s| s.scale != ScaleChange::None),
        "--scale-changes drew no scale change"
    );
    assert!(any(&|s| s.still), "--still-segments drew no still segment");
}

#[test]
fn travel_turn_and_segment_length_floors_hold_and_differ_from_the_defaults() {
    let plain = segments(&[]);
    let floored = segments(&[
        "--min-travel",
        "8",
        "--min-turn",
        "60",
        "--min-segment-frames",
        "2",
    ]);
    let turn = |s: &Segment, a: &Keyframe, b: &Keyframe| {
        (s.rotation != Rotation::None).then(|| (b.angle - a.angle).abs())
    };
    // The defaults (3 px, 20°, half the frames) allow what the flags then forbid.
    assert!(
        plain
            .iter()
            .any(|(s, a, b)| !s.still && travel_px(a, b) < 8.0)
    );
    assert!(
        plain
            .iter()
            .any(|(s, a, b)| turn(s, a, b).is_some_and(|t| t < 60.0))
    );
    assert!(plain.iter().all(|(s, ..)| frames(s) >= 4));
    for (s, a, b) in &floored {
        if !s.still {
            assert!(
                travel_px(a, b) >= 8.0 - 1e-3,
                "{s:?} travels {} px",
                travel_px(a, b)
            );
        }
        if let Some(t) = turn(s, a, b) {
            assert!(t >= 60.0 - 1e-2, "{s:?} turns {t}°");
        }
    }
    assert!(
        floored.iter().any(|(s, ..)| frames(s) < 4),
        "--min-segment-frames 2 drew no segment under half the clip"
    );
}
