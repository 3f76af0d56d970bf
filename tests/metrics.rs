//! Retrieval metrics (pessimistic ties, chance levels, groups), the LR schedule and the
//! metrics JSONL log.

mod common;

use locomotion::eval::metrics::{RetrievalTargets, retrieval_metrics};
use locomotion::train::metrics_log::MetricsLog;
use locomotion::train::schedule::LrSchedule;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn perfect_scores_give_rank_one_and_chance_is_k_over_n() {
    let n = 20;
    let mut sim = vec![0.0f32; n * n];
    for i in 0..n {
        sim[i * n + i] = 1.0;
    }
    let m = retrieval_metrics(&sim, n, n, &RetrievalTargets::diagonal(n)).unwrap();
    for d in [m.text_to_video, m.video_to_text] {
        assert_eq!(
            (
                d.model.r1,
                d.model.r10,
                d.model.median_rank,
                d.model.mean_rank
            ),
            (1.0, 1.0, 1.0, 1.0)
        );
        assert!(
            close(d.chance.r1, 1.0 / 20.0) && close(d.chance.r5, 0.25) && close(d.chance.r10, 0.5)
        );
        assert!(close(d.chance.mean_rank, 10.5) && close(d.chance.median_rank, 10.0));
        assert_eq!(d.queries, 20);
    }
}

#[test]
fn ties_are_pessimistic_so_constant_scores_never_look_good() {
    let n = 8;
    let sim = vec![0.3f32; n * n];
    let m = retrieval_metrics(&sim, n, n, &RetrievalTargets::diagonal(n)).unwrap();
    for d in [m.text_to_video, m.video_to_text] {
        assert_eq!((d.model.r1, d.model.r5, d.model.r10), (0.0, 0.0, 1.0));
        assert_eq!((d.model.median_rank, d.model.mean_rank), (8.0, 8.0));
    }
    // One tie with the correct item: it is ranked behind the tied wrong one.
    let sim = [
        0.9, 0.9, 0.1, //
        0.2, 0.8, 0.5, //
        0.7, 0.1, 0.6, //
    ];
    let m = retrieval_metrics(&sim, 3, 3, &RetrievalTargets::diagonal(3)).unwrap();
    // Text ranks: 2 (tie with video 1), 1, 2. Video ranks: video0: 0.9 vs {0.2, 0.7} → 1;
    // video1: 0.8 vs {0.9, 0.1} → 2; video2: 0.6 vs {0.1, 0.5} → 1.
    assert!(close(m.text_to_video.model.r1, 1.0 / 3.0));
    assert!(close(m.text_to_video.model.mean_rank, 5.0 / 3.0));
    assert_eq!(m.text_to_video.model.median_rank, 2.0);
    assert!(close(m.video_to_text.model.r1, 2.0 / 3.0));
    assert_eq!(m.video_to_text.model.median_rank, 1.0);
}

/// Independent ranking: sort candidates by score (wrong before correct on ties) and take the
/// first correct position.
fn brute_rank(scores: &[f32], correct: &[bool]) -> usize {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| {
        scores[b]
            .total_cmp(&scores[a])
            .then(correct[a].cmp(&correct[b]))
    });
    idx.iter().position(|&i| correct[i]).unwrap() + 1
}

#[test]
fn grouped_targets_match_a_brute_force_ranking() {
    // 30 texts over 12 videos (several captions per video), scores quantised so ties happen.
    let (nt, nv) = (30, 12);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let video_of: Vec<usize> = (0..nt).map(|t| t % nv).collect();
    let sim: Vec<f32> = (0..nt * nv)
        .map(|_| (rng.random_range(0..8) as f32) / 8.0)
        .collect();
    let targets = RetrievalTargets::text_to_video(video_of.clone(), nv);
    let m = retrieval_metrics(&sim, nt, nv, &targets).unwrap();
    let t_ranks: Vec<usize> = (0..nt)
        .map(|t| {
            let correct: Vec<bool> = (0..nv).map(|v| video_of[t] == v).collect();
            brute_rank(&sim[t * nv..(t + 1) * nv], &correct)
        })
        .collect();
    let v_ranks: Vec<usize> = (0..nv)
        .map(|v| {
            let col: Vec<f32> = (0..nt).map(|t| sim[t * nv + v]).collect();
            let correct: Vec<bool> = (0..nt).map(|t| video_of[t] == v).collect();
            brute_rank(&col, &correct)
        })
        .collect();
    for (d, ranks) in [(m.text_to_video, &t_ranks), (m.video_to_text, &v_ranks)] {
        let n = ranks.len() as f64;
        let at = |k: usize| ranks.iter().filter(|&&r| r <= k).count() as f64 / n;
        assert!(close(d.model.r1, at(1)) && close(d.model.r5, at(5)) && close(d.model.r10, at(10)));
        assert!(close(
            d.model.mean_rank,
            ranks.iter().sum::<usize>() as f64 / n
        ));
    }
    // Each video has 2 or 3 correct captions among 30: chance R@1 is their mean m/30.
    let expect_r1 = (0..nv)
        .map(|v| video_of.iter().filter(|&&x| x == v).count() as f64 / 30.0)
        .sum::<f64>()
        / 12.0;
    assert!(close(m.video_to_text.chance.r1, expect_r1));
}

/// Chance R@k with m correct among N, against enumeration of every placement of the m
/// correct items (N = 7, m = 2: 21 equally likely position pairs).
#[test]
fn chance_recall_with_several_correct_items_matches_enumeration() {
    let (n, m) = (7usize, 2usize);
    // One video query, 7 texts, texts 0 and 1 correct.
    let targets = RetrievalTargets {
        text_group: vec![0, 0, 1, 2, 3, 4, 5],
        video_group: vec![0],
    };
    let sim: Vec<f32> = (0..n).map(|t| t as f32).collect();
    let d = retrieval_metrics(&sim, n, 1, &targets)
        .unwrap()
        .video_to_text;
    for (k, got) in [(1, d.chance.r1), (5, d.chance.r5), (10, d.chance.r10)] {
        let (mut hit, mut all) = (0, 0);
        // The best correct item sits at the smaller position `a` of the pair.
        for a in 0..n {
            for _b in a + 1..n {
                all += 1;
                hit += usize::from(a < k);
            }
        }
        assert!(
            close(got, hit as f64 / all as f64),
            "R@{k}: {got} vs {hit}/{all}"
        );
    }
    assert!(close(d.chance.mean_rank, (n + 1) as f64 / (m + 1) as f64));
    // Texts 0 and 1 score lowest: best correct rank is 6 of 7.
    assert_eq!(d.model.median_rank, 6.0);
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let t = RetrievalTargets::diagonal(2);
    assert!(retrieval_metrics(&[0.0; 3], 2, 2, &t).is_err());
    let e = retrieval_metrics(&[0.0, f32::NAN, 0.0, 0.0], 2, 2, &t).unwrap_err();
    assert!(e.to_string().contains("[0, 1]"), "{e}");
    let none = RetrievalTargets {
        text_group: vec![5, 6],
        video_group: vec![0, 1],
    };
    assert!(retrieval_metrics(&[0.0; 4], 2, 2, &none).is_err());
}

#[test]
fn warmup_then_cosine_at_key_points() {
    let s = LrSchedule {
        base_lr: 1e-4,
        final_lr: 1e-6,
        warmup_steps: 100,
        total_steps: 1100,
    };
    let eq = |a: f64, b: f64| (a - b).abs() < 1e-15;
    assert!(eq(s.lr(0), 0.0));
    assert!(eq(s.lr(50), 5e-5));
    assert!(eq(s.lr(100), 1e-4));
    assert!(
        eq(s.lr(600), (1e-4 + 1e-6) / 2.0),
        "half-way through the decay: {}",
        s.lr(600)
    );
    assert!(eq(s.lr(1100), 1e-6) && eq(s.lr(5000), 1e-6));
    let lrs: Vec<f64> = (0..=1100).map(|i| s.lr(i)).collect();
    assert!(
        lrs[..=100].windows(2).all(|w| w[1] > w[0]),
        "warmup must rise"
    );
    assert!(
        lrs[100..].windows(2).all(|w| w[1] < w[0]),
        "decay must fall"
    );
    let no_warmup = LrSchedule {
        warmup_steps: 0,
        ..s
    };
    assert!(eq(no_warmup.lr(0), 1e-4));
}

#[test]
fn metrics_log_writes_one_flushed_object_per_line_and_appends_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.jsonl");
    {
        let mut log = MetricsLog::open(&path, false).unwrap();
        log.write(&serde_json::json!({"step": 1, "loss": 2.5}))
            .unwrap();
        // Flushed: readable before the log is dropped.
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
        log.write(&serde_json::json!({"step": 2, "loss": 2.25}))
            .unwrap();
        assert!(log.write(&3).is_err(), "a bare number is not a record");
    }
    MetricsLog::open(&path, true)
        .unwrap()
        .write(&serde_json::json!({"step": 3}))
        .unwrap();
    assert_eq!(common::logged_steps(&path), [1, 2, 3]);
    MetricsLog::open(&path, false).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "",
        "a fresh run truncates"
    );
    let e = MetricsLog::open(&dir.path().join("no/such/dir/m.jsonl"), false)
        .err()
        .unwrap();
    assert!(e.to_string().contains("m.jsonl"), "{e}");
}
