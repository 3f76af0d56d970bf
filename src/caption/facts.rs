//! Motion facts and the fact parser: caption → per object, per segment (in order) the
//! direction, speed class, rotation, stillness, scale change, easing and path shape.
//! `facts_of` gives the same facts straight from clip parameters, so a caption (or a
//! paraphrase) can be checked against the motion it claims to describe.

use anyhow::{Result, bail};

use super::lexicon::Lexicon;
use crate::motion::params::{
    ClipParams, Direction, Easing, PathShape, Rotation, ScaleChange, Segment, Speed, Turn,
};

/// The path of a segment as a caption states it (a curve's angle is not stated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathFact {
    /// A straight line.
    Straight,
    /// Bends left or right.
    Curve(Turn),
    /// A full circle; `Turn::Right` is clockwise.
    Circle(Turn),
}

/// What a caption says about one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SegmentFacts {
    /// The object does not translate.
    pub still: bool,
    /// Direction of travel (none when still or circling).
    pub direction: Option<Direction>,
    /// Speed class (none when still).
    pub speed: Option<Speed>,
    /// Rotation.
    pub rotation: Rotation,
    /// Scale change.
    pub scale: ScaleChange,
    /// Speeding up / slowing down (linear when still).
    pub easing: Easing,
    /// Path shape (straight when still).
    pub path: PathFact,
}

/// The facts of one object's motion, segments in time order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectFacts {
    /// One entry per segment.
    pub segments: Vec<SegmentFacts>,
}

/// The facts a segment's parameters imply.
pub fn segment_facts(s: &Segment) -> SegmentFacts {
    let base = SegmentFacts {
        still: s.still,
        direction: None,
        speed: None,
        rotation: s.rotation,
        scale: s.scale,
        easing: Easing::Linear,
        path: PathFact::Straight,
    };
    if s.still {
        return base;
    }
    let (direction, path) = match s.path {
        PathShape::Straight => (Some(s.direction), PathFact::Straight),
        PathShape::Curve { turn, .. } => (Some(s.direction), PathFact::Curve(turn)),
        PathShape::Circle { turn, .. } => (None, PathFact::Circle(turn)),
    };
    SegmentFacts {
        direction,
        speed: Some(s.speed),
        easing: s.easing,
        path,
        ..base
    }
}

/// The facts of every object of a clip, in the clip's object order.
pub fn facts_of(clip: &ClipParams) -> Vec<ObjectFacts> {
    clip.objects
        .iter()
        .map(|o| ObjectFacts {
            segments: o.segments.iter().map(segment_facts).collect(),
        })
        .collect()
}

pub use super::phrases::{Cue, PhraseTable, STRUCTURAL_CONNECTORS, words};

// ---------------------------------------------------------------------------------------------
// Parser

/// Parses captions into facts with one lexicon's phrases.
#[derive(Debug, Clone)]
pub struct FactParser {
    table: PhraseTable,
}

impl FactParser {
    /// A parser for the phrases of `lex`.
    pub fn new(lex: &Lexicon) -> FactParser {
        FactParser {
            table: PhraseTable::from_phrases(lex.phrases()),
        }
    }

    /// Caption → facts: one sentence (or `;`-clause) per object, segments split at "then"
    /// and its variants. Sentences with no motion phrase at all are skipped.
    pub fn parse(&self, caption: &str) -> Result<Vec<ObjectFacts>> {
        self.parse_masked(caption, &[])
    }

    /// Like [`FactParser::parse`], after blanking out the object names (so a name such as
    /// "left shoe" or its head noun is not read as a motion word).
    pub fn parse_masked(&self, caption: &str, names: &[&str]) -> Result<Vec<ObjectFacts>> {
        let masks: Vec<Vec<String>> = names
            .iter()
            .flat_map(|n| {
                let w = words(n);
                let head = w.last().cloned().into_iter().map(|h| vec![h]);
                std::iter::once(w.clone()).chain(head).collect::<Vec<_>>()
            })
            .filter(|w| !w.is_empty())
            .collect();
        let mut objects = Vec::new();
        for clause in caption.split(['.', ';', '!', '?', '\n']) {
            let w = mask(words(clause), &masks);
            let cues = self.table.cues(&w);
            if cues.is_empty() {
                continue;
            }
            let segments =
                assemble(&cues).map_err(|e| anyhow::anyhow!("'{}': {e}", clause.trim()))?;
            if !segments.is_empty() {
                objects.push(ObjectFacts { segments });
            }
        }
        if objects.is_empty() {
            bail!("no motion phrase found in caption '{caption}'");
        }
        Ok(objects)
    }
}

fn mask(mut w: Vec<String>, masks: &[Vec<String>]) -> Vec<String> {
    for m in masks {
        let mut i = 0;
        while i + m.len() <= w.len() {
            if w[i..i + m.len()] == m[..] {
                w.drain(i..i + m.len());
            } else {
                i += 1;
            }
        }
    }
    w
}

/// Set `slot` to `v`, or fail when the segment already said something else.
fn once<T: PartialEq + Copy + std::fmt::Debug>(
    slot: &mut Option<T>,
    v: T,
    what: &str,
) -> Result<()> {
    match slot {
        Some(old) if *old != v => bail!("two different {what}s in one segment ({old:?}, {v:?})"),
        _ => *slot = Some(v),
    }
    Ok(())
}

fn assemble(cues: &[Cue]) -> Result<Vec<SegmentFacts>> {
    let mut out: Vec<SegmentFacts> = Vec::new();
    for seg in cues.split(|c| *c == Cue::Then) {
        if seg.is_empty() {
            continue;
        }
        let (mut dir, mut speed, mut speed_verb, mut rot, mut scale, mut ease, mut path) =
            (None, None, None, None, None, None, None);
        let mut still = false;
        for cue in seg {
            match *cue {
                Cue::Dir(d) => once(&mut dir, d, "direction")?,
                Cue::Speed(s) => once(&mut speed, s, "speed")?,
                Cue::SpeedVerb(s) => once(&mut speed_verb, s, "speed verb")?,
                Cue::Rot(r) => once(&mut rot, r, "rotation")?,
                Cue::Circle(t) => once(&mut path, PathFact::Circle(t), "path")?,
                Cue::Curve(t) => once(&mut path, PathFact::Curve(t), "path")?,
                Cue::Still => still = true,
                Cue::Scale(s) => once(&mut scale, s, "scale change")?,
                Cue::Ease(e) => once(&mut ease, e, "easing")?,
                Cue::Then => unreachable!("split at Then"),
            }
        }
        let circling = matches!(path, Some(PathFact::Circle(_)));
        let translating = dir.is_some() || circling;
        if translating && still {
            bail!("a segment both stays still and moves");
        }
        if matches!(path, Some(PathFact::Curve(_))) && dir.is_none() {
            bail!("a curve without a direction");
        }
        let mut f = SegmentFacts {
            still: !translating,
            direction: if circling { None } else { dir },
            speed: None,
            rotation: rot.unwrap_or(Rotation::None),
            scale: scale.unwrap_or(ScaleChange::None),
            easing: Easing::Linear,
            path: PathFact::Straight,
        };
        if translating {
            // "…moves quickly to the left, then up": an elided manner repeats the last one.
            let inherited = out.last().filter(|p| !p.still).and_then(|p| p.speed);
            f.speed = Some(
                speed
                    .or(speed_verb)
                    .or(inherited)
                    .ok_or_else(|| anyhow::anyhow!("a moving segment without a speed"))?,
            );
            f.easing = ease.unwrap_or(Easing::Linear);
            f.path = path.unwrap_or(PathFact::Straight);
        }
        out.push(f);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Appearance and negation

/// Words that negate what follows: the motion parser reads phrases, not their polarity, so
/// "never moves to the left" would otherwise read as "moves to the left".
pub const NEGATIONS: [&str; 9] = [
    "not", "never", "no", "nor", "neither", "without", "cannot", "nothing", "nowhere",
];

/// Colour words: a paraphrase naming a colour no object has changed the scene.
pub const COLOURS: [&str; 16] = [
    "red", "green", "blue", "yellow", "orange", "purple", "violet", "pink", "black", "white",
    "grey", "gray", "brown", "cyan", "magenta", "golden",
];

fn is_negation(w: &str) -> bool {
    NEGATIONS.contains(&w) || w.ends_with("n't")
}

/// Check the appearance and polarity facts of `text` against the clip's object `names`
/// (as the caption it paraphrases, `source`, states them): every object's noun (the last
/// word of its name) appears, every colour named belongs to an object (dropping one, as "the
/// star" for "red star", is fine; changing it is not), and there is no negation `source`
/// does not have. The error says which fact changed.
pub fn check_appearance(text: &str, source: &str, names: &[&str]) -> Result<()> {
    let w = words(text);
    let src = words(source);
    if let Some(n) = w.iter().find(|x| is_negation(x) && !src.contains(x)) {
        bail!("'{n}' negates the motion");
    }
    let mut own_colours: Vec<String> = Vec::new();
    for name in names {
        let nw = words(name);
        let Some(noun) = nw.last() else { continue };
        if !w.contains(noun) {
            bail!("the object '{name}' is not named by its noun '{noun}'");
        }
        own_colours.extend(nw.into_iter().filter(|x| COLOURS.contains(&x.as_str())));
    }
    if let Some(c) = w
        .iter()
        .find(|x| COLOURS.contains(&x.as_str()) && !own_colours.contains(x) && !src.contains(x))
    {
        bail!("the colour '{c}' belongs to no object");
    }
    Ok(())
}

/// Parse a caption with the built-in lexicon.
pub fn parse_facts(caption: &str) -> Result<Vec<ObjectFacts>> {
    static PARSER: std::sync::OnceLock<FactParser> = std::sync::OnceLock::new();
    PARSER
        .get_or_init(|| FactParser::new(&Lexicon::builtin()))
        .parse(caption)
}
