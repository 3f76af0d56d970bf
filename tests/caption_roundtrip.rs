//! Property tests over thousands of random clips: every `motion` and `template` caption and
//! every offline paraphrase parses back to exactly the facts of its parameters.

mod caption_gen;
mod caption_verbs;

use caption_gen::random_clip;
use locomotion::caption::{CaptionKind, Describer, Paraphraser, PathFact, facts_of};
use locomotion::motion::params::{Easing, Rotation, ScaleChange};

const CLIPS: u64 = 3000;

#[test]
fn motion_and_template_captions_parse_back_to_their_facts() {
    let d = Describer::default();
    let p = Paraphraser::default();
    // How often each construction occurs, so a generator that stops producing one fails.
    let mut seen = [0usize; 6];
    for seed in 0..CLIPS {
        let clip = random_clip(seed);
        let facts = facts_of(&clip);
        for s in facts.iter().flat_map(|o| &o.segments) {
            seen[0] +=
                (s.still && s.rotation == Rotation::None && s.scale == ScaleChange::None) as usize;
            seen[1] += (s.still && s.rotation != Rotation::None) as usize;
            seen[2] += matches!(s.path, PathFact::Circle(_)) as usize;
            seen[3] += matches!(s.path, PathFact::Curve(_)) as usize;
            seen[4] += (s.easing != Easing::Linear) as usize;
        }
        let names: Vec<&str> = clip
            .objects
            .iter()
            .map(|o| o.object.name.as_str())
            .collect();
        let motion = d.describe(&clip, CaptionKind::Motion);
        // An elided manner: "…, then up" (the speed carries over).
        seen[5] += ["up", "down", "to the left", "to the right"]
            .iter()
            .any(|dir| {
                motion.contains(&format!("then {dir},")) || motion.contains(&format!("then {dir}."))
            }) as usize;
        let parsed = p.parser().parse_masked(&motion, &names);
        assert_eq!(
            parsed.as_ref().ok(),
            Some(&facts),
            "seed {seed}: '{motion}' → {parsed:?}"
        );
        let template = d.describe(&clip, CaptionKind::Template);
        assert!(template.starts_with("Something "), "{template}");
        // Template captions carry no names at all, so they parse without masking.
        let parsed = p.parser().parse(&template);
        assert_eq!(
            parsed.as_ref().ok(),
            Some(&facts),
            "seed {seed}: '{template}' → {parsed:?}"
        );
    }
    // still, rotation only, circle, curve, easing, elision
    println!("constructions seen: {seen:?}");
    assert!(
        seen.iter().all(|&n| n >= 30),
        "constructions seen: {seen:?}"
    );
}

#[test]
fn offline_paraphrases_are_k_distinct_and_keep_every_fact() {
    let p = Paraphraser::default();
    let d = Describer::default();
    let (mut short, mut rejected, mut total) = (0, 0, 0);
    for seed in 0..CLIPS {
        let clip = random_clip(seed);
        let facts = facts_of(&clip);
        let names: Vec<&str> = clip
            .objects
            .iter()
            .map(|o| o.object.name.as_str())
            .collect();
        let out = p.paraphrase_checked(&clip, 4, seed);
        let motion = d.describe(&clip, CaptionKind::Motion);
        for t in &out.texts {
            assert_ne!(t, &motion);
            let parsed = p.parser().parse_masked(t, &names);
            assert_eq!(parsed.as_ref().ok(), Some(&facts), "seed {seed}: '{t}'");
        }
        let mut uniq = out.texts.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), out.texts.len(), "duplicates: {:?}", out.texts);
        if out.texts.len() < 4 {
            short += 1;
        }
        rejected += out.rejected;
        total += out.rejected + out.texts.len();
    }
    // Without the held-out phrases a one-word motion ("a person grows": grows / gets
    // bigger, a / the person) has only three rewrites; such clips are rare.
    assert!(short <= 2, "{short} clips got fewer than 4 paraphrases");
    // The self-check is a safety net, not the mechanism: the lexicon's grammar must be
    // nearly unambiguous on its own.
    let rate = rejected as f64 / total as f64;
    println!("paraphrase candidates rejected by the fact check: {rejected}/{total} ({rate:.4})");
    assert!(rate < 0.02, "rejection rate {rate}");
}

#[test]
fn paraphrases_are_deterministic_by_seed() {
    let p = Paraphraser::default();
    let clip = random_clip(7);
    assert_eq!(p.paraphrase(&clip, 4, 11), p.paraphrase(&clip, 4, 11));
    let differ = (0..20u64).any(|s| p.paraphrase(&clip, 4, s) != p.paraphrase(&clip, 4, 11));
    assert!(differ, "the seed changes nothing");
}
