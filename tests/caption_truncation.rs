//! Captions longer than the model reads: the tokenizer counts the ones it cuts and the
//! longest one's length, and a run says so in its first lines, logs the share in
//! metrics.jsonl and refuses a large share unless `--allow-truncated-captions`.

use std::process::Command;

use locomotion::data::mlm::MlmConfig;
use locomotion::data::tokenizer::TextTokenizer;
use locomotion::model::config::{ModelConfig, PRESETS};
use locomotion::motion::sample_clip;
use locomotion::train::data::{CaptionMix, LibrarySplit, TextPipeline};
use locomotion::train::motion_options::generation;
use locomotion::train::setup::train_tokenizer;

/// `tok` with room for any caption, so a caption's whole length can be read off it.
fn unbounded(tok: &TextTokenizer) -> TextTokenizer {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokenizer.json");
    tok.save(&path).unwrap();
    TextTokenizer::load(&path, 4096).unwrap()
}

#[test]
fn the_tokenizer_counts_cut_texts_and_the_longest_whole_length() {
    let corpus = [
        "a red ball rolls left",
        "the blue cube slides up and then right",
    ];
    let tok = TextTokenizer::train(&corpus, 64, 8, false).unwrap();
    let whole = unbounded(&tok);
    let texts = [
        "a red ball",
        "the blue cube slides up and then right and then left",
        "a red ball rolls left",
    ];
    let lens: Vec<usize> = texts
        .iter()
        .map(|t| whole.tokens(t).unwrap().len() + 2)
        .collect();
    let (batch, t) = tok.encode_batch_counted(&texts).unwrap();
    assert_eq!(batch.max_len, 8);
    assert_eq!(t.texts, 3);
    assert_eq!(t.truncated, lens.iter().filter(|&&n| n > 8).count() as u64);
    assert_eq!(t.truncated, 1, "lengths {lens:?}");
    assert_eq!(t.longest, *lens.iter().max().unwrap());
    assert_eq!(t.max_len, 8);
    assert!((t.share() - 1.0 / 3.0).abs() < 1e-12);
    // A text of exactly max_len tokens is whole, not cut.
    let exact: Vec<&str> = texts
        .iter()
        .zip(&lens)
        .filter(|(_, n)| **n <= 8)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(tok.truncation(&exact).unwrap().truncated, 0);
}

/// The share of each preset's captions (256 training clips, each caption kind) cut to the
/// text length a run gives the tokenizer, checked against each caption's whole length.
#[test]
fn each_presets_default_captions_are_measured_against_its_text_length() {
    for preset in PRESETS {
        let cfg = ModelConfig::preset(preset).unwrap();
        let tok = train_tokenizer(&cfg, 0).unwrap();
        let whole = unbounded(&tok);
        let g = generation(&cfg);
        let split = LibrarySplit::builtin(&g);
        let clips: Vec<_> = (0..256)
            .map(|i| sample_clip(0, i, &g, &split.train_objects, &split.train_backgrounds))
            .collect();
        let seeds: Vec<u64> = clips.iter().map(|c| c.seed).collect();
        for kind in ["motion", "spatial", "template", "paraphrase"] {
            let text = TextPipeline::new(
                tok.clone(),
                CaptionMix::parse(kind).unwrap(),
                MlmConfig::default(),
            );
            let (_, captions) = text.captions(&clips, &seeds);
            let t = tok.truncation(&captions).unwrap();
            let lens: Vec<usize> = captions
                .iter()
                .map(|c| whole.tokens(c).unwrap().len() + 2)
                .collect();
            println!(
                "{preset} ({} tokens) {kind}: {} of {} cut ({:.1} %), longest {} tokens",
                tok.max_len(),
                t.truncated,
                t.texts,
                100.0 * t.share(),
                t.longest
            );
            let cut = lens.iter().filter(|&&n| n > tok.max_len()).count() as u64;
            assert_eq!(t.truncated, cut, "{preset} {kind}");
            assert_eq!(t.longest, *lens.iter().max().unwrap(), "{preset} {kind}");
        }
    }
}

/// A VTC-only pre-training of `steps` steps of batch `batch`, logging every step.
fn pretrain(out: &std::path::Path, steps: u32, batch: u32, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_locomotion"))
        .args(["pretrain", "--log-every", "1", "--weights", "1,0,0"])
        .args(["--steps", &steps.to_string(), "--batch", &batch.to_string()])
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

/// A `generate --captions` folder of 8 clips whose first 6 motion captions are rewritten to
/// run past any text length (each the clip's caption 40 times over).
fn folder_with_long_captions(dir: &std::path::Path) -> std::path::PathBuf {
    let data = dir.join("data");
    let o = Command::new(env!("CARGO_BIN_EXE_locomotion"))
        .args(["generate", "--clips", "8", "--size", "32", "--frames", "8"])
        .args(["--captions", "--out"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let path = data.join("captions.jsonl");
    let mut long = 0;
    let lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut r: serde_json::Value = serde_json::from_str(l).unwrap();
            if r["kind"] == "motion" && long < 6 {
                long += 1;
                let c = r["caption"].as_str().unwrap().to_string();
                r["caption"] = vec![c; 40].join(" ").into();
            }
            r.to_string()
        })
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    data
}

#[test]
fn a_run_whose_captions_are_often_cut_is_refused_unless_allowed_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = folder_with_long_captions(dir.path());
    let data = data.to_str().unwrap();
    let refused = dir.path().join("refused");
    let o = pretrain(&refused, 1, 4, &["--data", data, "--quiet"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(!e.contains("panicked"), "{e}");
    let line = e.lines().find(|l| l.starts_with("error: ")).unwrap();
    for w in [
        "6 of 8 captions",
        "tokens the model reads",
        "the longest is",
        "--allow-truncated-captions",
    ] {
        assert!(line.contains(w), "'{w}' missing from: {line}");
    }
    assert!(!refused.exists(), "a refused run leaves no --out");

    let out = dir.path().join("allowed");
    let o = pretrain(&out, 2, 4, &["--data", data, "--allow-truncated-captions"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{e}");
    // The warning comes before training: the first line the run writes to stderr.
    let first = e.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    assert!(
        first.starts_with("warning: ")
            && first.contains("6 of 8 captions")
            && first.contains("the longest is"),
        "{e}"
    );
    // Two batches of 4 are the 8 clips once: 6 of the 8 captions trained on were cut.
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(metrics.lines().last().unwrap()).unwrap();
    assert_eq!(last["truncated_share"].as_f64(), Some(0.75), "{metrics}");
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(said.contains("6 of the 8 captions trained on"), "{said}");

    // Motion captions made online fit the tiny preset: no warning, a share of 0.
    let fits = dir.path().join("fits");
    let o = pretrain(&fits, 1, 2, &["--captions", "motion", "--quiet"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && !e.contains("warning: "), "{e}");
    let metrics = std::fs::read_to_string(fits.join("metrics.jsonl")).unwrap();
    assert!(metrics.contains("\"truncated_share\":0.0"), "{metrics}");
}
