//! Retrieval metrics from a text×video similarity matrix (R@1/5/10, median and mean rank, in
//! both directions, each beside its chance level).
//!
//! Ranks are pessimistic: a wrong item scoring *the same* as the best correct one is ranked
//! ahead of it, so a model that scores everything equally gets chance-level numbers, never
//! perfect ones.

use anyhow::{Result, bail};
use serde::Serialize;

/// Which texts match which videos: text `t` matches video `v` iff
/// `text_group[t] == video_group[v]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrievalTargets {
    /// The group of each text (row).
    pub text_group: Vec<usize>,
    /// The group of each video (column).
    pub video_group: Vec<usize>,
}

impl RetrievalTargets {
    /// Text `i` matches video `i` only.
    pub fn diagonal(n: usize) -> Self {
        Self {
            text_group: (0..n).collect(),
            video_group: (0..n).collect(),
        }
    }

    /// Text `t` matches video `video_of_text[t]` (several texts may share a video).
    pub fn text_to_video(video_of_text: Vec<usize>, n_video: usize) -> Self {
        Self {
            text_group: video_of_text,
            video_group: (0..n_video).collect(),
        }
    }
}

/// Recall@k and ranks for one direction (1-based ranks).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct RankMetrics {
    /// Share of queries whose best correct item is ranked first.
    pub r1: f64,
    /// … within the top 5.
    pub r5: f64,
    /// … within the top 10.
    pub r10: f64,
    /// Median rank of the best correct item.
    pub median_rank: f64,
    /// Mean rank of the best correct item.
    pub mean_rank: f64,
}

/// One direction's metrics and what a random scorer would get.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct DirectionMetrics {
    /// Queries that had at least one correct item (the others are skipped).
    pub queries: usize,
    /// The model's numbers.
    pub model: RankMetrics,
    /// Chance level: R@k = 1 − C(N−m, k)/C(N, k) for m correct among N (k/N when m = 1),
    /// mean rank (N+1)/(m+1), median rank the smallest r with P(rank ≤ r) ≥ ½.
    pub chance: RankMetrics,
}

/// Retrieval both ways.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct RetrievalMetrics {
    /// Text query → video ranking (rows of the matrix).
    pub text_to_video: DirectionMetrics,
    /// Video query → text ranking (columns).
    pub video_to_text: DirectionMetrics,
}

/// Metrics of the row-major `[n_text, n_video]` similarity matrix `sim`.
pub fn retrieval_metrics(
    sim: &[f32],
    n_text: usize,
    n_video: usize,
    targets: &RetrievalTargets,
) -> Result<RetrievalMetrics> {
    if sim.len() != n_text * n_video {
        bail!(
            "similarity matrix has {} values, expected {n_text}×{n_video}",
            sim.len()
        );
    }
    if targets.text_group.len() != n_text || targets.video_group.len() != n_video {
        bail!(
            "retrieval targets cover {} texts and {} videos, the matrix {n_text}×{n_video}",
            targets.text_group.len(),
            targets.video_group.len()
        );
    }
    if let Some(i) = sim.iter().position(|s| !s.is_finite()) {
        bail!(
            "similarity [{}, {}] is not finite: the model's embeddings overflow (NaN or infinity)",
            i / n_video,
            i % n_video
        );
    }
    let t2v = direction(
        n_text,
        n_video,
        |q, c| sim[q * n_video + c],
        |q, c| targets.text_group[q] == targets.video_group[c],
    )?;
    let v2t = direction(
        n_video,
        n_text,
        |q, c| sim[c * n_video + q],
        |q, c| targets.video_group[q] == targets.text_group[c],
    )?;
    Ok(RetrievalMetrics {
        text_to_video: t2v,
        video_to_text: v2t,
    })
}

/// Metrics of the row-major `[n_text, n_video]` `sim` when text t matches video v iff
/// `(t, v)` is in `pairs` (several videos per text and several texts per video): a query's
/// rank is the best rank of any of its matches, as Singularity's `itm_eval` ranks; ties
/// pessimistic, as everywhere here.
pub fn retrieval_metrics_pairs(
    sim: &[f32],
    n_text: usize,
    n_video: usize,
    pairs: &[(usize, usize)],
) -> Result<RetrievalMetrics> {
    if sim.len() != n_text * n_video {
        bail!(
            "similarity matrix has {} values, expected {n_text}×{n_video}",
            sim.len()
        );
    }
    if let Some(i) = sim.iter().position(|s| !s.is_finite()) {
        bail!(
            "similarity [{}, {}] is not finite",
            i / n_video,
            i % n_video
        );
    }
    let (mut t2v, mut v2t) = (vec![Vec::new(); n_text], vec![Vec::new(); n_video]);
    for &(t, v) in pairs {
        if t >= n_text || v >= n_video {
            bail!("match ({t}, {v}) is outside the {n_text}×{n_video} matrix");
        }
        t2v[t].push(v);
        v2t[v].push(t);
    }
    t2v.iter_mut()
        .chain(v2t.iter_mut())
        .for_each(|l| l.sort_unstable());
    let text_to_video = direction(
        n_text,
        n_video,
        |q, c| sim[q * n_video + c],
        |q, c| t2v[q].binary_search(&c).is_ok(),
    )?;
    let video_to_text = direction(
        n_video,
        n_text,
        |q, c| sim[c * n_video + q],
        |q, c| v2t[q].binary_search(&c).is_ok(),
    )?;
    Ok(RetrievalMetrics {
        text_to_video,
        video_to_text,
    })
}

fn direction(
    n_query: usize,
    n_cand: usize,
    score: impl Fn(usize, usize) -> f32,
    correct: impl Fn(usize, usize) -> bool,
) -> Result<DirectionMetrics> {
    let mut ranks = Vec::with_capacity(n_query);
    let mut chance = Vec::with_capacity(n_query);
    for q in 0..n_query {
        let m = (0..n_cand).filter(|&c| correct(q, c)).count();
        if m == 0 {
            continue;
        }
        let best = (0..n_cand)
            .filter(|&c| correct(q, c))
            .map(|c| score(q, c))
            .fold(f32::NEG_INFINITY, f32::max);
        // Pessimistic: every wrong item at or above the best correct score goes first.
        let ahead = (0..n_cand)
            .filter(|&c| !correct(q, c) && score(q, c) >= best)
            .count();
        ranks.push((ahead + 1) as f64);
        chance.push(chance_metrics(n_cand, m));
    }
    if ranks.is_empty() {
        bail!("no query has a correct item: check the retrieval targets");
    }
    let n = ranks.len() as f64;
    let recall = |k: f64| ranks.iter().filter(|&&r| r <= k).count() as f64 / n;
    let model = RankMetrics {
        r1: recall(1.0),
        r5: recall(5.0),
        r10: recall(10.0),
        median_rank: median(&mut ranks.clone()),
        mean_rank: ranks.iter().sum::<f64>() / n,
    };
    let avg = |f: fn(&RankMetrics) -> f64| chance.iter().map(f).sum::<f64>() / n;
    let chance_all = RankMetrics {
        r1: avg(|c| c.r1),
        r5: avg(|c| c.r5),
        r10: avg(|c| c.r10),
        median_rank: median(&mut chance.iter().map(|c| c.median_rank).collect::<Vec<_>>()),
        mean_rank: avg(|c| c.mean_rank),
    };
    Ok(DirectionMetrics {
        queries: ranks.len(),
        model,
        chance: chance_all,
    })
}

/// What a uniformly random ranking of `n` candidates with `m` correct ones gives.
fn chance_metrics(n: usize, m: usize) -> RankMetrics {
    // P(best correct rank > r) = C(n−r, m) / C(n, m), as a running product.
    let p_above = |r: usize| -> f64 {
        if r + m > n {
            return 0.0;
        }
        (0..m)
            .map(|i| (n - r - i) as f64 / (n - i) as f64)
            .product()
    };
    let recall = |k: usize| 1.0 - p_above(k.min(n));
    let median_rank = (1..=n).find(|&r| 1.0 - p_above(r) >= 0.5).unwrap_or(n) as f64;
    RankMetrics {
        r1: recall(1),
        r5: recall(5),
        r10: recall(10),
        median_rank,
        mean_rank: (n + 1) as f64 / (m + 1) as f64,
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}
