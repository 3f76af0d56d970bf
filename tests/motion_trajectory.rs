//! The trajectory sampler: the visibility rule over thousands of clips (default, non-linear,
//! long and non-square), the paper's distributions, keyframe consistency and determinism.

use locomotion::motion::params::*;
use locomotion::motion::path::{clip_states, object_state, segment_offset};
use locomotion::motion::trajectory::{speed_range, turn_range, visible_throughout};
use locomotion::motion::{BackgroundLibrary, GenConfig, ObjectLibrary, sample_clip};

fn libs(_cfg: &GenConfig) -> (ObjectLibrary, BackgroundLibrary) {
    // Tiny backgrounds: the sampler only needs their names.
    (
        ObjectLibrary::builtin(),
        BackgroundLibrary::builtin(16, 16, 1),
    )
}

fn check_clip(clip: &ClipParams, cfg: &GenConfig) {
    assert!(visible_throughout(clip), "{} leaves the frame", clip.id);
    // The stated rule is stricter: 5 % of the width from every edge.
    let aspect = cfg.height as f64 / cfg.width as f64;
    for s in clip_states(clip).iter().flatten() {
        assert!(
            (0.0499..=0.9501).contains(&s.x) && (0.0499..=aspect - 0.0499).contains(&s.y),
            "{}: centre ({}, {}) inside the margin",
            clip.id,
            s.x,
            s.y
        );
    }
    assert_eq!(clip.objects.len(), cfg.objects as usize);
    for m in &clip.objects {
        let lo = 0.2 * cfg.height.min(cfg.width) as f32;
        assert!(
            (lo - 1e-3..=2.5 * lo + 1e-3).contains(&m.size_px),
            "size {}",
            m.size_px
        );
        assert_eq!(m.keyframes.first().unwrap().frame, 0);
        assert_eq!(m.keyframes.last().unwrap().frame, cfg.frames - 1);
        assert_eq!(m.segments.len(), m.keyframes.len() - 1);
        for (i, s) in m.segments.iter().enumerate() {
            assert_eq!(s.start_frame, m.keyframes[i].frame);
            assert_eq!(s.end_frame, m.keyframes[i + 1].frame);
            assert!(s.end_frame > s.start_frame);
            // The keyframe at a segment's end is where the segment's motion ends.
            let end = object_state(m, s.end_frame);
            let k = m.keyframes[i + 1];
            assert!((end.x - k.x as f64).abs() < 1e-4 && (end.y - k.y as f64).abs() < 1e-4);
            let len = (s.end_frame - s.start_frame) as f32;
            assert!(
                s.end_frame - s.start_frame >= cfg.segment_frames(),
                "{}: a {len}-frame segment",
                clip.id
            );
            if !s.still {
                let (lo, hi) = speed_range(s.speed, cfg.frames);
                assert!(
                    (lo..=hi).contains(&s.speed_value),
                    "{:?} {}",
                    s.speed,
                    s.speed_value
                );
                // The visibility floor: the segment travels at least min_travel_px.
                let travel = s.speed_value * len * cfg.width as f32;
                assert!(
                    travel >= cfg.min_travel_px * 0.999,
                    "{}: {:?} segment travels {travel} px",
                    clip.id,
                    s.speed
                );
            }
            if s.rotation != Rotation::None {
                let (lo, hi) = turn_range(cfg.frames);
                let floor = cfg.min_turn_degrees / len;
                assert!(
                    (lo..=hi.max(floor)).contains(&s.degrees_per_frame)
                        && s.degrees_per_frame * len >= cfg.min_turn_degrees * 0.999,
                    "{}: {}°/frame over {len} frames",
                    clip.id,
                    s.degrees_per_frame
                );
            }
        }
    }
}

#[test]
fn objects_stay_visible_in_thousands_of_clips() {
    let configs = [
        GenConfig::default(),
        GenConfig {
            objects: 4,
            nonlinear: true,
            easing: true,
            scale_changes: true,
            still_segments: true,
            ..GenConfig::default()
        },
        GenConfig {
            frames: 64,
            nonlinear: true,
            ..GenConfig::default()
        },
        GenConfig {
            frames: 96,
            height: 64,
            width: 160,
            ..GenConfig::default()
        },
        GenConfig {
            height: 160,
            width: 48,
            nonlinear: true,
            ..GenConfig::default()
        },
        // The tiny preset's input: every segment must still be visible at 32² and 8 frames.
        GenConfig {
            frames: 8,
            height: 32,
            width: 32,
            ..GenConfig::default()
        },
        GenConfig {
            frames: 8,
            height: 32,
            width: 32,
            nonlinear: true,
            still_segments: true,
            min_travel_px: 5.0,
            ..GenConfig::default()
        },
    ];
    for cfg in &configs {
        let (o, b) = libs(cfg);
        for i in 0..1500 {
            check_clip(&sample_clip(42, i, cfg, &o, &b), cfg);
        }
    }
}

#[test]
fn keyframes_and_classes_follow_the_papers_distributions() {
    let cfg = GenConfig::default();
    let (o, b) = libs(&cfg);
    let n = 4000;
    let mut inner = [0usize; 3];
    let mut speeds = [0usize; 3];
    let mut dirs = std::collections::HashSet::new();
    for i in 0..n {
        let clip = sample_clip(1, i, &cfg, &o, &b);
        let m = &clip.objects[0];
        inner[m.keyframes.len() - 2] += 1;
        for s in &m.segments {
            assert_eq!(s.path, PathShape::Straight);
            assert_eq!(s.easing, Easing::Linear);
            assert!(!s.still);
            speeds[s.speed as usize] += 1;
            dirs.insert(s.direction);
            // A straight segment moves along its direction.
            let (dx, dy) = segment_offset(s, 1.0);
            let (ux, uy) = s.direction.unit();
            let len = (dx * dx + dy * dy).sqrt();
            assert!(((dx * ux as f64 + dy * uy as f64) / len - 1.0).abs() < 1e-6);
        }
    }
    let p: Vec<f64> = inner.iter().map(|&c| c as f64 / n as f64).collect();
    assert!(
        (p[0] - 0.5).abs() < 0.04 && (p[1] - 0.3).abs() < 0.04 && (p[2] - 0.2).abs() < 0.04,
        "{p:?}"
    );
    // Every class and direction occurs (fallbacks shift classes down a little, not away).
    assert!(speeds.iter().all(|&c| c > 500), "{speeds:?}");
    assert_eq!(dirs.len(), 8);
}

#[test]
fn options_produce_their_motions() {
    let cfg = GenConfig {
        frames: 64,
        nonlinear: true,
        easing: true,
        scale_changes: true,
        still_segments: true,
        ..GenConfig::default()
    };
    let (o, b) = libs(&cfg);
    let (mut curves, mut circles, mut still, mut grow, mut accel, mut segs) = (0, 0, 0, 0, 0, 0);
    for i in 0..300 {
        let clip = sample_clip(5, i, &cfg, &o, &b);
        for s in &clip.objects[0].segments {
            segs += 1;
            match s.path {
                PathShape::Curve { .. } => curves += 1,
                PathShape::Circle { turn: _, radius } => {
                    circles += 1;
                    // One full turn: the object ends where it started.
                    let (dx, dy) = segment_offset(s, 1.0);
                    assert!(
                        dx.abs() < 1e-4 && dy.abs() < 1e-4,
                        "circle of r {radius} ends off"
                    );
                }
                PathShape::Straight => {}
            }
            still += s.still as usize;
            grow += (s.scale == ScaleChange::Grow) as usize;
            accel += (s.easing == Easing::Accelerate) as usize;
        }
    }
    // Long clips get more segments: at least 3 a clip at 64 frames.
    assert!(segs >= 3 * 300, "{segs} segments");
    assert!(curves > 0 && circles > 0 && still > 0 && grow > 0 && accel > 0);
}

#[test]
fn same_seed_same_clip_other_seed_other_clip() {
    let cfg = GenConfig {
        objects: 2,
        nonlinear: true,
        ..GenConfig::default()
    };
    let (o, b) = libs(&cfg);
    let a = sample_clip(9, 3, &cfg, &o, &b);
    let again = sample_clip(9, 3, &cfg, &o, &b);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&again).unwrap()
    );
    assert_ne!(a, sample_clip(10, 3, &cfg, &o, &b));
    assert_ne!(a, sample_clip(9, 4, &cfg, &o, &b));
}

#[test]
fn bad_settings_name_the_flag() {
    for (cfg, flag) in [
        (
            GenConfig {
                objects: 5,
                ..GenConfig::default()
            },
            "--objects",
        ),
        (
            GenConfig {
                frames: 1,
                ..GenConfig::default()
            },
            "--frames",
        ),
        (
            GenConfig {
                width: 8,
                ..GenConfig::default()
            },
            "--size",
        ),
    ] {
        let e = cfg.validate().unwrap_err().to_string();
        assert!(e.contains(flag), "{e}");
    }
}
