//! LLM paraphrases reach pre-training: `generate` a folder, `describe --llm-url` it against a
//! local test server (one answer per caption changes a motion fact and is rejected), then the
//! folder source's paraphrase captions are the server's accepted answers, never the rejected
//! one nor a lexicon paraphrase, and `pretrain --data DIR --captions motion:0.5,paraphrase:0.5`
//! trains on them.

mod common;
mod llm_server;

use std::collections::HashMap;
use std::sync::Arc;

use common::cli::{locomotion, ok};
use common::data::text;
use llm_server::serve;
use locomotion::caption::records::read_manifest;
use locomotion::caption::{CaptionKind, Paraphraser, describe};
use locomotion::train::data::{FolderConfig, FolderSource};

#[test]
fn llm_paraphrases_are_what_pretraining_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("gen");
    let d = dir.to_str().unwrap();
    ok(&locomotion(
        &[
            "generate", "--out", d, "--clips", "4", "--seed", "5", "--size", "32", "--frames", "8",
        ],
        &[],
    ));
    // Per caption: two true paraphrases (lexicon phrasing from seeds no describe run uses)
    // and one that reverses the direction or the speed, or adds a motion.
    let mut good: HashMap<String, Vec<String>> = HashMap::new();
    let mut bad: HashMap<String, String> = HashMap::new();
    let mut answers: HashMap<String, Vec<String>> = HashMap::new();
    for (i, e) in read_manifest(&dir.join("manifest.jsonl"))
        .unwrap()
        .iter()
        .enumerate()
    {
        let caption = describe(&e.params, CaptionKind::Motion);
        let g = Paraphraser::default().paraphrase(&e.params, 2, 9000 + i as u64);
        let wrong = if caption.contains("left") {
            caption.replacen("left", "right", 1)
        } else {
            format!("{} Then it zooms up.", caption.trim_end_matches('.'))
        };
        let mut all = g.clone();
        all.push(wrong.clone());
        answers.insert(caption, all);
        good.insert(e.id.clone(), g);
        bad.insert(e.id.clone(), wrong);
    }
    let (url, seen) = serve(Arc::new(move |_, caps: &[String]| {
        let a: Vec<&Vec<String>> = caps.iter().map(|c| &answers[c]).collect();
        (200, serde_json::to_string(&a).unwrap())
    }));
    let m = dir.join("manifest.jsonl");
    let out = locomotion(
        &[
            "describe",
            m.to_str().unwrap(),
            "--llm-url",
            &url,
            "--llm-model",
            "tiny",
        ],
        &[],
    );
    ok(&out);
    assert!(seen.lock().unwrap().requests >= 1);
    assert!(dir.join("captions.jsonl").is_file());

    // The folder source's paraphrase captions: every one an accepted LLM answer of its clip.
    let src = FolderSource::open(
        &common::gpu(),
        &dir,
        text("paraphrase"),
        FolderConfig {
            seed: 1,
            batch_size: 4,
            fraction: 1.0,
            frames: 8,
            height: 32,
            width: 32,
        },
    )
    .unwrap();
    let mut drawn = 0;
    for step in 0..3 {
        let b = src.batch(step).unwrap();
        for (clip, cap) in b.host.clips.iter().zip(&b.host.captions) {
            let id = &clip.id;
            assert_ne!(cap, &bad[id], "a rejected paraphrase was trained on");
            assert!(good[id].contains(cap), "{id}: {cap:?} is not the LLM's");
            drawn += 1;
        }
    }
    assert_eq!(drawn, 12);

    // And pre-training on the folder with the paper's mix runs on them.
    let run = tmp.path().join("run");
    ok(&locomotion(
        &[
            "pretrain",
            "--preset",
            "tiny",
            "--data",
            d,
            "--captions",
            "motion:0.5,paraphrase:0.5",
            "--steps",
            "2",
            "--batch",
            "4",
            "--quiet",
            "--out",
            run.to_str().unwrap(),
        ],
        &[],
    ));
    assert!(run.join("checkpoint").is_dir());
}
