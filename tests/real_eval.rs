//! Standard results out, end to end on the SSv2-format mini dataset (tests/common/ssv2.rs):
//! `eval --annotations` (SSv2-Template and -Label from the raw JSON, VindLU annotations),
//! bad videos named or skipped and counted, the similarity file's metrics recomputed here,
//! the clip cache on the second run; `embed` + `search` scores equal to the saved
//! similarities; `finetune --annotations` with shared-caption positives.

mod common;

use std::collections::HashMap;
use std::path::Path;

use tempfile::TempDir;

use common::ssv2::{MiniSsv2, have_ffmpeg, locomotion};
use locomotion::data::matrix_file::{metadata_strings, read_matrix};

use locomotion::train::trainer::train;

/// A tiny checkpoint after two steps.
fn pretrain(out: &Path) {
    let cfg = common::tiny_run(out);
    train(&common::gpu(), &cfg).unwrap();
}

/// The mini dataset, a tiny checkpoint and an empty clip cache, each in its own folder.
fn fixture() -> (TempDir, TempDir, TempDir, MiniSsv2) {
    let (root, run, cache) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let data = MiniSsv2::make(root.path());
    pretrain(run.path());
    (root, run, cache, data)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn ok(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Best-rank metrics recomputed independently: for each query the number of wrong items
/// scoring at or above its best correct one, plus one.
fn ranks(
    n_q: usize,
    n_c: usize,
    score: impl Fn(usize, usize) -> f32,
    hit: impl Fn(usize, usize) -> bool,
) -> Vec<f64> {
    (0..n_q)
        .filter(|&q| (0..n_c).any(|c| hit(q, c)))
        .map(|q| {
            let best = (0..n_c)
                .filter(|&c| hit(q, c))
                .map(|c| score(q, c))
                .fold(f32::MIN, f32::max);
            1.0 + (0..n_c)
                .filter(|&c| !hit(q, c) && score(q, c) >= best)
                .count() as f64
        })
        .collect()
}

fn check_direction(json: &serde_json::Value, ranks: &[f64]) {
    let n = ranks.len() as f64;
    let pct = |k: f64| 100.0 * ranks.iter().filter(|&&r| r <= k).count() as f64 / n;
    let mut sorted = ranks.to_vec();
    sorted.sort_by(f64::total_cmp);
    let m = sorted.len();
    let median = if m % 2 == 1 {
        sorted[m / 2]
    } else {
        0.5 * (sorted[m / 2 - 1] + sorted[m / 2])
    };
    for (key, want) in [
        ("r1", pct(1.0)),
        ("r5", pct(5.0)),
        ("r10", pct(10.0)),
        ("median_rank", median),
        ("mean_rank", ranks.iter().sum::<f64>() / n),
    ] {
        let got = json[key].as_f64().unwrap();
        assert!(
            (got - want).abs() < 1e-9,
            "{key}: {got} vs {want} in {json}"
        );
    }
    assert_eq!(json["queries"].as_u64().unwrap() as usize, ranks.len());
    assert!(json["chance"]["r1"].as_f64().unwrap() > 0.0);
}

#[test]
fn ssv2_template_and_label_from_the_raw_json_end_to_end() {
    if !have_ffmpeg("ssv2_template_and_label_from_the_raw_json_end_to_end") {
        return;
    }
    let (root, run, cache, data) = fixture();
    let env = [("LOCOMOTION_CLIP_CACHE", cache.path())];
    let (json, sim) = (
        root.path().join("m.json"),
        root.path().join("sim.safetensors"),
    );
    let eval = |extra: &[&str]| {
        let mut a = vec![
            "eval",
            "--checkpoint",
            s(run.path()),
            "--annotations",
            s(&data.ssv2_json),
        ];
        a.extend(["--videos", s(&data.videos), "--batch", "4"]);
        a.extend_from_slice(extra);
        locomotion(&a, &env)
    };
    // A bad video without --skip-bad-videos: one line naming it.
    let out = eval(&["--ssv2-captions", "template"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1006.webm") && err.contains("--skip-bad-videos"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let args = [
        "--ssv2-captions",
        "template",
        "--skip-bad-videos",
        "--json",
        s(&json),
        "--save-similarity",
        s(&sim),
    ];
    let stdout = ok(&eval(&args));
    assert!(
        stdout.contains("text→video") && stdout.contains("2 videos skipped"),
        "{stdout}"
    );
    assert!(stdout.contains("skipped 1007.webm"), "{stdout}");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(m["skipped_videos"], 2, "{m}");
    assert_eq!(m["videos"], 6, "{m}");
    // The failed run above cached the clips it decoded before the bad one.
    let (dec, hit) = (
        m["decoded"].as_u64().unwrap(),
        m["from_cache"].as_u64().unwrap(),
    );
    assert_eq!(dec + hit, 6, "{m}");

    // The similarity file: captions × videos with their names; its ranks are the JSON's.
    let f = read_matrix(&sim, "similarity").unwrap();
    let captions = metadata_strings(&f, "captions", &sim).unwrap();
    let videos = metadata_strings(&f, "videos", &sim).unwrap();
    assert_eq!((f.rows, f.cols), (captions.len(), videos.len()));
    assert_eq!(m["captions"].as_u64().unwrap() as usize, captions.len());
    assert!(
        captions
            .iter()
            .all(|c| c.starts_with("moving [something] ")),
        "{captions:?}"
    );
    // Ground truth from SSv2's JSON itself: a video matches its record's template.
    let raw: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&data.ssv2_json).unwrap()).unwrap();
    let template: HashMap<String, String> = raw
        .iter()
        .map(|r| {
            (
                format!("{}.webm", r["id"].as_str().unwrap()),
                r["template"].as_str().unwrap().to_lowercase(),
            )
        })
        .collect();
    let hit = |c: usize, v: usize| template[&videos[v]] == captions[c];
    let t2v = ranks(f.rows, f.cols, |q, c| f.data[q * f.cols + c], hit);
    let v2t = ranks(
        f.cols,
        f.rows,
        |q, c| f.data[c * f.cols + q],
        |q, c| hit(c, q),
    );
    check_direction(&m["text_to_video"], &t2v);
    check_direction(&m["video_to_text"], &v2t);

    // The second run decodes nothing: every clip comes from the cache, same numbers.
    let again = root.path().join("m2.json");
    let args2 = [
        "--ssv2-captions",
        "template",
        "--skip-bad-videos",
        "--json",
        s(&again),
    ];
    ok(&eval(&args2));
    let m2: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&again).unwrap()).unwrap();
    assert_eq!(
        (m2["decoded"].as_u64(), m2["from_cache"].as_u64()),
        (Some(0), Some(6)),
        "{m2}"
    );
    assert_eq!(m2["text_to_video"], m["text_to_video"]);

    // SSv2-Label: one caption per good video.
    let args3 = [
        "--ssv2-captions",
        "label",
        "--skip-bad-videos",
        "--json",
        s(&again),
    ];
    ok(&eval(&args3));
    let m3: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&again).unwrap()).unwrap();
    assert_eq!(m3["text_to_video"]["queries"], 6, "{m3}");
}

#[test]
fn embed_and_search_scores_equal_the_saved_similarities() {
    if !have_ffmpeg("embed_and_search_scores_equal_the_saved_similarities") {
        return;
    }
    let (root, run, cache, data) = fixture();
    let env = [("LOCOMOTION_CLIP_CACHE", cache.path())];
    let sim = root.path().join("sim.safetensors");
    let (ck, ann, vids) = (s(run.path()), s(&data.ret_json), s(&data.videos));
    let stdout = ok(&locomotion(
        &[
            "eval",
            "--checkpoint",
            ck,
            "--annotations",
            ann,
            "--videos",
            vids,
            "--skip-bad-videos",
            "--save-similarity",
            s(&sim),
        ],
        &env,
    ));
    // The caption whose every video is broken is reported, not silently dropped.
    assert!(
        stdout.contains("left out (every video it names was skipped): \"only broken videos\""),
        "{stdout}"
    );
    let f = read_matrix(&sim, "similarity").unwrap();
    let captions = metadata_strings(&f, "captions", &sim).unwrap();
    let videos = metadata_strings(&f, "videos", &sim).unwrap();
    assert_eq!(
        videos,
        [
            "1000.webm",
            "1001.webm",
            "1002.webm",
            "1003.webm",
            "1004.webm",
            "1005.mp4"
        ]
    );
    assert_eq!(captions[0], "clips zero and one");

    let index = root.path().join("videos.safetensors");
    ok(&locomotion(
        &[
            "embed",
            "--checkpoint",
            ck,
            "--annotations",
            ann,
            "--videos",
            vids,
            "--skip-bad-videos",
            "--out",
            s(&index),
        ],
        &env,
    ));
    let e = read_matrix(&index, "embeddings").unwrap();
    assert_eq!(metadata_strings(&e, "ids", &index).unwrap(), videos);
    assert_eq!(e.metadata["kind"], "video");
    let search = |index: &Path, query: &str| -> HashMap<String, f32> {
        let out = ok(&locomotion(
            &[
                "search",
                "--checkpoint",
                ck,
                "--index",
                s(index),
                query,
                "--top",
                "100",
                "--json",
            ],
            &env,
        ));
        let hits: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        hits.iter()
            .map(|h| {
                (
                    h["id"].as_str().unwrap().to_string(),
                    h["score"].as_f64().unwrap() as f32,
                )
            })
            .collect()
    };
    for (row, caption) in captions.iter().enumerate() {
        let got = search(&index, caption);
        for (col, v) in videos.iter().enumerate() {
            let want = f.data[row * f.cols + col];
            assert!(
                (got[v] - want).abs() <= 1e-5,
                "{caption:?} × {v}: search {} vs eval {want}",
                got[v]
            );
        }
    }
    // A text index and a video query give the similarity matrix's column.
    let texts = root.path().join("captions.txt");
    std::fs::write(&texts, captions.join("\n")).unwrap();
    let tindex = root.path().join("texts.safetensors");
    ok(&locomotion(
        &[
            "embed",
            "--checkpoint",
            ck,
            "--texts",
            s(&texts),
            "--out",
            s(&tindex),
        ],
        &env,
    ));
    let col = 2;
    let got = search(&tindex, s(&data.videos.join(&videos[col])));
    for (row, c) in captions.iter().enumerate() {
        let want = f.data[row * f.cols + col];
        assert!((got[c] - want).abs() <= 1e-5, "{c:?}: {} vs {want}", got[c]);
    }
}

#[test]
fn finetune_trains_on_annotations_and_names_a_bad_video() {
    if !have_ffmpeg("finetune_trains_on_annotations_and_names_a_bad_video") {
        return;
    }
    let (root, run, cache, data) = fixture();
    let env = [("LOCOMOTION_CLIP_CACHE", cache.path())];
    let ft = root.path().join("ft");
    let finetune = |extra: &[&str]| {
        let mut a = vec!["finetune", "--checkpoint", s(run.path()), "--annotations"];
        a.extend([s(&data.ssv2_json), "--ssv2-captions", "template"]);
        a.extend(["--videos", s(&data.videos), "--steps", "2", "--batch", "2"]);
        a.extend(["--out", s(&ft), "--quiet"]);
        a.extend_from_slice(extra);
        locomotion(&a, &env)
    };
    let out = finetune(&[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1006.webm") && err.contains("--skip-bad-videos"),
        "{err}"
    );
    let stdout = ok(&finetune(&["--skip-bad-videos", "--fraction", "0.5"]));
    assert!(
        ft.join("checkpoint").join("config.json").is_file(),
        "{stdout}"
    );
    // The fine-tuned run evaluates on the same protocol.
    ok(&locomotion(
        &[
            "eval",
            "--checkpoint",
            s(&ft),
            "--annotations",
            s(&data.ret_json),
            "--videos",
            s(&data.videos),
            "--skip-bad-videos",
        ],
        &env,
    ));
}

#[test]
fn videos_that_share_a_caption_are_not_each_others_negatives() {
    use locomotion::data::annotations::RetrievalSet;
    use locomotion::data::clips::ClipReader;
    use locomotion::data::mlm::MlmConfig;
    use locomotion::data::tokenizer::TextTokenizer;
    use locomotion::model::locomotion::{DUPLICATE_PENALTY, duplicate_caption_mask};
    use locomotion::train::data::{AnnotatedSource, CaptionMix, TextPipeline};
    if !have_ffmpeg("videos_that_share_a_caption_are_not_each_others_negatives") {
        return;
    }
    let (_root, run, _cache, data) = fixture();
    let tok = TextTokenizer::load(&run.path().join("tokenizer.json"), 64).unwrap();
    let text = TextPipeline::new(
        tok,
        CaptionMix::parse("motion").unwrap(),
        MlmConfig::default(),
    );
    let set = RetrievalSet::from_records(vec![
        (
            vec!["a ball rolls".into()],
            vec!["1000.webm".into(), "1001.webm".into()],
        ),
        (vec!["clip two".into()], vec!["1002.webm".into()]),
    ])
    .unwrap();
    let reader = ClipReader::new(8, 32, 32, None);
    let gpu = common::gpu();
    let src = AnnotatedSource::new(
        &gpu,
        set,
        data.videos.clone(),
        reader,
        text,
        (0, 3, 1.0),
        false,
        false,
    )
    .unwrap();
    assert_eq!(src.len(), 3);
    // One batch of 3 is one epoch: every pair once, the shared caption twice.
    let b = src.batch(0).unwrap();
    let caps = &b.host.captions;
    assert_eq!(
        caps.iter().filter(|c| *c == "a ball rolls").count(),
        2,
        "{caps:?}"
    );
    let mask = duplicate_caption_mask(caps).expect("a shared caption is masked");
    for i in 0..3 {
        for j in 0..3 {
            let want = if i != j && caps[i] == caps[j] {
                DUPLICATE_PENALTY
            } else {
                0.0
            };
            assert_eq!(mask[i * 3 + j], want, "({i}, {j}) of {caps:?}");
        }
    }
}
