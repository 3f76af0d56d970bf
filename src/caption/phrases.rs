//! The phrase table the fact parser reads captions with: every phrase a lexicon lists, with
//! its meaning ([`Cue`]), indexed by first word. The lexicon builds it (and checks it is
//! unambiguous); the fact parser matches captions against it.

use std::collections::HashMap;

use anyhow::{Result, bail};

use crate::motion::params::{Direction, Easing, Rotation, ScaleChange, Speed, Turn};

/// A recognised phrase's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    /// A direction phrase.
    Dir(Direction),
    /// A speed adverb (wins over a speed verb).
    Speed(Speed),
    /// A verb that implies a speed ("dashes").
    SpeedVerb(Speed),
    /// Clockwise / counter-clockwise rotation.
    Rot(Rotation),
    /// Moving in a circle.
    Circle(Turn),
    /// Curving left or right.
    Curve(Turn),
    /// Not translating.
    Still,
    /// Growing or shrinking.
    Scale(ScaleChange),
    /// Speeding up or slowing down.
    Ease(Easing),
    /// A boundary between segments.
    Then,
}

/// Words that always separate segments, whatever the lexicon says (the paraphraser's
/// "before …ing" structure and the describer's "and finally" rely on them).
pub const STRUCTURAL_CONNECTORS: [&str; 2] = ["before", "finally"];

/// Every phrase the parser knows, indexed by first word, longest first.
#[derive(Debug, Clone)]
pub struct PhraseTable {
    by_first: HashMap<String, Vec<(Vec<String>, Cue)>>,
}

/// Lowercase words of a text: letters, digits, hyphens and apostrophes; all else separates.
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

impl PhraseTable {
    /// The table of `phrases` (each with its meaning).
    pub fn from_phrases(all: Vec<(String, Cue)>) -> PhraseTable {
        let mut by_first: HashMap<String, Vec<(Vec<String>, Cue)>> = HashMap::new();
        for (p, cue) in all {
            let w = words(&p);
            by_first.entry(w[0].clone()).or_default().push((w, cue));
        }
        for list in by_first.values_mut() {
            list.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
        }
        PhraseTable { by_first }
    }

    /// A phrase that means two different things makes captions unparseable: name it.
    pub fn check_unambiguous(&self) -> Result<()> {
        for list in self.by_first.values() {
            for (i, (a, ca)) in list.iter().enumerate() {
                for (b, cb) in &list[i + 1..] {
                    if a == b && ca != cb {
                        bail!(
                            "phrase '{}' is listed with two meanings ({ca:?} and {cb:?})",
                            a.join(" ")
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// The cues of a word sequence, longest match first, unknown words skipped.
    pub fn cues(&self, w: &[String]) -> Vec<Cue> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < w.len() {
            let hit = self.by_first.get(&w[i]).and_then(|list| {
                list.iter()
                    .find(|(p, _)| w.len() - i >= p.len() && w[i..i + p.len()] == p[..])
            });
            match hit {
                Some((p, cue)) => {
                    out.push(*cue);
                    i += p.len();
                }
                None => i += 1,
            }
        }
        out
    }
}
