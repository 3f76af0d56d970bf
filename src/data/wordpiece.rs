//! A deterministic WordPiece vocabulary trainer (BERT's recipe as the `tokenizers` crate runs
//! it: start from characters, `##`-prefixed inside words, and merge the most frequent adjacent
//! pair until the vocabulary is full).
//!
//! The `tokenizers` crate's own trainer breaks ties between equally frequent pairs by hash-map
//! order, which changes from run to run; here ties go to the lexicographically smallest pair,
//! so the same captions always give the same vocabulary and ids.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};

/// Train on word counts; returns the vocabulary in id order: `specials`, then the alphabet
/// (sorted), then merged pieces in merge order. The alphabet is kept whole even when it alone
/// exceeds `vocab_size`, so that no caption character becomes `[UNK]`.
pub fn train_wordpiece(
    word_counts: &BTreeMap<String, u64>,
    specials: &[&str],
    vocab_size: usize,
    show_progress: bool,
) -> Vec<String> {
    let mut vocab: Vec<String> = specials.iter().map(|s| s.to_string()).collect();
    let alphabet: BTreeSet<String> = word_counts
        .keys()
        .flat_map(|w| {
            w.chars().enumerate().map(|(i, c)| {
                if i == 0 {
                    c.to_string()
                } else {
                    format!("##{c}")
                }
            })
        })
        .collect();
    vocab.extend(
        alphabet
            .iter()
            .filter(|a| !specials.contains(&a.as_str()))
            .cloned(),
    );

    // Symbols by id; words as symbol-id sequences with their counts.
    let mut symbols: Vec<String> = Vec::new();
    let mut symbol_id: HashMap<String, u32> = HashMap::new();
    let mut intern = |s: String, symbols: &mut Vec<String>| -> u32 {
        *symbol_id.entry(s.clone()).or_insert_with(|| {
            symbols.push(s);
            (symbols.len() - 1) as u32
        })
    };
    let mut words: Vec<(Vec<u32>, u64)> = word_counts
        .iter()
        .map(|(w, &n)| {
            let syms = w
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    let s = if i == 0 {
                        c.to_string()
                    } else {
                        format!("##{c}")
                    };
                    intern(s, &mut symbols)
                })
                .collect();
            (syms, n)
        })
        .collect();
    let mut in_vocab: BTreeSet<String> = vocab.iter().cloned().collect();

    let merges = vocab_size.saturating_sub(vocab.len()) as u64;
    let bar = crate::util::progress::bar(show_progress, merges, "tokenizer", "merges");
    // Pair counts are updated incrementally (only words holding the merged pair change), and
    // a max-heap with lazy deletion finds the best pair; stale entries are re-pushed.
    let mut counts: HashMap<Pair, u64> = HashMap::new();
    let mut holders: HashMap<Pair, HashSet<usize>> = HashMap::new();
    for (wi, (syms, n)) in words.iter().enumerate() {
        for w in syms.windows(2) {
            *counts.entry((w[0], w[1])).or_insert(0) += n;
            holders.entry((w[0], w[1])).or_default().insert(wi);
        }
    }
    let key = |p: Pair, c: u64, symbols: &[String]| HeapEntry {
        count: c,
        name: Reverse((symbols[p.0 as usize].clone(), symbols[p.1 as usize].clone())),
        pair: p,
    };
    let mut heap: BinaryHeap<HeapEntry> =
        counts.iter().map(|(&p, &c)| key(p, c, &symbols)).collect();
    while vocab.len() < vocab_size {
        let Some(top) = heap.pop() else { break };
        let current = counts.get(&top.pair).copied().unwrap_or(0);
        if current != top.count {
            if current > 0 {
                heap.push(key(top.pair, current, &symbols));
            }
            continue;
        }
        let best = top.pair;
        let (a, b) = &top.name.0;
        let merged = format!("{a}{}", b.strip_prefix("##").unwrap_or(b));
        let merged_id = intern(merged.clone(), &mut symbols);
        let mut touched: HashSet<Pair> = HashSet::new();
        for wi in holders.remove(&best).unwrap_or_default() {
            let (syms, n) = &mut words[wi];
            for w in syms.windows(2) {
                *counts.get_mut(&(w[0], w[1])).expect("counted") -= *n;
            }
            merge_pair(syms, best, merged_id);
            for w in syms.windows(2) {
                let p = (w[0], w[1]);
                *counts.entry(p).or_insert(0) += *n;
                holders.entry(p).or_default().insert(wi);
                touched.insert(p);
            }
        }
        counts.remove(&best);
        for p in touched {
            if p != best && counts[&p] > 0 {
                heap.push(key(p, counts[&p], &symbols));
            }
        }
        if in_vocab.insert(merged.clone()) {
            vocab.push(merged);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    vocab
}

type Pair = (u32, u32);

/// A candidate merge: most frequent first, then the lexicographically smallest pair.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct HeapEntry {
    count: u64,
    name: Reverse<(String, String)>,
    pair: Pair,
}

/// Replace each non-overlapping occurrence of `pair`, left to right, by `merged`.
fn merge_pair(syms: &mut Vec<u32>, pair: (u32, u32), merged: u32) {
    let mut out = Vec::with_capacity(syms.len());
    let mut i = 0;
    while i < syms.len() {
        if i + 1 < syms.len() && (syms[i], syms[i + 1]) == pair {
            out.push(merged);
            i += 2;
        } else {
            out.push(syms[i]);
            i += 1;
        }
    }
    *syms = out;
}
