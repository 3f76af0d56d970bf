//! `locomotion describe` as a user meets it: captions.jsonl, determinism, --kind, --stats,
//! and one-line errors that name the bad file, line or lexicon entry.

mod caption_gen;
mod common;

use std::path::{Path, PathBuf};

use caption_gen::random_clip;
use locomotion::caption::{CaptionKind, describe, facts_of, parse_facts};
use locomotion::motion::params::ManifestEntry;

fn manifest(dir: &Path, n: u64) -> PathBuf {
    let path = dir.join("manifest.jsonl");
    let lines: Vec<String> = (0..n)
        .map(|i| {
            let c = random_clip(100 + i);
            serde_json::to_string(&ManifestEntry {
                id: c.id.clone(),
                gif: Some(format!("clips/{}.gif", c.id)),
                frames_dir: None,
                params: c,
            })
            .unwrap()
        })
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_locomotion"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn describe_writes_three_kinds_and_paraphrases_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(dir.path(), 6);
    let (ok, _, err) = run(&["describe", m.to_str().unwrap(), "--paraphrases", "3"]);
    assert!(ok, "{err}");
    let out = dir.path().join("captions.jsonl");
    let first = std::fs::read_to_string(&out).unwrap();
    let recs = common::read_jsonl::<serde_json::Value>(&out);
    assert_eq!(recs.len(), 18);
    for (i, r) in recs.iter().enumerate() {
        let clip = random_clip(100 + (i / 3) as u64);
        let kind = CaptionKind::ALL[i % 3];
        assert_eq!(r["id"], clip.id.as_str());
        assert_eq!(r["kind"], kind.name());
        assert_eq!(r["caption"], describe(&clip, kind).as_str());
        let paras = r["paraphrases"].as_array().unwrap();
        if kind == CaptionKind::Motion {
            assert_eq!(paras.len(), 3);
            for p in paras {
                let text = p.as_str().unwrap();
                // These clips' names hold no motion words, so the plain parser suffices.
                if clip.objects.iter().all(|o| o.object.name != "left shoe") {
                    assert_eq!(parse_facts(text).unwrap(), facts_of(&clip), "{text}");
                }
            }
        } else {
            assert!(paras.is_empty());
        }
    }
    let (ok, _, err) = run(&["describe", m.to_str().unwrap(), "--paraphrases", "3"]);
    assert!(ok, "{err}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        first,
        "same seed, same file"
    );
    let other = dir.path().join("seed1.jsonl");
    let (ok, _, err) = run(&[
        "describe",
        m.to_str().unwrap(),
        "--paraphrases",
        "3",
        "--seed",
        "1",
        "--out",
        other.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert_ne!(
        std::fs::read_to_string(&other).unwrap(),
        first,
        "the seed changes the paraphrases"
    );
}

#[test]
fn the_library_writes_the_same_file_as_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(dir.path(), 4);
    let (ok, _, err) = run(&["describe", m.to_str().unwrap()]);
    assert!(ok, "{err}");
    let clips: Vec<_> = (0..4).map(|i| random_clip(100 + i)).collect();
    let refs: Vec<_> = clips.iter().collect();
    let lib = dir.path().join("lib.jsonl");
    let n = locomotion::caption::records::write_captions(&lib, &refs, 4, 0).unwrap();
    assert_eq!(n, 12);
    assert_eq!(
        std::fs::read_to_string(&lib).unwrap(),
        std::fs::read_to_string(dir.path().join("captions.jsonl")).unwrap()
    );
    assert!(!dir.path().join("lib.jsonl.tmp").exists());
}

#[test]
fn kind_selects_one_caption_kind() {
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(dir.path(), 3);
    let out = dir.path().join("spatial.jsonl");
    let (ok, _, err) = run(&[
        "describe",
        m.to_str().unwrap(),
        "--kind",
        "spatial",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let recs = common::read_jsonl::<serde_json::Value>(&out);
    assert_eq!(recs.len(), 3);
    assert!(recs.iter().all(
        |r| r["kind"] == "spatial" && r["caption"].as_str().unwrap().contains(" in front of ")
    ));
}

#[test]
fn stats_show_web_captions_noun_heavy_and_motion_captions_verb_heavy() {
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(dir.path(), 40);
    let (ok, out, err) = run(&["describe", m.to_str().unwrap(), "--stats"]);
    assert!(ok, "{err}");
    let row = |kind: &str| -> Vec<f64> {
        let line = out
            .lines()
            .find(|l| l.starts_with(kind))
            .unwrap_or_else(|| panic!("no {kind} row: {out}"));
        line.split_whitespace()
            .skip(1)
            .map(|x| x.parse().unwrap())
            .collect()
    };
    // captions, words, nouns, verbs, adjectives, adverbs
    let (motion, spatial, para) = (row("motion"), row("spatial"), row("paraphrase"));
    assert_eq!(motion[0], 40.0);
    assert_eq!(para[0], 160.0);
    assert_eq!(spatial[3], 0.0);
    assert!(
        spatial[2] / spatial[1] > 2.0 * motion[2] / motion[1],
        "{out}"
    );
    assert!(motion[3] > motion[2] && motion[5] > motion[2], "{out}");
    assert!(para[3] > para[2], "{out}");
}

#[test]
fn bad_inputs_give_one_line_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.jsonl");
    let (ok, _, err) = run(&["describe", missing.to_str().unwrap()]);
    assert!(!ok && err.contains("nope.jsonl"), "{err}");

    let m = manifest(dir.path(), 2);
    let mut text = std::fs::read_to_string(&m).unwrap();
    text.push_str("{\"id\": \"broken\"}\n");
    std::fs::write(&m, text).unwrap();
    let (ok, _, err) = run(&["describe", m.to_str().unwrap()]);
    assert!(!ok && err.contains("manifest.jsonl:3"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let m = manifest(dir.path(), 2);
    let lex = dir.path().join("lex.json");
    std::fs::write(
        &lex,
        locomotion::caption::lexicon::DEFAULT_LEXICON.replace("\"fish\"", "\"dragon\""),
    )
    .unwrap();
    let (ok, _, err) = run(&[
        "describe",
        m.to_str().unwrap(),
        "--lexicon",
        lex.to_str().unwrap(),
    ]);
    assert!(
        !ok && err.contains("lex.json") && err.contains("dragon"),
        "{err}"
    );
    let (ok, _, err) = run(&[
        "describe",
        m.to_str().unwrap(),
        "--llm-url",
        "http://127.0.0.1:9",
    ]);
    assert!(!ok && err.contains("--llm-model"), "{err}");
}
