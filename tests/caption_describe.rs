//! The describer's three caption kinds, the fact parser on hand-written captions, the
//! lexicon's validation and extension, and the caption statistics.

mod caption_gen;

use caption_gen::{clip_of, plain, random_clip};
use locomotion::caption::lexicon::{DEFAULT_LEXICON, Verb};
use locomotion::caption::stats::{CaptionStats, WordClassifier};
use locomotion::caption::{
    CaptionKind, Describer, Lexicon, Paraphraser, PathFact, describe, facts_of, parse_facts,
};
use locomotion::motion::params::*;

fn still() -> Segment {
    Segment {
        still: true,
        ..plain(Direction::Up, Speed::Slow)
    }
}

#[test]
fn motion_spatial_and_template_captions_read_as_the_paper_writes_them() {
    let clip = clip_of(vec![
        (
            "red star",
            Category::Shape,
            vec![
                plain(Direction::Left, Speed::Fast),
                plain(Direction::Up, Speed::Fast),
            ],
        ),
        ("orange ball", Category::Ball, vec![still()]),
    ]);
    assert_eq!(
        describe(&clip, CaptionKind::Motion),
        "A red star moves quickly to the left, then up. An orange ball stays still."
    );
    assert_eq!(
        describe(&clip, CaptionKind::Spatial),
        "A red star and an orange ball in front of a sandy texture."
    );
    assert_eq!(
        describe(&clip, CaptionKind::Template),
        "Something moves quickly to the left, then up. Something else stays still."
    );
}

#[test]
fn a_clip_without_objects_still_gets_captions() {
    let clip = clip_of(vec![]);
    assert_eq!(describe(&clip, CaptionKind::Motion), "Nothing moves.");
    assert_eq!(describe(&clip, CaptionKind::Spatial), "A sandy texture.");
    assert!(Paraphraser::default().paraphrase(&clip, 4, 0).is_empty());
}

#[test]
fn spatial_captions_put_no_article_before_uncountable_scenes() {
    let mut clip = clip_of(vec![("red star", Category::Shape, vec![still()])]);
    clip.background.name = "rippling water".into();
    assert_eq!(
        describe(&clip, CaptionKind::Spatial),
        "A red star in front of rippling water."
    );
    clip.background.name = "old Brick wall".into();
    assert_eq!(
        describe(&clip, CaptionKind::Spatial),
        "A red star in front of an old Brick wall."
    );
    clip.objects.clear();
    clip.background.name = "Snow".into();
    assert_eq!(describe(&clip, CaptionKind::Spatial), "Snow.");
}

#[test]
fn rotation_scale_easing_and_paths_are_all_said() {
    let seg = |f: &dyn Fn(&mut Segment)| {
        let mut s = plain(Direction::UpRight, Speed::Slow);
        f(&mut s);
        s
    };
    let clip = clip_of(vec![(
        "blue ball",
        Category::Ball,
        vec![
            seg(&|s| {
                s.still = true;
                s.rotation = Rotation::CounterClockwise;
            }),
            seg(&|s| {
                s.rotation = Rotation::Clockwise;
                s.easing = Easing::Accelerate;
            }),
            seg(&|s| {
                s.path = PathShape::Circle {
                    turn: Turn::Right,
                    radius: 0.1,
                };
                s.speed = Speed::Medium;
            }),
            seg(&|s| {
                s.path = PathShape::Curve {
                    turn: Turn::Right,
                    degrees: 60.0,
                };
                s.scale = ScaleChange::Grow;
                s.easing = Easing::Decelerate;
            }),
        ],
    )]);
    assert_eq!(
        describe(&clip, CaptionKind::Motion),
        "A blue ball rotates counter-clockwise, then moves slowly up and to the right while \
         speeding up and rotating clockwise, then moves steadily in a circle clockwise, and \
         finally moves slowly up and to the right, curving to the right while slowing down and \
         growing."
    );
}

#[test]
fn the_parser_reads_hand_written_paraphrases() {
    let f = parse_facts(
        "The bird glides swiftly leftward before slowly drifting up; the fish stays put.",
    )
    .unwrap();
    assert_eq!(f.len(), 2);
    let s = &f[0].segments;
    assert_eq!(s.len(), 2);
    assert_eq!(
        (s[0].direction, s[0].speed),
        (Some(Direction::Left), Some(Speed::Fast))
    );
    assert_eq!(
        (s[1].direction, s[1].speed),
        (Some(Direction::Up), Some(Speed::Slow))
    );
    assert!(f[1].segments[0].still && f[1].segments[0].speed.is_none());
    // A speed verb carries the speed; "spinning anticlockwise" is rotation, not a path.
    let f = parse_facts("A car zooms in a clockwise circle while spinning anticlockwise.").unwrap();
    let s = f[0].segments[0];
    assert_eq!(s.speed, Some(Speed::Fast));
    assert_eq!(s.path, PathFact::Circle(Turn::Right));
    assert_eq!(s.rotation, Rotation::CounterClockwise);
}

#[test]
fn contradictions_and_captions_without_motion_are_errors() {
    let e = parse_facts("A ball moves quickly to the left and slowly up.").unwrap_err();
    assert!(format!("{e:#}").contains("two different"), "{e:#}");
    let e = parse_facts("A red star in front of a sandy texture.").unwrap_err();
    assert!(format!("{e:#}").contains("no motion phrase"), "{e:#}");
    let e = parse_facts("A ball moves to the left.").unwrap_err();
    assert!(format!("{e:#}").contains("without a speed"), "{e:#}");
}

#[test]
fn a_changed_fact_changes_the_parse() {
    let clip = random_clip(3);
    let caption = describe(&clip, CaptionKind::Motion);
    let facts = facts_of(&clip);
    for (from, to) in [
        ("quickly", "slowly"),
        ("slowly", "quickly"),
        ("left", "right"),
        ("clockwise", "counter-clockwise"),
    ] {
        if caption.contains(from) {
            let changed = caption.replacen(from, to, 1);
            assert_ne!(parse_facts(&changed).ok(), Some(facts.clone()), "{changed}");
        }
    }
}

#[test]
fn verbs_inflect() {
    for (base, third, gerund) in [
        ("fly", "flies", "flying"),
        ("run", "runs", "running"),
        ("swim", "swims", "swimming"),
        ("race", "races", "racing"),
        ("go", "goes", "going"),
        ("dash", "dashes", "dashing"),
        ("roll", "rolls", "rolling"),
        ("scurry", "scurries", "scurrying"),
    ] {
        let v = Verb::regular(base);
        assert_eq!((v.third.as_str(), v.gerund.as_str()), (third, gerund));
    }
}

fn edited(f: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(DEFAULT_LEXICON).unwrap();
    f(&mut v);
    v.to_string()
}

#[test]
fn lexicon_errors_name_the_entry() {
    let cases: Vec<(String, &str)> = vec![
        (
            edited(|v| v["category_verbs"]["dragon"] = serde_json::json!(["fly"])),
            "unknown category 'dragon'",
        ),
        (
            edited(|v| v["speed_adverbs"]["fast"] = serde_json::json!(["Quickly"])),
            "speed_adverbs.fast",
        ),
        (
            edited(|v| {
                v["directions"]
                    .as_object_mut()
                    .unwrap()
                    .remove("up_left")
                    .map(|_| ())
                    .unwrap()
            }),
            "missing 'up_left'",
        ),
        (
            edited(|v| v["then"] = serde_json::json!([])),
            "'then' is empty",
        ),
        (
            edited(|v| v["then"] = serde_json::json!(["then", "up"])),
            "phrase 'up'",
        ),
        (
            edited(|v| v["generic_verbs"] = serde_json::json!(["move on"])),
            "generic_verbs",
        ),
        (
            "{\"category_verbs\": 3}".to_string(),
            "invalid lexicon JSON",
        ),
    ];
    for (json, want) in cases {
        let e = Lexicon::from_json(&json, "my-lexicon.json").unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains("my-lexicon.json") && msg.contains(want),
            "want '{want}' in: {msg}"
        );
    }
}

#[test]
fn a_user_lexicon_extends_the_built_in_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lexicon.json");
    std::fs::write(
        &path,
        r#"{"category_verbs": {"animal": ["hop"]}, "then": ["later"]}"#,
    )
    .unwrap();
    let p = Paraphraser::new(Lexicon::load(&path).unwrap());
    let clip = clip_of(vec![(
        "brown rabbit",
        Category::Animal,
        vec![
            plain(Direction::Down, Speed::Medium),
            plain(Direction::Left, Speed::Medium),
        ],
    )]);
    let texts: Vec<String> = (0..5).flat_map(|s| p.paraphrase(&clip, 4, s)).collect();
    let has = |w: &str| texts.iter().any(|t| t.contains(w));
    assert!(has("hops") && has("runs") && has("later"), "{texts:?}");
    // Every phrase added still parses back.
    assert!(
        texts
            .iter()
            .all(|t| p.parser().parse(t).unwrap() == facts_of(&clip))
    );
}

#[test]
fn a_replacing_user_lexicon_is_used_alone() {
    let json = edited(|v| {
        v["category_verbs"]["animal"] = serde_json::json!(["hop"]);
        v["replace"] = serde_json::json!(true);
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lexicon.json");
    std::fs::write(&path, json).unwrap();
    let p = Paraphraser::new(Lexicon::load(&path).unwrap());
    let clip = clip_of(vec![(
        "brown rabbit",
        Category::Animal,
        vec![plain(Direction::Down, Speed::Medium)],
    )]);
    let texts: Vec<String> = (0..5).flat_map(|s| p.paraphrase(&clip, 4, s)).collect();
    assert!(texts.iter().any(|t| t.contains("hops")), "{texts:?}");
    assert!(
        !texts
            .iter()
            .any(|t| t.contains("runs") || t.contains("scurries")),
        "{texts:?}"
    );

    for (bad, want) in [
        (
            r#"{"speed_adverbs": {"fast": ["Quickly"]}}"#,
            "speed_adverbs.fast",
        ),
        (r#"{"then": "later"}"#, "'then' must be a list"),
        (
            r#"{"replace": true, "then": ["later"]}"#,
            "invalid lexicon JSON",
        ),
    ] {
        std::fs::write(&path, bad).unwrap();
        let e = format!("{:#}", Lexicon::load(&path).unwrap_err());
        assert!(
            e.contains("lexicon.json") && e.contains(want),
            "want '{want}' in: {e}"
        );
    }
    let e = Lexicon::load(&dir.path().join("missing.json")).unwrap_err();
    assert!(format!("{e:#}").contains("missing.json"));
}

#[test]
fn paraphrases_use_verbs_of_the_objects_category() {
    let p = Paraphraser::default();
    let clip = clip_of(vec![(
        "blue ball",
        Category::Ball,
        vec![plain(Direction::Left, Speed::Medium)],
    )]);
    let texts = p.paraphrase(&clip, 8, 1);
    assert!(
        texts
            .iter()
            .any(|t| t.contains("rolls") || t.contains("bounces")),
        "{texts:?}"
    );
    // Medium speed has no speed verb: every paraphrase keeps an adverb of medium speed.
    let d = Describer::default();
    assert!(!texts.contains(&d.describe(&clip, CaptionKind::Motion)));
}

#[test]
fn motion_captions_are_verb_and_adverb_heavy_and_spatial_ones_noun_heavy() {
    let lex = Lexicon::builtin();
    let wc = WordClassifier::new(&lex);
    let d = Describer::default();
    let mut st = [
        CaptionStats::default(),
        CaptionStats::default(),
        CaptionStats::default(),
    ];
    for seed in 0..300 {
        let clip = random_clip(seed);
        let mut names: Vec<&str> = clip
            .objects
            .iter()
            .map(|o| o.object.name.as_str())
            .collect();
        names.push(&clip.background.name);
        for (i, k) in CaptionKind::ALL.iter().enumerate() {
            st[i].add(&wc, &d.describe(&clip, *k), &names);
        }
    }
    let [motion, spatial, template] = [st[0].means(), st[1].means(), st[2].means()];
    // means = [words, nouns, verbs, adjectives, adverbs]
    assert_eq!(spatial[2], 0.0, "a spatial caption has no verbs");
    assert!(motion[2] + motion[4] > 5.0 * (motion[1]), "{motion:?}");
    assert!(
        spatial[1] / spatial[0] > 2.0 * motion[1] / motion[0],
        "{spatial:?} vs {motion:?}"
    );
    // "something" stands in for "red star": the same verbs, fewer adjectives.
    assert_eq!(template[2], motion[2]);
    assert!(template[3] < motion[3], "{template:?} vs {motion:?}");
}
