//! The lexicon's two parts: the phrases pre-training captions may use, and the held-out ones
//! that only the `verbs-heldout` benchmark speaks.
//!
//! The rule, on the built-in lexicon: in every phrase list of [`HELDOUT_MIN_LIST`] or more
//! entries, the **last** entry is held out; shorter lists are training phrases only, and the
//! held-out part borrows them so that it can phrase every motion. The first entry, the
//! describer's canonical phrase, is therefore never held out. The built-in lexicon orders its
//! lists so that every held-out phrase carries a word no training phrase has ("leftward",
//! "unhurriedly", "shoots"). A user lexicon keeps the built-in held-out phrases out of
//! training; the phrases it adds are training phrases.

use std::collections::HashSet;
use std::sync::OnceLock;

use super::{CirclePhrases, DEFAULT_LEXICON, Lexicon, Verb, VerbPhrases};
use crate::caption::phrases::words;

/// Lists of the built-in lexicon this long or longer give their last entry to the held-out
/// part.
pub const HELDOUT_MIN_LIST: usize = 3;

/// Which part of a lexicon to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexiconPart {
    /// What pre-training captions (describer, paraphraser, `generate`) may say.
    Training,
    /// The held-out entries (training entries where a list holds none out).
    HeldOut,
    /// Every list without its first (canonical, template) entry where it has another, and
    /// without the phrases that contain it.
    NonCanonical,
}

/// An entry of a phrase list, as the held-out set names it.
trait Entry: Clone {
    fn key(&self) -> &str;
}

impl Entry for String {
    fn key(&self) -> &str {
        self
    }
}

impl Entry for Verb {
    fn key(&self) -> &str {
        &self.base
    }
}

/// The built-in lexicon's held-out entries (verbs by their base form), by the rule above.
fn builtin_heldout() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        let lex = Lexicon::from_json(DEFAULT_LEXICON, "built-in lexicon")
            .expect("the built-in lexicon is valid");
        let mut set = HashSet::new();
        lex.each_list(&mut |keys| {
            if keys.len() >= HELDOUT_MIN_LIST {
                set.insert(keys[keys.len() - 1].clone());
            }
        });
        set
    })
}

/// The held-out entries of `list`.
fn held<T: Entry>(list: &[T]) -> Vec<T> {
    let set = builtin_heldout();
    list.iter()
        .filter(|e| set.contains(e.key()))
        .cloned()
        .collect()
}

fn keep<T: Entry>(list: &[T], part: LexiconPart) -> Vec<T> {
    let h = held(list);
    let (train, out): (Vec<T>, Vec<T>) = list
        .iter()
        .cloned()
        .partition(|e| !h.iter().any(|x| x.key() == e.key()));
    match part {
        LexiconPart::Training if !train.is_empty() => train,
        LexiconPart::HeldOut if !out.is_empty() => out,
        LexiconPart::NonCanonical if list.len() >= 2 => list[1..].to_vec(),
        _ => list.to_vec(),
    }
}

/// `list` without its first entry and without the entries that contain it ("diagonally up
/// and to the left" says the template's "up and to the left"), unless nothing would be left.
fn non_canonical(list: &[String]) -> Vec<String> {
    let Some(first) = list.first().map(|f| words(f)) else {
        return Vec::new();
    };
    let rest: Vec<String> = list[1..]
        .iter()
        .filter(|p| !words(p).windows(first.len()).any(|w| w == first.as_slice()))
        .cloned()
        .collect();
    if rest.is_empty() {
        keep(list, LexiconPart::NonCanonical)
    } else {
        rest
    }
}

impl Lexicon {
    /// The lexicon with every phrase list cut to `part` (word classes are kept whole).
    pub fn part(&self, part: LexiconPart) -> Lexicon {
        let s = |l: &[String]| match part {
            LexiconPart::NonCanonical => non_canonical(l),
            _ => keep(l, part),
        };
        let v = |l: &[Verb]| keep(l, part);
        let vp = |p: &VerbPhrases| VerbPhrases {
            third: s(&p.third),
            gerund: s(&p.gerund),
        };
        Lexicon {
            category_verbs: self
                .category_verbs
                .iter()
                .map(|(k, l)| (*k, v(l)))
                .collect(),
            generic_verbs: v(&self.generic_verbs),
            speed_verbs: self.speed_verbs.iter().map(|(k, l)| (*k, v(l))).collect(),
            rotation_verbs: v(&self.rotation_verbs),
            speed_adverbs: self.speed_adverbs.iter().map(|(k, l)| (*k, s(l))).collect(),
            directions: self.directions.iter().map(|(k, l)| (*k, s(l))).collect(),
            clockwise: s(&self.clockwise),
            counter_clockwise: s(&self.counter_clockwise),
            circle: CirclePhrases {
                clockwise: s(&self.circle.clockwise),
                counter_clockwise: s(&self.circle.counter_clockwise),
            },
            curve_verbs: v(&self.curve_verbs),
            turn_left: s(&self.turn_left),
            turn_right: s(&self.turn_right),
            still: s(&self.still),
            grow: vp(&self.grow),
            shrink: vp(&self.shrink),
            accelerate: s(&self.accelerate),
            decelerate: s(&self.decelerate),
            then: s(&self.then),
            word_classes: self.word_classes.clone(),
        }
    }

    /// Call `f` with the entries of every phrase list (verbs by their base form).
    fn each_list(&self, f: &mut dyn FnMut(&[String])) {
        let bases = |l: &[Verb]| l.iter().map(|v| v.base.clone()).collect::<Vec<_>>();
        for l in self
            .category_verbs
            .values()
            .chain(self.speed_verbs.values())
        {
            f(&bases(l));
        }
        for l in [&self.generic_verbs, &self.rotation_verbs, &self.curve_verbs] {
            f(&bases(l));
        }
        for l in self.string_lists() {
            f(l);
        }
    }

    fn string_lists(&self) -> Vec<&[String]> {
        let mut lists: Vec<&[String]> = vec![
            &self.clockwise,
            &self.counter_clockwise,
            &self.circle.clockwise,
            &self.circle.counter_clockwise,
            &self.turn_left,
            &self.turn_right,
            &self.still,
            &self.grow.third,
            &self.grow.gerund,
            &self.shrink.third,
            &self.shrink.gerund,
            &self.accelerate,
            &self.decelerate,
            &self.then,
        ];
        lists.extend(self.speed_adverbs.values().map(Vec::as_slice));
        lists.extend(self.directions.values().map(Vec::as_slice));
        lists
    }

    /// Every held-out phrase, verbs in all three forms ("shoot", "shoots", "shooting"):
    /// what no pre-training caption may contain.
    pub fn heldout_phrases(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut verbs = |l: &[Verb]| {
            for v in held(l) {
                out.extend([v.base, v.third, v.gerund]);
            }
        };
        for l in self.category_verbs.values() {
            verbs(l);
        }
        verbs(&self.generic_verbs);
        for l in self.speed_verbs.values() {
            verbs(l);
        }
        verbs(&self.rotation_verbs);
        verbs(&self.curve_verbs);
        for l in self.string_lists() {
            out.extend(held(l));
        }
        out.sort();
        out.dedup();
        out
    }
}

/// Finds held-out phrases in a text, word by word (so "shoots" is found, "shootout" is not).
#[derive(Debug, Clone)]
pub struct HeldOutPhrases {
    phrases: Vec<Vec<String>>,
}

impl HeldOutPhrases {
    /// The held-out phrases of `lex`.
    pub fn new(lex: &Lexicon) -> HeldOutPhrases {
        HeldOutPhrases {
            phrases: lex.heldout_phrases().iter().map(|p| words(p)).collect(),
        }
    }

    /// The first held-out phrase `text` contains, if any.
    pub fn find(&self, text: &str) -> Option<String> {
        let w = words(text);
        self.phrases
            .iter()
            .find(|p| w.windows(p.len()).any(|win| win == p.as_slice()))
            .map(|p| p.join(" "))
    }
}
