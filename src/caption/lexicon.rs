//! The paraphrase lexicon: verbs tied to object categories and to speed, rotation verbs,
//! synonyms for directions, speeds, rotations and "then". A JSON data file
//! (`data/lexicon.json` is the built-in default) that users can extend; validated on load.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use super::phrases::{Cue, PhraseTable, STRUCTURAL_CONNECTORS};
use crate::motion::params::{Category, Direction, Easing, Rotation, ScaleChange, Speed, Turn};

mod split;
mod verb;
pub use split::{HELDOUT_MIN_LIST, HeldOutPhrases, LexiconPart};
pub use verb::Verb;

/// The built-in lexicon, embedded at compile time.
pub const DEFAULT_LEXICON: &str = include_str!("../../data/lexicon.json");

/// Third-person and gerund forms of a grown/shrunk phrase set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerbPhrases {
    /// "grows", "gets bigger".
    pub third: Vec<String>,
    /// "growing", "getting bigger".
    pub gerund: Vec<String>,
}

/// Circle phrases by turning sense.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CirclePhrases {
    /// "in a clockwise circle".
    pub clockwise: Vec<String>,
    /// "in a counter-clockwise circle".
    pub counter_clockwise: Vec<String>,
}

/// Word lists used by the caption statistics, beside the words the motion lexicon implies.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordClasses {
    /// Extra nouns.
    #[serde(default)]
    pub nouns: Vec<String>,
    /// Extra verbs (all inflected forms wanted).
    #[serde(default)]
    pub verbs: Vec<String>,
    /// Extra adjectives.
    #[serde(default)]
    pub adjectives: Vec<String>,
    /// Extra adverbs.
    #[serde(default)]
    pub adverbs: Vec<String>,
}

/// The lexicon file as written; [`Lexicon::from_json`] validates and resolves it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LexiconFile {
    category_verbs: BTreeMap<String, Vec<String>>,
    generic_verbs: Vec<String>,
    speed_verbs: BTreeMap<String, Vec<String>>,
    rotation_verbs: Vec<String>,
    speed_adverbs: BTreeMap<String, Vec<String>>,
    directions: BTreeMap<String, Vec<String>>,
    clockwise: Vec<String>,
    counter_clockwise: Vec<String>,
    circle: CirclePhrases,
    curve_verbs: Vec<String>,
    turns: BTreeMap<String, Vec<String>>,
    still: Vec<String>,
    grow: VerbPhrases,
    shrink: VerbPhrases,
    accelerate: Vec<String>,
    decelerate: Vec<String>,
    then: Vec<String>,
    #[serde(default)]
    word_classes: WordClasses,
}

/// The validated lexicon, with enum keys and inflected verbs.
#[derive(Debug, Clone)]
pub struct Lexicon {
    /// Verbs that fit each object category ("ball": roll, bounce).
    pub category_verbs: HashMap<Category, Vec<Verb>>,
    /// Verbs that fit any object ("move"); the first is the describer's verb.
    pub generic_verbs: Vec<Verb>,
    /// Verbs that imply a speed class by themselves (fast: dash; slow: creep).
    pub speed_verbs: HashMap<Speed, Vec<Verb>>,
    /// Rotation verbs ("rotate", "spin"); the first is the describer's.
    pub rotation_verbs: Vec<Verb>,
    /// Speed adverbs per class; the first of each is the describer's.
    pub speed_adverbs: HashMap<Speed, Vec<String>>,
    /// Direction phrases; the first of each is the describer's.
    pub directions: HashMap<Direction, Vec<String>>,
    /// "clockwise" synonyms.
    pub clockwise: Vec<String>,
    /// "counter-clockwise" synonyms.
    pub counter_clockwise: Vec<String>,
    /// Circle phrases.
    pub circle: CirclePhrases,
    /// Curve verbs ("curve": "curving to the right").
    pub curve_verbs: Vec<Verb>,
    /// Turn phrases for curves: (left, right).
    pub turn_left: Vec<String>,
    /// See `turn_left`.
    pub turn_right: Vec<String>,
    /// "stays still" synonyms (third person).
    pub still: Vec<String>,
    /// Growth phrases.
    pub grow: VerbPhrases,
    /// Shrink phrases.
    pub shrink: VerbPhrases,
    /// Acceleration phrases (gerund: "speeding up").
    pub accelerate: Vec<String>,
    /// Deceleration phrases (gerund: "slowing down").
    pub decelerate: Vec<String>,
    /// Connectors between segments ("then", "after that").
    pub then: Vec<String>,
    /// Extra word classes for statistics.
    pub word_classes: WordClasses,
}

/// Merge `add` into `base`: objects key by key, lists extended without duplicates.
fn extend(base: &mut serde_json::Value, add: serde_json::Value, entry: &str) -> Result<()> {
    use serde_json::Value;
    match (base, add) {
        (Value::Object(b), Value::Object(a)) => {
            for (k, v) in a {
                let name = if entry.is_empty() {
                    k.clone()
                } else {
                    format!("{entry}.{k}")
                };
                match b.get_mut(&k) {
                    Some(slot) => extend(slot, v, &name)?,
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(b), Value::Array(a)) => {
            for v in a {
                if !b.contains(&v) {
                    b.push(v);
                }
            }
        }
        (b, a) => bail!(
            "lexicon entry '{entry}' must be {} like the built-in one, not {}",
            kind(b),
            kind(&a)
        ),
    }
    Ok(())
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Object(_) => "an object",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::String(_) => "a string",
        _ => "a number, boolean or null",
    }
}

fn category(key: &str) -> Option<Category> {
    serde_json::from_value(serde_json::Value::String(key.to_string())).ok()
}

fn speed(key: &str) -> Option<Speed> {
    serde_json::from_value(serde_json::Value::String(key.to_string())).ok()
}

fn direction(key: &str) -> Option<Direction> {
    serde_json::from_value(serde_json::Value::String(key.to_string())).ok()
}

/// Phrases must be lowercase words (letters, hyphens, apostrophes) separated by single spaces,
/// because the fact parser matches them word by word.
fn check_phrases(entry: &str, list: &[String]) -> Result<()> {
    if list.is_empty() {
        bail!("lexicon entry '{entry}' is empty: it needs at least one phrase");
    }
    for p in list {
        let ok = !p.is_empty()
            && p.split(' ').all(|w| {
                !w.is_empty()
                    && w.chars()
                        .all(|c| c.is_ascii_lowercase() || c == '-' || c == '\'')
            });
        if !ok {
            bail!(
                "lexicon entry '{entry}': phrase '{p}' must be lowercase words (a-z, '-') separated by single spaces"
            );
        }
    }
    Ok(())
}

fn verbs(entry: &str, list: &[String]) -> Result<Vec<Verb>> {
    check_phrases(entry, list)?;
    for v in list {
        if v.contains(' ') {
            bail!("lexicon entry '{entry}': verb '{v}' must be one word");
        }
    }
    Ok(list.iter().map(|v| Verb::regular(v)).collect())
}

impl Lexicon {
    /// The built-in lexicon.
    pub fn builtin() -> Lexicon {
        // Parsed once: the convenience functions (describe, parse_facts) call this per caption.
        static BUILTIN: std::sync::OnceLock<Lexicon> = std::sync::OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                Lexicon::from_json(DEFAULT_LEXICON, "built-in lexicon")
                    .expect("the built-in lexicon is valid")
            })
            .clone()
    }

    /// Read a user lexicon file and validate the result. The file extends the built-in
    /// lexicon (its phrases are added to the built-in lists, its new keys added) unless it
    /// holds `"replace": true`, in which case it must be complete and is used alone.
    pub fn load(path: &Path) -> Result<Lexicon> {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read lexicon {source}"))?;
        let mut user: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{source}: invalid lexicon JSON"))?;
        let Some(obj) = user.as_object_mut() else {
            bail!("{source}: a lexicon is a JSON object");
        };
        let replace = match obj.remove("replace") {
            None => false,
            Some(serde_json::Value::Bool(b)) => b,
            Some(_) => bail!("{source}: 'replace' must be true or false"),
        };
        let lex = if replace {
            Lexicon::from_json(&user.to_string(), &source)?
        } else {
            let mut base: serde_json::Value =
                serde_json::from_str(DEFAULT_LEXICON).expect("the built-in lexicon is JSON");
            extend(&mut base, user, "").with_context(|| format!("{source}: invalid lexicon"))?;
            Lexicon::from_json(&base.to_string(), &source)?
        };
        lex.check_round_trip()
            .with_context(|| format!("{source}: invalid lexicon"))?;
        Ok(lex)
    }

    /// Each phrase may be valid alone and the whole still unreadable (`{"then": ["while"]}`
    /// splits every "while rotating" into a new segment): describe a fixed sample of clips
    /// with this lexicon and read the captions back; each must give its clip's motion.
    pub fn check_round_trip(&self) -> Result<()> {
        use crate::motion::{BackgroundLibrary, GenConfig, ObjectLibrary, sample_clip};
        let (objects, backgrounds) = (ObjectLibrary::builtin(), BackgroundLibrary::black(16, 16));
        let describer = super::Describer::new(self.clone());
        let parser = super::FactParser::new(self);
        let builtin = Lexicon::builtin();
        let (b_describer, b_parser) = (
            super::Describer::new(builtin.clone()),
            super::FactParser::new(&builtin),
        );
        for (i, objs) in (0..24u64).zip([1, 2, 1, 3].into_iter().cycle()) {
            let cfg = GenConfig {
                frames: if i % 3 == 0 { 64 } else { 16 },
                height: 16,
                width: 16,
                objects: objs,
                nonlinear: i % 2 == 1,
                easing: i % 4 >= 2,
                scale_changes: i % 5 == 0,
                still_segments: i % 3 == 1,
                ..GenConfig::default()
            };
            let clip = sample_clip(0x1e71c0, i, &cfg, &objects, &backgrounds);
            let names = clip.object_names();
            let kind = super::CaptionKind::Motion;
            // Only what the built-in lexicon reads back is asked of a user's.
            let b_caption = b_describer.describe(&clip, kind);
            if !matches!(b_parser.parse_masked(&b_caption, &names), Ok(f) if f == super::facts_of(&clip))
            {
                continue;
            }
            let caption = describer.describe(&clip, kind);
            match parser.parse_masked(&caption, &names) {
                Ok(f) if f == super::facts_of(&clip) => {}
                Ok(_) => bail!(
                    "the caption '{caption}' it writes reads back as another motion: a phrase there means two things"
                ),
                Err(e) => bail!("the caption '{caption}' it writes does not read back: {e}"),
            }
        }
        Ok(())
    }

    /// Parse and validate lexicon JSON; errors name `source` and the offending entry.
    pub fn from_json(text: &str, source: &str) -> Result<Lexicon> {
        let f: LexiconFile = serde_json::from_str(text)
            .with_context(|| format!("{source}: invalid lexicon JSON"))?;
        Lexicon::resolve(f).with_context(|| format!("{source}: invalid lexicon"))
    }

    fn resolve(f: LexiconFile) -> Result<Lexicon> {
        let mut category_verbs = HashMap::new();
        for (k, v) in &f.category_verbs {
            let c = category(k).with_context(|| {
                format!("category_verbs: unknown category '{k}' (ball, vehicle, animal, bird, fish, person, leaf, shape, other)")
            })?;
            category_verbs.insert(c, verbs(&format!("category_verbs.{k}"), v)?);
        }
        let mut speed_verbs = HashMap::new();
        for (k, v) in &f.speed_verbs {
            let s = speed(k)
                .filter(|s| *s != Speed::Medium)
                .with_context(|| format!("speed_verbs: unknown speed '{k}' (fast or slow)"))?;
            speed_verbs.insert(s, verbs(&format!("speed_verbs.{k}"), v)?);
        }
        let mut speed_adverbs = HashMap::new();
        for (k, v) in &f.speed_adverbs {
            let s = speed(k).with_context(|| {
                format!("speed_adverbs: unknown speed '{k}' (slow, medium, fast)")
            })?;
            check_phrases(&format!("speed_adverbs.{k}"), v)?;
            speed_adverbs.insert(s, v.clone());
        }
        for s in [Speed::Slow, Speed::Medium, Speed::Fast] {
            if !speed_adverbs.contains_key(&s) {
                bail!(
                    "speed_adverbs: missing '{}'",
                    serde_json::to_value(s)?.as_str().unwrap_or("?")
                );
            }
        }
        let mut directions = HashMap::new();
        for (k, v) in &f.directions {
            let d = direction(k).with_context(|| {
                format!("directions: unknown direction '{k}' (up, down, left, right, up_left, up_right, down_left, down_right)")
            })?;
            check_phrases(&format!("directions.{k}"), v)?;
            directions.insert(d, v.clone());
        }
        for d in Direction::ALL {
            if !directions.contains_key(&d) {
                bail!(
                    "directions: missing '{}'",
                    serde_json::to_value(d)?.as_str().unwrap_or("?")
                );
            }
        }
        let turn = |k: &str| -> Result<Vec<String>> {
            let v = f
                .turns
                .get(k)
                .with_context(|| format!("turns: missing '{k}'"))?;
            check_phrases(&format!("turns.{k}"), v)?;
            Ok(v.clone())
        };
        let (turn_left, turn_right) = (turn("left")?, turn("right")?);
        if let Some(k) = f.turns.keys().find(|k| *k != "left" && *k != "right") {
            bail!("turns: unknown turn '{k}' (left or right)");
        }
        for (entry, list) in [
            ("clockwise", &f.clockwise),
            ("counter_clockwise", &f.counter_clockwise),
            ("circle.clockwise", &f.circle.clockwise),
            ("circle.counter_clockwise", &f.circle.counter_clockwise),
            ("still", &f.still),
            ("grow.third", &f.grow.third),
            ("grow.gerund", &f.grow.gerund),
            ("shrink.third", &f.shrink.third),
            ("shrink.gerund", &f.shrink.gerund),
            ("accelerate", &f.accelerate),
            ("decelerate", &f.decelerate),
            ("then", &f.then),
        ] {
            check_phrases(entry, list)?;
        }
        let lex = Lexicon {
            category_verbs,
            generic_verbs: verbs("generic_verbs", &f.generic_verbs)?,
            speed_verbs,
            rotation_verbs: verbs("rotation_verbs", &f.rotation_verbs)?,
            speed_adverbs,
            directions,
            clockwise: f.clockwise,
            counter_clockwise: f.counter_clockwise,
            circle: f.circle,
            curve_verbs: verbs("curve_verbs", &f.curve_verbs)?,
            turn_left,
            turn_right,
            still: f.still,
            grow: f.grow,
            shrink: f.shrink,
            accelerate: f.accelerate,
            decelerate: f.decelerate,
            then: f.then,
            word_classes: f.word_classes,
        };
        PhraseTable::from_phrases(lex.phrases()).check_unambiguous()?;
        Ok(lex)
    }

    /// Every phrase of the lexicon with its meaning, in the parser's terms.
    pub fn phrases(&self) -> Vec<(String, Cue)> {
        let lex = self;
        let mut all: Vec<(String, Cue)> = Vec::new();
        let mut add = |list: &[String], cue: Cue| {
            all.extend(list.iter().map(|p| (p.clone(), cue)));
        };
        for (d, list) in &lex.directions {
            add(list, Cue::Dir(*d));
        }
        for (s, list) in &lex.speed_adverbs {
            add(list, Cue::Speed(*s));
        }
        for (s, verbs) in &lex.speed_verbs {
            for v in verbs {
                add(
                    &[v.base.clone(), v.third.clone(), v.gerund.clone()],
                    Cue::SpeedVerb(*s),
                );
            }
        }
        add(&lex.clockwise, Cue::Rot(Rotation::Clockwise));
        add(&lex.counter_clockwise, Cue::Rot(Rotation::CounterClockwise));
        add(&lex.circle.clockwise, Cue::Circle(Turn::Right));
        add(&lex.circle.counter_clockwise, Cue::Circle(Turn::Left));
        for v in &lex.curve_verbs {
            for form in [&v.base, &v.third, &v.gerund] {
                for (turns, t) in [(&lex.turn_left, Turn::Left), (&lex.turn_right, Turn::Right)] {
                    let list: Vec<String> = turns.iter().map(|p| format!("{form} {p}")).collect();
                    add(&list, Cue::Curve(t));
                }
            }
        }
        add(&lex.still, Cue::Still);
        add(&lex.grow.third, Cue::Scale(ScaleChange::Grow));
        add(&lex.grow.gerund, Cue::Scale(ScaleChange::Grow));
        add(&lex.shrink.third, Cue::Scale(ScaleChange::Shrink));
        add(&lex.shrink.gerund, Cue::Scale(ScaleChange::Shrink));
        add(&lex.accelerate, Cue::Ease(Easing::Accelerate));
        add(&lex.decelerate, Cue::Ease(Easing::Decelerate));
        add(&lex.then, Cue::Then);
        let structural: Vec<String> = STRUCTURAL_CONNECTORS
            .iter()
            .map(|s| s.to_string())
            .collect();
        add(&structural, Cue::Then);
        all
    }

    /// Verbs for an object of `category`: its own, or the generic ones when it has none.
    pub fn verbs_for(&self, category: Category) -> &[Verb] {
        match self.category_verbs.get(&category) {
            Some(v) if !v.is_empty() => v,
            _ => &self.generic_verbs,
        }
    }
}
