//! The WordPiece tokenizer: training on captions, fixed-length batches, save/load, the CLI,
//! and one-line errors for bad files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use locomotion::data::tokenizer::{SPECIAL_TOKENS, TextTokenizer, read_corpus};
use locomotion::data::wordpiece::train_wordpiece;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Seeded motion captions in the describer's style.
fn captions(n: usize, seed: u64) -> Vec<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let objects = ["ball", "cat", "car", "bird", "box", "leaf"];
    let verbs = ["moves", "rolls", "slides", "drifts", "jumps", "turns"];
    let dirs = [
        "left",
        "right",
        "up",
        "down",
        "up and to the left",
        "down and to the right",
    ];
    let speeds = ["slowly", "quickly", "steadily"];
    (0..n)
        .map(|_| {
            let pick =
                |r: &mut ChaCha8Rng, xs: &[&str]| xs[r.random_range(0..xs.len())].to_string();
            format!(
                "The {} {} {} to the {}, then it Rotates clockwise.",
                pick(&mut rng, &objects),
                pick(&mut rng, &verbs),
                pick(&mut rng, &speeds),
                pick(&mut rng, &dirs)
            )
        })
        .collect()
}

fn trained(max_len: usize) -> TextTokenizer {
    TextTokenizer::train(&captions(300, 1), 200, max_len, false).expect("train")
}

#[test]
fn trained_vocabulary_has_bert_specials_first_and_respects_the_size() {
    let tok = trained(16);
    for (i, s) in SPECIAL_TOKENS.iter().enumerate() {
        assert_eq!(tok.token_to_id(s), Some(i as u32), "{s}");
    }
    let v = tok.vocab_size();
    assert!(v > SPECIAL_TOKENS.len() + 26 && v <= 200, "vocab size {v}");
    // Frequent caption words become whole word pieces, lower-cased.
    assert_eq!(tok.tokens("Rolls LEFT").unwrap(), ["rolls", "left"]);
}

#[test]
fn batches_are_cls_text_sep_then_padding_row_major() {
    let tok = trained(12);
    let ids = tok.special_ids();
    let texts = [
        "the ball rolls left.",
        "",
        "the cat moves quickly to the right, then it rotates clockwise.",
    ];
    let b = tok.encode_batch(&texts).unwrap();
    assert_eq!((b.batch, b.max_len), (3, 12));
    for arr in [&b.ids, &b.attention_mask, &b.token_types, &b.special_mask] {
        assert_eq!(arr.len(), 36);
    }
    // Row 0: [CLS] the ball rolls left . [SEP] then 5 pads.
    let row0 = b.row(0);
    assert_eq!(row0[0], ids.cls);
    assert_eq!(row0[6], ids.sep);
    assert!(row0[7..].iter().all(|&t| t == ids.pad));
    assert_eq!(
        &b.attention_mask[..12],
        &[1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    );
    assert_eq!(&b.special_mask[..7], &[1, 0, 0, 0, 0, 0, 1]);
    assert_eq!(tok.decode(row0).unwrap(), "the ball rolls left.");
    // An empty caption is just [CLS] [SEP].
    assert_eq!(&b.row(1)[..3], &[ids.cls, ids.sep, ids.pad]);
    // A long caption is truncated, still ending in [SEP], with no padding.
    let row2 = b.row(2);
    assert_eq!((row2[0], row2[11]), (ids.cls, ids.sep));
    assert!(b.attention_mask[24..].iter().all(|&m| m == 1));
    assert!(b.token_types.iter().all(|&t| t == 0));
}

#[test]
fn unseen_characters_become_unk() {
    let tok = trained(8);
    let b = tok.encode_batch(&["ball 日"]).unwrap();
    assert_eq!(&b.row(0)[..4], &[2, tok.token_to_id("ball").unwrap(), 1, 3]);
}

#[test]
fn saved_tokenizer_reloads_with_identical_encodings_at_any_length() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokenizer.json");
    let tok = trained(10);
    tok.save(&path).unwrap();
    let again = TextTokenizer::load(&path, 10).unwrap();
    let texts = captions(20, 7);
    assert_eq!(
        tok.encode_batch(&texts).unwrap(),
        again.encode_batch(&texts).unwrap()
    );
    let longer = TextTokenizer::load(&path, 24).unwrap();
    assert_eq!(longer.encode_batch(&texts).unwrap().max_len, 24);
    // No temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn same_corpus_trains_the_same_vocabulary() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    trained(8).save(&a).unwrap();
    trained(8).save(&b).unwrap();
    let same = std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap();
    assert!(
        same,
        "two trainings on the same captions wrote different tokenizer.json files"
    );
}

#[test]
fn bad_tokenizer_files_give_one_line_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let e = format!("{:#}", TextTokenizer::load(&missing, 8).unwrap_err());
    assert!(e.contains("nope.json") && e.contains("not found"), "{e}");
    let corrupt = dir.path().join("corrupt.json");
    std::fs::write(&corrupt, "{\"model\": 3").unwrap();
    let e = format!("{:#}", TextTokenizer::load(&corrupt, 8).unwrap_err());
    assert!(
        e.contains("corrupt.json") && e.contains("not a valid tokenizer.json"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
    let e = format!(
        "{:#}",
        TextTokenizer::train(&["a b"], 3, 8, false).unwrap_err()
    );
    assert!(e.contains("--vocab-size"), "{e}");
}

#[test]
fn jsonl_corpus_reads_captions_and_paraphrases_and_names_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("captions.jsonl");
    std::fs::write(
        &p,
        "{\"caption\": \"a ball moves left\", \"paraphrases\": [\"a ball rolls left\"]}\n\n{\"caption\": \"a cat jumps\"}\n",
    )
    .unwrap();
    assert_eq!(
        read_corpus(&p).unwrap(),
        ["a ball moves left", "a ball rolls left", "a cat jumps"]
    );
    std::fs::write(&p, "{\"caption\": \"ok\"}\n{\"text\": \"no caption\"}\n").unwrap();
    let e = format!("{:#}", read_corpus(&p).unwrap_err());
    assert!(
        e.contains("captions.jsonl line 2") && e.contains("\"caption\""),
        "{e}"
    );
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "\n\n").unwrap();
    let e = format!("{:#}", read_corpus(&empty).unwrap_err());
    assert!(e.contains("empty.txt") && e.contains("no captions"), "{e}");
}

fn locomotion(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_locomotion"))
        .args(args)
        .output()
        .expect("run locomotion");
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), s(&out.stdout), s(&out.stderr))
}

#[test]
fn cli_tokenizer_train_writes_a_loadable_tokenizer() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("captions.txt");
    std::fs::write(&input, captions(100, 3).join("\n")).unwrap();
    let out = dir.path().join("tok.json");
    let p = |x: &Path| x.to_str().unwrap().to_string();
    let (ok, stdout, stderr) = locomotion(&[
        "tokenizer",
        "train",
        "--input",
        &p(&input),
        "--vocab-size",
        "120",
        "--out",
        &p(&out),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("tok.json"), "{stdout}");
    let tok = TextTokenizer::load(&out, 16).unwrap();
    assert!(tok.vocab_size() <= 120);

    let (ok, _, stderr) = locomotion(&["tokenizer", "train", "--input", "/no/such/captions.txt"]);
    assert!(!ok);
    let line = stderr.trim();
    assert!(
        line.starts_with("error:") && line.contains("/no/such/captions.txt"),
        "{line}"
    );
    assert_eq!(line.lines().count(), 1, "{line}");
}

/// The plain definition: recount every adjacent pair each round, merge the most frequent
/// (ties: lexicographically smallest), until the vocabulary is full or nothing is left.
fn naive_wordpiece(counts: &BTreeMap<String, u64>, vocab_size: usize) -> Vec<String> {
    let piece = |i: usize, c: char| {
        if i == 0 {
            c.to_string()
        } else {
            format!("##{c}")
        }
    };
    let mut vocab: Vec<String> = SPECIAL_TOKENS.iter().map(|s| s.to_string()).collect();
    let alphabet: BTreeSet<String> = counts
        .keys()
        .flat_map(|w| {
            w.chars()
                .enumerate()
                .map(|(i, c)| piece(i, c))
                .collect::<Vec<_>>()
        })
        .collect();
    vocab.extend(alphabet);
    let mut words: Vec<(Vec<String>, u64)> = counts
        .iter()
        .map(|(w, &n)| (w.chars().enumerate().map(|(i, c)| piece(i, c)).collect(), n))
        .collect();
    while vocab.len() < vocab_size {
        let mut pairs: BTreeMap<(String, String), u64> = BTreeMap::new();
        for (syms, n) in &words {
            for w in syms.windows(2) {
                *pairs.entry((w[0].clone(), w[1].clone())).or_insert(0) += n;
            }
        }
        // BTreeMap iterates smallest first; keep the first of the highest count.
        let Some(best) = pairs
            .iter()
            .fold(None::<(&(String, String), u64)>, |acc, (p, &c)| match acc {
                Some((_, bc)) if bc >= c => acc,
                _ => Some((p, c)),
            })
        else {
            break;
        };
        let (a, b) = best.0.clone();
        let merged = format!("{a}{}", &b[2..]);
        for (syms, _) in words.iter_mut() {
            let mut out = vec![];
            let mut i = 0;
            while i < syms.len() {
                if i + 1 < syms.len() && syms[i] == a && syms[i + 1] == b {
                    out.push(merged.clone());
                    i += 2;
                } else {
                    out.push(syms[i].clone());
                    i += 1;
                }
            }
            *syms = out;
        }
        if !vocab.contains(&merged) {
            vocab.push(merged);
        }
    }
    vocab
}

#[test]
fn fast_wordpiece_trainer_matches_the_plain_definition() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut counts = BTreeMap::new();
    for _ in 0..300 {
        let len = rng.random_range(1..8);
        // A small alphabet so that pairs repeat and frequency ties are common.
        let w: String = (0..len)
            .map(|_| ['a', 'b', 'c', 'd', 'e'][rng.random_range(0..5)])
            .collect();
        *counts.entry(w).or_insert(0u64) += rng.random_range(1..4);
    }
    for size in [12, 40, 150, 10_000] {
        let fast = train_wordpiece(&counts, &SPECIAL_TOKENS, size, false);
        assert_eq!(fast, naive_wordpiece(&counts, size), "vocab size {size}");
    }
}
