//! Caption statistics: per caption kind, mean words and mean nouns, verbs, adjectives and
//! adverbs per caption. Word classes come from the lexicon (every verb form, speed adverb,
//! direction word) and from the clip's own names (head noun + adjectives). The paper's
//! argument — web captions are noun-heavy, motion captions verb- and adverb-heavy — shows
//! up directly in these numbers.

use std::collections::HashSet;

use super::facts::words;
use super::lexicon::Lexicon;

/// A word's class, as far as the statistics care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordClass {
    /// "star", "texture".
    Noun,
    /// "moves", "rolling".
    Verb,
    /// "red", "sandy".
    Adjective,
    /// "quickly", "up", "clockwise".
    Adverb,
    /// Articles, prepositions, conjunctions.
    Other,
}

/// Classifies words with the lexicon's lists.
#[derive(Debug, Clone)]
pub struct WordClassifier {
    nouns: HashSet<String>,
    verbs: HashSet<String>,
    adjectives: HashSet<String>,
    adverbs: HashSet<String>,
}

impl WordClassifier {
    /// Collect the word classes a lexicon implies.
    pub fn new(lex: &Lexicon) -> WordClassifier {
        let set = |l: &[String]| l.iter().map(|w| w.to_lowercase()).collect::<HashSet<_>>();
        let wc = &lex.word_classes;
        let (nouns, mut verbs, adjectives, mut adverbs) = (
            set(&wc.nouns),
            set(&wc.verbs),
            set(&wc.adjectives),
            set(&wc.adverbs),
        );
        let all_verbs = lex
            .category_verbs
            .values()
            .chain(lex.speed_verbs.values())
            .flatten()
            .chain(&lex.generic_verbs)
            .chain(&lex.rotation_verbs)
            .chain(&lex.curve_verbs);
        for v in all_verbs {
            verbs.extend([v.base.clone(), v.third.clone(), v.gerund.clone()]);
        }
        // The first word of a verb phrase ("stays still", "speeding up", "getting bigger").
        let phrases = lex
            .still
            .iter()
            .chain(&lex.grow.third)
            .chain(&lex.grow.gerund)
            .chain(&lex.shrink.third)
            .chain(&lex.shrink.gerund)
            .chain(&lex.accelerate)
            .chain(&lex.decelerate);
        verbs.extend(phrases.filter_map(|p| p.split(' ').next().map(str::to_string)));
        for a in lex
            .speed_adverbs
            .values()
            .flatten()
            .filter(|a| !a.contains(' '))
        {
            adverbs.insert(a.clone());
        }
        WordClassifier {
            nouns,
            verbs,
            adjectives,
            adverbs,
        }
    }

    /// The class of `word`; `names` are the clip's noun phrases ("red star", "sandy texture"),
    /// whose last word is a noun and the rest adjectives.
    pub fn class(&self, word: &str, names: &[Vec<String>]) -> WordClass {
        for n in names {
            if n.last().is_some_and(|h| h == word) {
                return WordClass::Noun;
            }
            if n.iter().any(|w| w == word) {
                return WordClass::Adjective;
            }
        }
        if self.nouns.contains(word) {
            WordClass::Noun
        } else if self.verbs.contains(word) {
            WordClass::Verb
        } else if self.adjectives.contains(word) {
            WordClass::Adjective
        } else if self.adverbs.contains(word) || (word.len() > 4 && word.ends_with("ly")) {
            WordClass::Adverb
        } else {
            WordClass::Other
        }
    }
}

/// Running totals for one caption kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaptionStats {
    /// Captions counted.
    pub captions: usize,
    /// Total words.
    pub words: usize,
    /// Total nouns.
    pub nouns: usize,
    /// Total verbs.
    pub verbs: usize,
    /// Total adjectives.
    pub adjectives: usize,
    /// Total adverbs.
    pub adverbs: usize,
}

impl CaptionStats {
    /// Count one caption; `names` are the noun phrases of its clip.
    pub fn add(&mut self, wc: &WordClassifier, caption: &str, names: &[&str]) {
        let names: Vec<Vec<String>> = names.iter().map(|n| words(n)).collect();
        self.captions += 1;
        for w in words(caption) {
            self.words += 1;
            match wc.class(&w, &names) {
                WordClass::Noun => self.nouns += 1,
                WordClass::Verb => self.verbs += 1,
                WordClass::Adjective => self.adjectives += 1,
                WordClass::Adverb => self.adverbs += 1,
                WordClass::Other => {}
            }
        }
    }

    fn mean(&self, n: usize) -> f64 {
        n as f64 / self.captions.max(1) as f64
    }

    /// Per-caption means: (words, nouns, verbs, adjectives, adverbs).
    pub fn means(&self) -> [f64; 5] {
        [
            self.mean(self.words),
            self.mean(self.nouns),
            self.mean(self.verbs),
            self.mean(self.adjectives),
            self.mean(self.adverbs),
        ]
    }
}

/// A text table of the statistics, one row per kind.
pub fn stats_table(rows: &[(&str, &CaptionStats)]) -> String {
    let mut s = format!(
        "{:<12} {:>8} {:>7} {:>7} {:>7} {:>11} {:>8}\n",
        "kind", "captions", "words", "nouns", "verbs", "adjectives", "adverbs"
    );
    for (kind, st) in rows {
        let m = st.means();
        s.push_str(&format!(
            "{:<12} {:>8} {:>7.2} {:>7.2} {:>7.2} {:>11.2} {:>8.2}\n",
            kind, st.captions, m[0], m[1], m[2], m[3], m[4]
        ));
    }
    s
}
