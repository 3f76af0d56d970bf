//! The verb-variation paraphraser: offline, deterministic by seed. Rewrites a clip's motion
//! with verbs tied to the object's category ("the ball rolls"), verbs tied to speed ("dashes",
//! "creeps"), rotation verbs, direction and "then" synonyms and several sentence structures.
//! Every candidate is parsed back and kept only if it states exactly the clip's facts.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::describe::{Describer, capitalise, join_and};
use super::facts::{FactParser, facts_of};
use super::lexicon::{Lexicon, LexiconPart, Verb};
use crate::motion::params::{
    Category, ClipParams, Easing, ObjectMotion, PathShape, Rotation, ScaleChange, Segment, Speed,
    Turn,
};

/// Paraphrases of one caption, with how many candidates failed the fact check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paraphrases {
    /// Distinct paraphrases, none equal to the caption itself.
    pub texts: Vec<String>,
    /// Candidates dropped because they did not parse back to the clip's facts.
    pub rejected: usize,
}

/// How a paraphraser phrases a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Varied subjects, structures ("first, …", "…, before …ing"), verbs and synonyms: the
    /// pre-training paraphrases.
    Varied,
    /// The verb benchmark's everyday phrasing: "the {object}", a verb that carries the speed
    /// where the lexicon has one ("zooms", "creeps"), one clause per segment.
    Verbs,
}

/// The lexicon paraphraser.
#[derive(Debug, Clone)]
pub struct Paraphraser {
    lex: Lexicon,
    parser: FactParser,
    describer: Describer,
    style: Style,
}

impl Default for Paraphraser {
    fn default() -> Self {
        Paraphraser::new(Lexicon::builtin())
    }
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, list: &'a [T]) -> &'a T {
    list.choose(rng)
        .expect("validated lexicon lists are non-empty")
}

impl Paraphraser {
    /// A paraphraser drawing on the training part of `lex`: it never writes a held-out
    /// phrase (see [`LexiconPart`]); it reads every phrase of `lex` back.
    pub fn new(lex: Lexicon) -> Paraphraser {
        Paraphraser {
            parser: FactParser::new(&lex),
            describer: Describer::new(lex.clone()),
            lex: lex.part(LexiconPart::Training),
            style: Style::Varied,
        }
    }

    /// The verb benchmark's captioner: [`Style::Verbs`] with the non-canonical phrases of
    /// `part` of `lex` (never the template's own words where the list has others).
    pub fn verbs(lex: Lexicon, part: LexiconPart) -> Paraphraser {
        Paraphraser {
            parser: FactParser::new(&lex),
            describer: Describer::new(lex.clone()),
            lex: lex.part(part).part(LexiconPart::NonCanonical),
            style: Style::Verbs,
        }
    }

    /// One fact-checked caption of `clip` in this paraphraser's style (the same for the same
    /// `seed`), or `None` when no candidate states exactly the clip's facts.
    pub fn caption(&self, clip: &ClipParams, seed: u64) -> Option<String> {
        self.paraphrase_checked(clip, 1, seed).texts.pop()
    }

    /// The fact parser for this lexicon's phrases.
    pub fn parser(&self) -> &FactParser {
        &self.parser
    }

    /// `k` distinct paraphrases of the clip's motion caption, the same for the same `seed`.
    pub fn paraphrase(&self, clip: &ClipParams, k: usize, seed: u64) -> Vec<String> {
        self.paraphrase_checked(clip, k, seed).texts
    }

    /// Like [`Paraphraser::paraphrase`], also counting the candidates the fact check dropped.
    pub fn paraphrase_checked(&self, clip: &ClipParams, k: usize, seed: u64) -> Paraphrases {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let original = self.describer.describe(clip, super::CaptionKind::Motion);
        let facts = facts_of(clip);
        let names = clip.object_names();
        let mut out = Paraphrases::default();
        if clip.objects.is_empty() {
            return out;
        }
        // Short captions ("a star stays still") have few rewrites: stop after a bounded search.
        for _ in 0..40 * k.max(1) {
            if out.texts.len() >= k {
                break;
            }
            let cand = self.candidate(clip, &mut rng);
            if cand.eq_ignore_ascii_case(&original) || out.texts.contains(&cand) {
                continue;
            }
            match self.parser.parse_masked(&cand, &names) {
                Ok(f) if f == facts => out.texts.push(cand),
                _ => out.rejected += 1,
            }
        }
        out
    }

    /// One random rewrite of the whole clip (not yet checked).
    pub fn candidate(&self, clip: &ClipParams, rng: &mut ChaCha8Rng) -> String {
        clip.objects
            .iter()
            .map(|o| format!("{}.", capitalise(&self.object(o, rng))))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn object(&self, o: &ObjectMotion, rng: &mut ChaCha8Rng) -> String {
        let name = &o.object.name;
        let head = name.rsplit(' ').next().unwrap_or(name);
        let subject = match rng.random_range(0..4) {
            _ if self.style == Style::Verbs => format!("the {name}"),
            0 => format!("{} {name}", super::describe::article(name)),
            1 if head != name => format!("the {head}"),
            _ => format!("the {name}"),
        };
        let varied = self.style == Style::Varied;
        let mut s = if varied && o.segments.len() > 1 && rng.random_bool(0.2) {
            format!("first, {subject} ")
        } else {
            format!("{subject} ")
        };
        for (i, seg) in o.segments.iter().enumerate() {
            if i > 0 {
                if varied && !seg.still && rng.random_bool(0.25) {
                    s.push_str(", before ");
                    s.push_str(&self.segment(seg, o.object.category, true, rng));
                    continue;
                }
                let conn = pick(rng, &self.lex.then);
                let it = if conn.contains(' ') && conn != "and then" {
                    " it"
                } else {
                    ""
                };
                s.push_str(&format!(", {conn}{it} "));
            }
            s.push_str(&self.segment(seg, o.object.category, false, rng));
        }
        if o.segments.is_empty() {
            s.push_str(pick::<String>(rng, &self.lex.still));
        }
        s
    }

    fn cw(&self, r: Rotation, rng: &mut ChaCha8Rng) -> String {
        match r {
            Rotation::CounterClockwise => pick(rng, &self.lex.counter_clockwise).clone(),
            _ => pick(rng, &self.lex.clockwise).clone(),
        }
    }

    fn scale(&self, s: ScaleChange, gerund: bool, rng: &mut ChaCha8Rng) -> Option<String> {
        let p = match s {
            ScaleChange::None => return None,
            ScaleChange::Grow => &self.lex.grow,
            ScaleChange::Shrink => &self.lex.shrink,
        };
        Some(pick(rng, if gerund { &p.gerund } else { &p.third }).clone())
    }

    /// One segment without subject; `gerund` for the "before …ing" structure.
    fn segment(&self, s: &Segment, cat: Category, gerund: bool, rng: &mut ChaCha8Rng) -> String {
        let lex = &self.lex;
        let form = |v: &Verb| {
            if gerund {
                v.gerund.clone()
            } else {
                v.third.clone()
            }
        };
        if s.still {
            return match (s.rotation, s.scale) {
                (Rotation::None, ScaleChange::None) => pick(rng, &lex.still).clone(),
                (Rotation::None, sc) => self.scale(sc, gerund, rng).unwrap_or_default(),
                (r, sc) => {
                    let v = form(pick(rng, &lex.rotation_verbs));
                    let mut p = format!("{v} {}", self.cw(r, rng));
                    if let Some(g) = self.scale(sc, true, rng) {
                        p.push_str(&format!(" while {g}"));
                    }
                    p
                }
            };
        }
        // A speed verb carries the speed class itself; other verbs need an adverb.
        let speed_verbs = lex.speed_verbs.get(&s.speed).filter(|v| !v.is_empty());
        let verbs_first = self.style == Style::Verbs;
        let (verb, adv) = match (rng.random_range(0..5), speed_verbs) {
            (0, Some(v)) => (form(pick(rng, v)), None),
            (_, Some(v)) if verbs_first => (form(pick(rng, v)), None),
            (_, None) if verbs_first => (
                form(pick(rng, lex.verbs_for(cat))),
                Some(self.adverb(s.speed, rng)),
            ),
            (1, _) => (
                form(pick(rng, &lex.generic_verbs)),
                Some(self.adverb(s.speed, rng)),
            ),
            _ => (
                form(pick(rng, lex.verbs_for(cat))),
                Some(self.adverb(s.speed, rng)),
            ),
        };
        let place = match s.path {
            PathShape::Circle { turn, .. } => pick(
                rng,
                match turn {
                    Turn::Right => &lex.circle.clockwise,
                    Turn::Left => &lex.circle.counter_clockwise,
                },
            )
            .clone(),
            _ => pick(rng, &lex.directions[&s.direction]).clone(),
        };
        let mut p = match adv {
            None => format!("{verb} {place}"),
            Some(a) if rng.random_bool(0.5) => format!("{verb} {a} {place}"),
            Some(a) => format!("{verb} {place} {a}"),
        };
        if let PathShape::Curve { turn, .. } = s.path {
            let t = match turn {
                Turn::Left => pick(rng, &lex.turn_left),
                Turn::Right => pick(rng, &lex.turn_right),
            };
            p.push_str(&format!(", {} {t}", pick(rng, &lex.curve_verbs).gerund));
        }
        let mut extras = Vec::new();
        match s.easing {
            Easing::Accelerate => extras.push(pick(rng, &lex.accelerate).clone()),
            Easing::Decelerate => extras.push(pick(rng, &lex.decelerate).clone()),
            Easing::Linear => {}
        }
        if s.rotation != Rotation::None {
            let v = pick(rng, &lex.rotation_verbs).gerund.clone();
            extras.push(format!("{v} {}", self.cw(s.rotation, rng)));
        }
        if let Some(g) = self.scale(s.scale, true, rng) {
            extras.push(g);
        }
        if !extras.is_empty() {
            p.push_str(&format!(" while {}", join_and(&extras)));
        }
        p
    }

    fn adverb(&self, s: Speed, rng: &mut ChaCha8Rng) -> String {
        pick(rng, &self.lex.speed_adverbs[&s]).clone()
    }
}
