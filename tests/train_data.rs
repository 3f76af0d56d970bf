//! The training data pipeline: caption mixtures, the online source's determinism and resume,
//! held-out libraries, the motion benchmark and one-line errors for bad inputs (the folder
//! source is in train_folder.rs).

mod common;

use common::data::{text, tiny_clip};

use std::collections::HashSet;

use locomotion::caption::{CaptionKind, describe};
use locomotion::gpu::CommandBatch;
use locomotion::motion::{Compositor, GenConfig};
use locomotion::tensor::ops::loss::IGNORE_INDEX;
use locomotion::train::data::*;

const B: usize = 3;

/// The tests' online configuration: `seed`, batches of B tiny clips, no prefetch, no fade,
/// independent clips.
fn config(seed: u64) -> OnlineConfig {
    OnlineConfig {
        seed,
        batch_size: B,
        generation: tiny_clip(),
        prefetch: false,
        background_fade_steps: 0,
        group_size: 1,
    }
}

/// An online source over the built-in training objects and backgrounds, captions from `mix`.
fn online_source(mix: &str, cfg: OnlineConfig) -> anyhow::Result<OnlineSource> {
    let split = LibrarySplit::builtin(&tiny_clip());
    OnlineSource::new(
        &common::gpu(),
        split.train_objects,
        split.train_backgrounds,
        text(mix),
        cfg,
    )
}

fn online(seed: u64, mix: &str, prefetch: bool) -> OnlineSource {
    let cfg = OnlineConfig {
        prefetch,
        ..config(seed)
    };
    online_source(mix, cfg).expect("online source")
}

fn video(b: &Batch) -> Vec<u32> {
    common::gpu().read::<u32>(&b.video).unwrap()
}

// ---------------------------------------------------------------- caption mixtures

#[test]
fn caption_mix_parses_kinds_and_weighted_mixtures() {
    let m = CaptionMix::parse("paraphrase").unwrap();
    assert_eq!(m.parts, vec![(CaptionChoice::Paraphrase, 1.0)]);
    let m = CaptionMix::parse("motion:0.5, paraphrase:1.5").unwrap();
    assert!((m.weight(CaptionChoice::Motion) - 0.25).abs() < 1e-12);
    assert!((m.weight(CaptionChoice::Paraphrase) - 0.75).abs() < 1e-12);
    assert_eq!(m.weight(CaptionChoice::Spatial), 0.0);
    for bad in [
        "motoin",
        "motion:x",
        "motion:-1",
        "motion:0",
        "motion,motion",
        "",
    ] {
        let e = CaptionMix::parse(bad).unwrap_err().to_string();
        assert!(e.contains("--captions") && e.contains(bad), "{bad:?}: {e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }
}

#[test]
fn mixture_proportions_follow_the_weights() {
    // 4000 draws: a share's standard deviation is under 0.008, the bound is 4 of them.
    let m = CaptionMix::parse("motion:0.7,paraphrase:0.2,template:0.1").unwrap();
    let n = 4000;
    let mut counts = [0usize; 4];
    for i in 0..n {
        let c = m.draw(locomotion::motion::trajectory::clip_seed(5, i));
        counts[CaptionChoice::ALL.iter().position(|&x| x == c).unwrap()] += 1;
    }
    for (c, &k) in CaptionChoice::ALL.iter().zip(&counts) {
        let share = k as f64 / n as f64;
        assert!(
            (share - m.weight(*c)).abs() < 0.032,
            "{}: {share} vs {}",
            c.name(),
            m.weight(*c)
        );
    }
    // Through the source: the captions are what each choice says.
    let src = online(5, "motion:0.5,paraphrase:0.5", false);
    let mut para = 0;
    for s in 0..6 {
        let h = src.host_batch(s).unwrap();
        for (i, c) in h.choices.iter().enumerate() {
            let motion = describe(&h.clips[i], CaptionKind::Motion);
            match c {
                CaptionChoice::Motion => assert_eq!(h.captions[i], motion),
                CaptionChoice::Paraphrase => {
                    para += 1;
                    assert_ne!(h.captions[i], motion, "a paraphrase rewrites the caption");
                }
                other => panic!("{other:?} is not in the mix"),
            }
        }
    }
    assert!((2..=16).contains(&para), "{para} paraphrases of 18 samples");
}

// ---------------------------------------------------------------- online source

#[test]
fn online_batches_are_deterministic_by_seed_and_step() {
    let (mut a, mut b) = (online(7, "motion", false), online(7, "motion", true));
    let (x, y) = (a.batch(4).unwrap(), b.batch(4).unwrap());
    assert_eq!(x.host, y.host, "same seed and step, same CPU half");
    let vx = video(&x);
    assert_eq!(vx, video(&y), "same seed and step, same video bits");
    let gpu = common::gpu();
    assert_eq!(gpu.read::<u32>(&x.ids).unwrap(), x.host.text.ids);
    assert_eq!(gpu.read::<u32>(&x.mlm_labels).unwrap(), x.host.mlm_labels);
    assert_eq!(gpu.read::<u32>(&x.mlm_ids).unwrap(), x.host.mlm_ids);
    assert_eq!(
        gpu.read::<u32>(&x.attention_mask).unwrap(),
        x.host.text.attention_mask
    );
    // Clip indices s·B + i.
    let ids: Vec<String> = (0..B).map(|i| format!("clip-{:06}", 4 * B + i)).collect();
    assert_eq!(x.host.clip_ids(), ids);
    // The video is exactly the compositor's normalised tensor of those clips, rendered here
    // into a poisoned buffer.
    let split = LibrarySplit::builtin(&tiny_clip());
    let comp = Compositor::new(&gpu, &split.train_objects, &split.train_backgrounds).unwrap();
    let want = gpu
        .filled(
            VIDEO_NORMALIZATION.bytes((B * 8) as u64, 32, 32),
            common::POISON,
            "reference video",
        )
        .unwrap();
    let mut gb = CommandBatch::new(&gpu);
    let staged = comp
        .record(&mut gb, &x.host.clips, &want, VIDEO_NORMALIZATION)
        .unwrap();
    gb.submit_and_wait().unwrap();
    drop(staged);
    assert_eq!(vx, gpu.read::<u32>(&want).unwrap());
    let fv: Vec<f32> = bytemuck::cast_slice(&vx).to_vec();
    assert_eq!(fv.len(), B * 8 * 3 * 32 * 32);
    assert!(fv.iter().all(|v| v.is_finite() && v.abs() < 3.0));
    // Another step or seed: other clips, captions and pixels.
    let z = a.batch(5).unwrap();
    assert_ne!(z.host.text.ids, x.host.text.ids);
    assert_ne!(video(&z), vx);
    let w = online(8, "motion", false).batch(4).unwrap();
    assert_ne!(video(&w), vx);
}

#[test]
fn resume_at_a_step_gives_the_batch_reached_by_iterating() {
    let mut run = online(11, "motion:0.5,paraphrase:0.5", true);
    let mut last = None;
    for s in 0..4 {
        last = Some(run.batch(s).unwrap());
    }
    let iterated = last.unwrap();
    let resumed = online(11, "motion:0.5,paraphrase:0.5", false)
        .batch(3)
        .unwrap();
    assert_eq!(iterated.host, resumed.host);
    assert_eq!(video(&iterated), video(&resumed));
}

#[test]
fn online_source_rejects_bad_settings_and_counts_its_time() {
    let make = |batch_size, frames| {
        let generation = GenConfig {
            frames,
            ..tiny_clip()
        };
        let cfg = OnlineConfig {
            batch_size,
            generation,
            ..config(0)
        };
        online_source("motion", cfg)
    };
    let e = make(0, 8).err().unwrap().to_string();
    assert!(e.contains("--batch-size"), "{e}");
    let e = make(2, 1).err().unwrap().to_string();
    assert!(e.contains("--frames"), "{e}");
    let mut src = make(2, 8).unwrap();
    assert_eq!(src.data_time(), std::time::Duration::ZERO);
    src.batch(0).unwrap();
    assert!(src.data_time() > std::time::Duration::ZERO);
}

#[test]
fn backgrounds_fade_in_from_black_over_the_fade_steps() {
    let cfg = OnlineConfig {
        batch_size: 2,
        background_fade_steps: 90,
        ..config(3)
    };
    let gains: Vec<f32> = [0, 29, 30, 60, 90, 500]
        .map(|s| cfg.background_gain(s))
        .to_vec();
    assert_eq!(gains, [0.0, 0.0, 0.0, 0.5, 1.0, 1.0]);
    let never = OnlineConfig {
        background_fade_steps: 0,
        group_size: 1,
        ..cfg.clone()
    };
    assert_eq!(never.background_gain(0), 1.0);
    // Batch 0 of a fading source: whatever no object covers is black.
    let mut src = online_source("motion", cfg).unwrap();
    let b = src.batch(0).unwrap();
    let v: Vec<f32> = common::gpu().read(&b.video).unwrap();
    let black = -0.485 / 0.229; // red channel of a black pixel after normalising
    let plane = 32 * 32;
    let red_black = v
        .chunks(plane)
        .step_by(3)
        .flatten()
        .filter(|&&x| (x - black).abs() < 1e-4)
        .count();
    assert!(
        red_black > v.len() / 3 / 2,
        "{red_black} black of {}",
        v.len() / 3
    );
}

#[test]
fn mlm_labels_mark_exactly_the_masked_positions() {
    let h = online(3, "motion", false).host_batch(2).unwrap();
    let mut chosen = 0;
    for i in 0..h.text.ids.len() {
        if h.mlm_labels[i] == IGNORE_INDEX {
            assert_eq!(
                h.mlm_ids[i], h.text.ids[i],
                "unlabelled tokens are untouched"
            );
        } else {
            chosen += 1;
            assert_eq!(
                h.mlm_labels[i], h.text.ids[i],
                "the label is the original id"
            );
            assert_eq!(h.text.attention_mask[i], 1, "never a padding position");
        }
    }
    assert!(chosen >= B, "every caption has a masked token");
}

#[test]
fn groups_are_shared_exactly_by_clips_that_look_alike() {
    let h = online(3, "motion", false).host_batch(0).unwrap();
    for i in 0..B {
        for j in 0..B {
            let alike = h.clips[i].background.id == h.clips[j].background.id
                && h.clips[i].objects[0].object.id == h.clips[j].objects[0].object.id;
            assert_eq!(h.groups[i] == h.groups[j], alike);
        }
    }
}

// ---------------------------------------------------------------- held-out data

#[test]
fn heldout_libraries_are_disjoint_from_training_ones() {
    let split = LibrarySplit::builtin(&tiny_clip());
    let ids = |v: Vec<&str>| v.into_iter().map(String::from).collect::<HashSet<_>>();
    let to = ids(split
        .train_objects
        .objects
        .iter()
        .map(|o| o.0.id.as_str())
        .collect());
    let ho = ids(split
        .heldout_objects
        .objects
        .iter()
        .map(|o| o.0.id.as_str())
        .collect());
    let tb = ids(split
        .train_backgrounds
        .videos
        .iter()
        .map(|v| v.background.id.as_str())
        .collect());
    let hb = ids(split
        .heldout_backgrounds
        .videos
        .iter()
        .map(|v| v.background.id.as_str())
        .collect());
    assert!(to.is_disjoint(&ho) && tb.is_disjoint(&hb));
    assert_eq!((to.len(), ho.len()), (48, 16));
    assert_eq!((tb.len(), hb.len()), (8, 2));
    // Training batches only draw training ones; the held-out set only held-out ones.
    let src = online(1, "motion", false);
    for s in 0..30 {
        for c in src.host_batch(s).unwrap().clips {
            assert!(to.contains(&c.objects[0].object.id) && tb.contains(&c.background.id));
        }
    }
    let eval = EvalSet::retrieval(1, 40, &tiny_clip(), &split, &text("motion"));
    for c in &eval.clips {
        assert!(ho.contains(&c.objects[0].object.id) && hb.contains(&c.background.id));
        assert!(!c.id.is_empty());
    }
    let train_seeds: HashSet<u64> = (0..200)
        .map(|i| locomotion::motion::trajectory::clip_seed(1, i))
        .collect();
    assert!(eval.clips.iter().all(|c| !train_seeds.contains(&c.seed)));
}

#[test]
fn motion_benchmark_groups_differ_only_in_motion() {
    let split = LibrarySplit::builtin(&tiny_clip());
    let bench = EvalSet::motion_benchmark(2, 3, 4, &tiny_clip(), &split);
    assert_eq!(bench.clips.len(), 12);
    for g in 0..3u64 {
        let members: Vec<usize> = (0..12).filter(|&i| bench.groups[i] == g).collect();
        assert_eq!(members.len(), 4);
        let first = &bench.clips[members[0]];
        let captions: HashSet<&str> = members
            .iter()
            .map(|&i| bench.captions[i].as_str())
            .collect();
        assert_eq!(captions.len(), 4, "distinct motions in group {g}");
        for &i in &members {
            let c = &bench.clips[i];
            assert_eq!(c.background.id, first.background.id);
            assert_eq!(c.objects[0].object.id, first.objects[0].object.id);
            assert_eq!(bench.captions[i], describe(c, CaptionKind::Template));
            assert!(bench.captions[i].to_lowercase().contains("something"));
        }
    }
    // It renders as a GPU batch on the held-out libraries.
    let gpu = common::gpu();
    let comp = Compositor::new(&gpu, &split.heldout_objects, &split.heldout_backgrounds).unwrap();
    let b = bench
        .batch(&gpu, &comp, &text("template"), 0..5, 0)
        .unwrap();
    assert_eq!(b.host.groups, bench.groups[0..5]);
    assert!(
        bench
            .batch(&gpu, &comp, &text("template"), 10..13, 0)
            .is_err()
    );
    let v: Vec<f32> = gpu.read(&b.video).unwrap();
    assert!(v.len() == 5 * 8 * 3 * 32 * 32 && v.iter().all(|x| x.is_finite()));
}

#[test]
fn motion_hard_batches_are_groups_that_differ_only_in_motion() {
    let make = |batch_size, group_size| {
        let cfg = OnlineConfig {
            batch_size,
            group_size,
            ..config(3)
        };
        online_source("motion", cfg)
    };
    let e = make(6, 4).err().unwrap().to_string();
    assert!(
        e.contains("--group-size 4") && e.contains("--batch 6"),
        "{e}"
    );
    let src = make(8, 4).unwrap();
    for step in 0..3 {
        let h = src.host_batch(step).unwrap();
        assert_eq!(h.len(), 8);
        for g in h.clips.chunks(4).zip(h.groups.chunks(4)) {
            let (clips, groups) = g;
            // One object on one background per group ...
            assert!(groups.iter().all(|x| *x == groups[0]), "step {step}");
            // ... and four different motions.
            let t: HashSet<String> = clips
                .iter()
                .map(|c| describe(c, CaptionKind::Template))
                .collect();
            assert_eq!(t.len(), 4, "step {step}: {t:?}");
        }
        // Two groups of one batch look different (the draw is over the whole library).
        assert_ne!(h.groups[0], h.groups[4], "step {step}");
    }
    // The same clips as the shared group sampler makes (which the benchmark uses too).
    let split = LibrarySplit::builtin(&tiny_clip());
    let h = src.host_batch(1).unwrap();
    let want = motion_group(
        3,
        2,
        4,
        &tiny_clip(),
        &split.train_objects,
        &split.train_backgrounds,
    );
    assert_eq!(&h.clips[..4], &want[..]);
}
