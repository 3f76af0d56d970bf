//! Real data in: SSv2's raw JSON, VindLU / Singularity retrieval annotations, JSONL and CSV,
//! Singularity's caption normalisation, "middle" frame sampling through ffmpeg, the clip
//! cache (used the second time, ignored after the file changes), bad videos named, and the
//! multi-ground-truth metrics against a hand-computed ranking with ties.

mod common;

use std::process::{Command, Stdio};

use common::ssv2::{MiniSsv2, have_ffmpeg};
use locomotion::data::annotations::{RetrievalSet, Ssv2Captions, pre_text, read_annotations};
use locomotion::data::clips::{ClipReader, middle_indices};
use locomotion::eval::metrics::retrieval_metrics_pairs;

#[test]
fn captions_are_normalised_as_singularity_does() {
    assert_eq!(
        pre_text("Pushing [Something] from left-to-right!  (slowly); "),
        "pushing [something] from left to right slowly"
    );
    assert_eq!(pre_text("A/B, \"it's\" <person> ~ #1:"), "a b its person 1");
}

#[test]
fn middle_sampling_picks_the_centre_of_equal_segments() {
    // VindLU: edges = linspace(0, len, n + 1).astype(int), the middle of [edge_i, edge_{i+1}).
    assert_eq!(middle_indices(10, 4), vec![0, 3, 5, 8]);
    assert_eq!(middle_indices(100, 8), vec![5, 18, 30, 43, 55, 68, 80, 93]);
    assert_eq!(middle_indices(3, 6), vec![0, 0, 1, 1, 2, 2]);
    assert_eq!(middle_indices(1, 3), vec![0, 0, 0]);
}

#[test]
fn the_readers_build_captions_videos_and_their_matches() {
    let dir = tempfile::tempdir().unwrap();
    let raw = serde_json::json!([
        {"id": "1", "label": "pushing a pen from left to right", "template": "Pushing [something] from left to right", "placeholders": ["a pen"]},
        {"id": "2", "label": "pushing a cup from left to right", "template": "Pushing [something] from left to right", "placeholders": ["a cup"]},
        {"id": "3", "label": "Dropping a pen.", "template": "Dropping [something]", "placeholders": ["a pen"]},
    ]);
    let ssv2 = dir.path().join("something-something-v2-validation.json");
    std::fs::write(&ssv2, raw.to_string()).unwrap();
    let t = read_annotations(&ssv2, Some(Ssv2Captions::Template)).unwrap();
    assert_eq!(
        t.captions,
        [
            "pushing [something] from left to right",
            "dropping [something]"
        ]
    );
    assert_eq!(t.videos, ["1.webm", "2.webm", "3.webm"]);
    assert_eq!(t.pairs, [(0, 0), (0, 1), (1, 2)]);
    let l = read_annotations(&ssv2, Some(Ssv2Captions::Label)).unwrap();
    assert_eq!(l.captions.len(), 3);
    assert_eq!(l.captions[2], "dropping a pen");
    assert_eq!(l.pairs, [(0, 0), (1, 1), (2, 2)]);
    // The raw JSON without --ssv2-captions, or the flag on other JSON: errors saying so.
    let e = format!("{:#}", read_annotations(&ssv2, None).unwrap_err());
    assert!(e.contains("--ssv2-captions"), "{e}");

    let ret = dir.path().join("ret.json");
    std::fs::write(
        &ret,
        r#"[{"video": ["a.webm", "b.webm"], "caption": "A, B."},
            {"video": "b.webm", "caption": "only b"},
            {"video": "c.mp4", "caption": "a b"}]"#,
    )
    .unwrap();
    let r = read_annotations(&ret, None).unwrap();
    // "A, B." and "a b" are one caption after normalisation: it matches a, b and c.
    assert_eq!(r.captions, ["a b", "only b"]);
    assert_eq!(r.videos, ["a.webm", "b.webm", "c.mp4"]);
    assert_eq!(r.pairs, [(0, 0), (0, 1), (0, 2), (1, 1)]);
    let e = format!(
        "{:#}",
        read_annotations(&ret, Some(Ssv2Captions::Label)).unwrap_err()
    );
    assert!(e.contains("not Something-Something"), "{e}");

    let jsonl = dir.path().join("pairs.jsonl");
    std::fs::write(
        &jsonl,
        "{\"video\": \"x.webm\", \"caption\": \"X moves\"}\n\n{\"video\": \"y.webm\", \"caption\": \"Y\"}\n",
    )
    .unwrap();
    let j = read_annotations(&jsonl, None).unwrap();
    assert_eq!((j.captions.len(), j.videos.len()), (2, 2));
    let csv = dir.path().join("pairs.csv");
    std::fs::write(
        &csv,
        "caption,video\n\"a ball, rolling \"\"left\"\"\",x.webm\nsecond,y.webm\n",
    )
    .unwrap();
    let c = read_annotations(&csv, None).unwrap();
    assert_eq!(c.captions, ["a ball rolling left", "second"]);
    assert_eq!(c.videos, ["x.webm", "y.webm"]);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"[{"video": 3, "caption": "x"}]"#).unwrap();
    let e = format!("{:#}", read_annotations(&bad, None).unwrap_err());
    assert!(e.contains("bad.json") && e.contains("\"video\""), "{e}");
}

#[test]
fn dropping_videos_reports_the_captions_left_without_any() {
    let set = RetrievalSet::from_records(vec![
        (vec!["one".into()], vec!["a".into(), "b".into()]),
        (vec!["two".into()], vec!["c".into()]),
        (vec!["three".into()], vec!["b".into()]),
    ])
    .unwrap();
    let (kept, orphans) = set.without_videos(&[2, 0]);
    assert_eq!(orphans, ["two"]);
    assert_eq!(kept.videos, ["b"]);
    assert_eq!(kept.captions, ["one", "three"]);
    assert_eq!(kept.pairs, [(0, 0), (1, 0)]);
}

#[test]
fn metrics_equal_a_hand_computed_ranking_with_ties_and_several_ground_truths() {
    // 3 captions × 4 videos. Caption 0 matches videos 1 and 3, caption 1 video 2, caption 2
    // videos 0 and 3.
    let sim = [
        0.9, 0.5, 0.9, 0.1, //
        0.2, 0.8, 0.8, 0.3, //
        0.7, 0.1, 0.0, 0.6,
    ];
    let pairs = [(0, 1), (0, 3), (1, 2), (2, 0), (2, 3)];
    let m = retrieval_metrics_pairs(&sim, 3, 4, &pairs).unwrap();
    // Text→video, best correct rank; a wrong video tied with it goes first:
    // caption 0: best 0.5 (video 1), videos 0 and 2 above → 3; caption 1: 0.8 tied with
    // video 1 → 2; caption 2: 0.7 first → 1.
    let t = m.text_to_video.model;
    assert_eq!(m.text_to_video.queries, 3);
    assert!((t.r1 - 1.0 / 3.0).abs() < 1e-12 && t.r5 == 1.0);
    assert_eq!((t.median_rank, t.mean_rank), (2.0, 2.0));
    // Video→text: video 0 (caption 2 at 0.7, caption 0 0.9 above) → 2; video 1 (caption 0
    // 0.5, caption 1 0.8 above) → 2; video 2 (caption 1 0.8, caption 0 0.9) → 2; video 3
    // (captions 0 and 2, best 0.6 first) → 1.
    let v = m.video_to_text.model;
    assert_eq!(m.video_to_text.queries, 4);
    assert_eq!((v.r1, v.median_rank, v.mean_rank), (0.25, 2.0, 1.75));
    // Chance: 2 of 4 correct → R@1 ½; 1 of 4 → ¼; mean over the captions.
    let c = m.text_to_video.chance;
    assert!((c.r1 - (0.5 + 0.25 + 0.5) / 3.0).abs() < 1e-12, "{c:?}");
}

#[test]
fn frames_arrive_middle_sampled_resized_and_cropped() {
    if !have_ffmpeg("frames_arrive_middle_sampled_resized_and_cropped") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 10 grey frames of 24×16, frame k at level 20·k, lossless.
    let path = dir.path().join("ramp.mkv");
    let mut child = Command::new("ffmpeg")
        .args(["-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "gray"])
        .args(["-s", "24x16", "-r", "10", "-i", "-", "-c:v", "ffv1"])
        .arg(&path)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let raw: Vec<u8> = (0..10u8).flat_map(|k| vec![20 * k; 24 * 16]).collect();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &raw).unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    let reader = ClipReader::new(4, 8, 8, None);
    let rgb = reader.rgb(&path).unwrap();
    assert_eq!(rgb.len(), 4 * 8 * 8 * 3);
    for (t, want) in [0u8, 60, 100, 160].into_iter().enumerate() {
        let f = &rgb[t * 192..(t + 1) * 192];
        assert!(
            f.iter().all(|&p| p.abs_diff(want) <= 3),
            "frame {t}: want level {want}, got {:?}",
            &f[..6]
        );
    }
}

#[test]
fn the_cache_is_used_the_second_time_and_ignored_after_the_file_changes() {
    if !have_ffmpeg("the_cache_is_used_the_second_time_and_ignored_after_the_file_changes") {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let data = MiniSsv2::make(root.path());
    let names: Vec<String> = data.good.iter().map(|id| format!("{id}.webm")).collect();
    let read_all = |reader: &ClipReader| -> Vec<Vec<u8>> {
        names
            .iter()
            .map(|n| reader.rgb(&data.videos.join(n)).unwrap())
            .collect()
    };
    let first = ClipReader::new(8, 32, 32, Some(cache.path().to_path_buf()));
    let a = read_all(&first);
    assert_eq!(first.counts(), (6, 0));
    let second = ClipReader::new(8, 32, 32, Some(cache.path().to_path_buf()));
    assert_eq!(
        read_all(&second),
        a,
        "the cache gives back what was decoded"
    );
    assert_eq!(second.counts(), (0, 6));
    // Another frame count is another entry.
    let other = ClipReader::new(4, 32, 32, Some(cache.path().to_path_buf()));
    other.rgb(&data.videos.join(&names[0])).unwrap();
    assert_eq!(other.counts(), (1, 0));
    // Clip 1000 replaced by clip 1002's video: decoded again, and its new frames come back.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::copy(data.videos.join(&names[2]), data.videos.join(&names[0])).unwrap();
    let third = ClipReader::new(8, 32, 32, Some(cache.path().to_path_buf()));
    let c = read_all(&third);
    assert_eq!(third.counts(), (1, 5));
    assert_eq!(c[0], a[2]);
    assert_ne!(c[0], a[0]);
}

#[test]
fn bad_videos_are_errors_naming_the_file() {
    if !have_ffmpeg("bad_videos_are_errors_naming_the_file") {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let data = MiniSsv2::make(root.path());
    let reader = ClipReader::new(8, 32, 32, None);
    for bad in &data.bad {
        let e = format!("{:#}", reader.rgb(&data.videos.join(bad)).unwrap_err());
        assert!(
            e.contains(bad.as_str()) && e.contains("ffmpeg could not decode"),
            "{e}"
        );
    }
    let e = format!(
        "{:#}",
        reader.rgb(&data.videos.join("nope.webm")).unwrap_err()
    );
    assert!(e.contains("nope.webm") && e.contains("missing"), "{e}");
    // The mp4 decodes as the webm of the same clip does (up to the codecs' losses).
    let (w, m) = (
        reader.rgb(&data.videos.join("1005.webm")).unwrap(),
        reader.rgb(&data.videos.join("1005.mp4")).unwrap(),
    );
    let diff = w
        .iter()
        .zip(&m)
        .map(|(a, b)| a.abs_diff(*b) as f64)
        .sum::<f64>()
        / w.len() as f64;
    assert!(diff < 12.0, "mean difference {diff}");
}
