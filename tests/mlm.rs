//! MLM masking: reproducible by seed, never touches specials or padding, and follows BERT's
//! 15 % / 80-10-10 recipe within stated statistical tolerances.

use locomotion::data::mlm::{IGNORE_INDEX, MlmConfig, mask_tokens};
use locomotion::data::tokenizer::{EncodedBatch, SpecialIds};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SPECIAL: SpecialIds = SpecialIds {
    pad: 0,
    unk: 1,
    cls: 2,
    sep: 3,
    mask: 4,
};
const VOCAB: usize = 1000;

/// `[CLS] words… [SEP] [PAD]…` rows with random lengths (0 to L−2 words) and random words.
fn batch(rows: usize, len: usize, seed: u64) -> EncodedBatch {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut b = EncodedBatch {
        batch: rows,
        max_len: len,
        ids: vec![],
        attention_mask: vec![],
        token_types: vec![0; rows * len],
        special_mask: vec![],
    };
    for _ in 0..rows {
        let words = rng.random_range(0..=len - 2);
        for t in 0..len {
            let (id, real, special) = match t {
                0 => (SPECIAL.cls, 1, 1),
                t if t <= words => (rng.random_range(5..VOCAB as u32), 1, 0),
                t if t == words + 1 => (SPECIAL.sep, 1, 1),
                _ => (SPECIAL.pad, 0, 1),
            };
            b.ids.push(id);
            b.attention_mask.push(real);
            b.special_mask.push(special);
        }
    }
    b
}

fn words_in_row(b: &EncodedBatch, r: usize) -> usize {
    (0..b.max_len)
        .filter(|&t| b.special_mask[r * b.max_len + t] == 0)
        .count()
}

#[test]
fn same_seed_same_masks_other_seed_other_masks() {
    let b = batch(64, 20, 1);
    let cfg = MlmConfig::default();
    let m1 = mask_tokens(&b, &SPECIAL, VOCAB, &cfg, 42).unwrap();
    let m2 = mask_tokens(&b, &SPECIAL, VOCAB, &cfg, 42).unwrap();
    let m3 = mask_tokens(&b, &SPECIAL, VOCAB, &cfg, 43).unwrap();
    assert_eq!(m1, m2);
    assert_ne!(m1.labels, m3.labels);
}

#[test]
fn specials_and_padding_are_never_chosen_and_every_caption_gets_a_target() {
    let b = batch(500, 12, 2);
    let m = mask_tokens(&b, &SPECIAL, VOCAB, &MlmConfig::default(), 7).unwrap();
    let l = b.max_len;
    for r in 0..b.batch {
        let mut targets = 0;
        for i in r * l..(r + 1) * l {
            if b.special_mask[i] == 1 {
                assert_eq!(
                    m.labels[i], IGNORE_INDEX,
                    "special/pad position {i} labelled"
                );
                assert_eq!(m.ids[i], b.ids[i], "special/pad position {i} changed");
            } else if m.labels[i] != IGNORE_INDEX {
                assert_eq!(m.labels[i], b.ids[i] as i32, "label is the original id");
                targets += 1;
            } else {
                assert_eq!(m.ids[i], b.ids[i], "unchosen position {i} changed");
            }
        }
        if words_in_row(&b, r) > 0 {
            assert!(targets >= 1, "row {r} has words but no MLM target");
        } else {
            assert_eq!(targets, 0);
        }
    }
}

/// Over ~70 000 maskable tokens: the chosen share matches its expectation (each of n words
/// with p = 0.15, plus one forced pick when none was chosen: E = 0.15·n + 0.85ⁿ per row), and
/// the chosen split 80/10/10; every bound is 5 standard deviations.
#[test]
fn masking_statistics_follow_bert() {
    let b = batch(8000, 20, 3);
    let m = mask_tokens(&b, &SPECIAL, VOCAB, &MlmConfig::default(), 11).unwrap();
    let expected: f64 = (0..b.batch)
        .map(|r| {
            let n = words_in_row(&b, r) as f64;
            if n == 0.0 {
                0.0
            } else {
                0.15 * n + 0.85f64.powf(n)
            }
        })
        .sum();
    let maskable: usize = (0..b.batch).map(|r| words_in_row(&b, r)).sum();
    let chosen: Vec<usize> = (0..m.labels.len())
        .filter(|&i| m.labels[i] != IGNORE_INDEX)
        .collect();
    let n = chosen.len() as f64;
    let sd = (maskable as f64 * 0.15 * 0.85).sqrt();
    assert!(
        (n - expected).abs() < 5.0 * sd,
        "chose {n}, expected {expected:.0} ± {:.0}",
        5.0 * sd
    );

    let (mut masked, mut random, mut kept) = (0.0, 0.0, 0.0);
    let mut random_ids = std::collections::HashSet::new();
    for &i in &chosen {
        let (now, orig) = (m.ids[i], b.ids[i]);
        if now == SPECIAL.mask {
            masked += 1.0;
        } else if now == orig {
            kept += 1.0; // includes the rare random draw of the same id (p = 1/995)
        } else {
            random += 1.0;
            assert!(
                !SPECIAL.all().contains(&now),
                "random replacement {now} is a special token"
            );
            assert!((now as usize) < VOCAB);
            random_ids.insert(now);
        }
    }
    for (what, got, p) in [
        ("[MASK]", masked, 0.8),
        ("random", random, 0.1),
        ("kept", kept, 0.1),
    ] {
        let sd = (n * p * (1.0 - p)).sqrt();
        assert!(
            (got - n * p).abs() < 5.0 * sd,
            "{what}: {got} of {n}, expected {:.0} ± {:.0}",
            n * p,
            5.0 * sd
        );
    }
    // ~1 000 random draws over 995 ids: a uniform sampler hits hundreds of distinct ids.
    assert!(
        random_ids.len() > 500,
        "random replacements hit only {} ids",
        random_ids.len()
    );
}

#[test]
fn bad_vocabularies_and_probabilities_are_errors() {
    let b = batch(4, 8, 4);
    let e = mask_tokens(&b, &SPECIAL, 5, &MlmConfig::default(), 0).unwrap_err();
    assert!(e.to_string().contains("only special tokens"), "{e}");
    let bad = MlmConfig {
        mask_prob: 0.95,
        random_prob: 0.1,
        ..MlmConfig::default()
    };
    let e = mask_tokens(&b, &SPECIAL, VOCAB, &bad, 0).unwrap_err();
    assert!(e.to_string().contains("MLM probabilities"), "{e}");
}
