//! The rule-based describer: clip parameters → a `motion` caption (how each object moves,
//! segment by segment), a `spatial` caption (appearance and background only, as web captions
//! are) or a `template` caption (motion with the object replaced by "something").

use serde::{Deserialize, Serialize};

use super::lexicon::Lexicon;
use crate::motion::params::{
    ClipParams, Easing, ObjectMotion, PathShape, Rotation, ScaleChange, Segment, Turn,
};

/// Which caption to write from a clip's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum CaptionKind {
    /// Appearance + segment-by-segment motion ("a red star moves quickly to the left, then up").
    Motion,
    /// Appearance and background only, the web-caption ablation baseline.
    Spatial,
    /// Motion with the object replaced by "something" (Something-Something style).
    Template,
}

impl CaptionKind {
    /// All three, in output order.
    pub const ALL: [CaptionKind; 3] = [
        CaptionKind::Motion,
        CaptionKind::Spatial,
        CaptionKind::Template,
    ];

    /// The name used in `captions.jsonl` and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            CaptionKind::Motion => "motion",
            CaptionKind::Spatial => "spatial",
            CaptionKind::Template => "template",
        }
    }
}

/// "a" or "an" before `word`.
pub fn article(word: &str) -> &'static str {
    match word.chars().next() {
        Some(c) if "aeiouAEIOU".contains(c) => "an",
        _ => "a",
    }
}

/// Uncountable scene nouns: "in front of rippling water", never "a rippling water".
const MASS_NOUNS: [&str; 16] = [
    "water", "sand", "grass", "snow", "ice", "fog", "smoke", "mud", "gravel", "lava", "foliage",
    "concrete", "asphalt", "rain", "fire", "darkness",
];

/// `phrase` with the article English puts before it: none when its head noun (the last
/// word) is uncountable, "a"/"an" otherwise.
pub fn with_article(phrase: &str) -> String {
    let head = phrase.split_whitespace().last().unwrap_or_default();
    if MASS_NOUNS.contains(&head.to_lowercase().as_str()) {
        phrase.to_string()
    } else {
        format!("{} {phrase}", article(phrase))
    }
}

/// "a", "a and b", "a, b and c".
pub fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Upper-case the first letter of a sentence.
pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The appearance phrase of each object: "a red star", and "another red star" for a repeat.
pub fn appearance_phrases(clip: &ClipParams) -> Vec<String> {
    let mut seen: Vec<&str> = Vec::new();
    clip.objects
        .iter()
        .map(|o| {
            let n = o.object.name.as_str();
            let p = if seen.contains(&n) {
                format!("another {n}")
            } else {
                format!("{} {n}", article(n))
            };
            seen.push(n);
            p
        })
        .collect()
}

/// Writes the three caption kinds with a lexicon's first (canonical) phrases.
#[derive(Debug, Clone)]
pub struct Describer {
    lex: Lexicon,
}

impl Default for Describer {
    fn default() -> Self {
        Describer::new(Lexicon::builtin())
    }
}

impl Describer {
    /// A describer speaking the canonical phrases of `lex`.
    pub fn new(lex: Lexicon) -> Describer {
        Describer { lex }
    }

    /// The lexicon in use.
    pub fn lexicon(&self) -> &Lexicon {
        &self.lex
    }

    /// The caption of `kind` for `clip`.
    pub fn describe(&self, clip: &ClipParams, kind: CaptionKind) -> String {
        let subjects = appearance_phrases(clip);
        let bg = &clip.background.name;
        if subjects.is_empty() {
            return match kind {
                CaptionKind::Spatial => format!("{}.", capitalise(&with_article(bg))),
                _ => "Nothing moves.".to_string(),
            };
        }
        match kind {
            CaptionKind::Spatial => {
                format!(
                    "{} in front of {}.",
                    capitalise(&join_and(&subjects)),
                    with_article(bg)
                )
            }
            CaptionKind::Motion | CaptionKind::Template => {
                let sentences: Vec<String> = clip
                    .objects
                    .iter()
                    .enumerate()
                    .map(|(i, o)| {
                        let subject = match (kind, i) {
                            (CaptionKind::Motion, _) => subjects[i].clone(),
                            (_, 0) => "something".to_string(),
                            _ => "something else".to_string(),
                        };
                        format!(
                            "{}.",
                            capitalise(&format!("{subject} {}", self.object_motion(o)))
                        )
                    })
                    .collect();
                sentences.join(" ")
            }
        }
    }

    /// One object's segments in time order, joined with "then" ("and finally" for the last of
    /// three or more).
    pub fn object_motion(&self, o: &ObjectMotion) -> String {
        let n = o.segments.len();
        let mut out = String::new();
        for (i, s) in o.segments.iter().enumerate() {
            if i > 0 {
                if i == n - 1 && n >= 3 {
                    out.push_str(", and finally ");
                } else {
                    out.push_str(&format!(", {} ", self.lex.then[0]));
                }
            }
            let prev = if i > 0 {
                Some(&o.segments[i - 1])
            } else {
                None
            };
            out.push_str(&self.segment(s, prev));
        }
        if n == 0 {
            out.push_str(&self.lex.still[0]);
        }
        out
    }

    fn cw(&self, r: Rotation) -> &str {
        match r {
            Rotation::CounterClockwise => &self.lex.counter_clockwise[0],
            _ => &self.lex.clockwise[0],
        }
    }

    fn scale_gerund(&self, s: ScaleChange) -> Option<&str> {
        match s {
            ScaleChange::None => None,
            ScaleChange::Grow => Some(&self.lex.grow.gerund[0]),
            ScaleChange::Shrink => Some(&self.lex.shrink.gerund[0]),
        }
    }

    fn turn(&self, t: Turn) -> &str {
        match t {
            Turn::Left => &self.lex.turn_left[0],
            Turn::Right => &self.lex.turn_right[0],
        }
    }

    /// One segment, third person, without subject.
    pub fn segment(&self, s: &Segment, prev: Option<&Segment>) -> String {
        let lex = &self.lex;
        if s.still {
            return match (s.rotation, s.scale) {
                (Rotation::None, ScaleChange::None) => lex.still[0].clone(),
                (Rotation::None, ScaleChange::Grow) => lex.grow.third[0].clone(),
                (Rotation::None, ScaleChange::Shrink) => lex.shrink.third[0].clone(),
                (r, sc) => {
                    let mut p = format!("{} {}", lex.rotation_verbs[0].third, self.cw(r));
                    if let Some(g) = self.scale_gerund(sc) {
                        p.push_str(&format!(" while {g}"));
                    }
                    p
                }
            };
        }
        let dir = &lex.directions[&s.direction][0];
        let plain = s.path == PathShape::Straight
            && s.easing == Easing::Linear
            && s.rotation == Rotation::None
            && s.scale == ScaleChange::None;
        // Repeating "moves quickly" for a same-speed turn reads badly: "…to the left, then up".
        if plain
            && prev.is_some_and(|p| !p.still && p.speed == s.speed && p.path == PathShape::Straight)
        {
            return dir.clone();
        }
        let adv = &lex.speed_adverbs[&s.speed][0];
        let verb = &lex.generic_verbs[0].third;
        let mut p = match s.path {
            PathShape::Circle { turn, .. } => {
                let c = match turn {
                    Turn::Right => &lex.circle.clockwise[0],
                    Turn::Left => &lex.circle.counter_clockwise[0],
                };
                format!("{verb} {adv} {c}")
            }
            PathShape::Straight => format!("{verb} {adv} {dir}"),
            PathShape::Curve { turn, .. } => format!(
                "{verb} {adv} {dir}, {} {}",
                lex.curve_verbs[0].gerund,
                self.turn(turn)
            ),
        };
        let mut extras = Vec::new();
        match s.easing {
            Easing::Accelerate => extras.push(lex.accelerate[0].clone()),
            Easing::Decelerate => extras.push(lex.decelerate[0].clone()),
            Easing::Linear => {}
        }
        if s.rotation != Rotation::None {
            extras.push(format!(
                "{} {}",
                lex.rotation_verbs[0].gerund,
                self.cw(s.rotation)
            ));
        }
        if let Some(g) = self.scale_gerund(s.scale) {
            extras.push(g.to_string());
        }
        if !extras.is_empty() {
            p.push_str(&format!(" while {}", join_and(&extras)));
        }
        p
    }
}

/// The caption of `kind` for `clip` with the built-in lexicon.
pub fn describe(clip: &ClipParams, kind: CaptionKind) -> String {
    static DESCRIBER: std::sync::OnceLock<Describer> = std::sync::OnceLock::new();
    DESCRIBER
        .get_or_init(Describer::default)
        .describe(clip, kind)
}
