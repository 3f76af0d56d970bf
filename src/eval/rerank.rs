//! VTM re-ranking (`eval --rerank-vtm K`), as ALBEF / BLIP / VindLU evaluate retrieval: VTC
//! similarities pick each query's top K candidates, then the cross encoder and VTM head score
//! those (video, text) pairs and the candidates are re-ordered by VTM's matched probability,
//! ahead of the rest (which keep their VTC order).

use std::collections::BTreeSet;

use anyhow::Result;
use indicatif::ProgressBar;

use super::metrics::{RetrievalMetrics, RetrievalTargets, retrieval_metrics};
use crate::gpu::Gpu;
use crate::model::locomotion::{Embedded, LocoModel};
use crate::tensor::{Tape, Tensor};

/// An encoded evaluation set: the text×video similarities, who matches whom and, for
/// re-ranking, the encoders' states.
pub struct EncodedSet {
    /// Pairs (texts = videos = n).
    pub n: usize,
    /// `sim[text·n + video]`: cosine of the unit VTC embeddings.
    pub sim: Vec<f32>,
    /// Text t matches video v when their captions are identical (or t = v).
    pub targets: RetrievalTargets,
    /// The captions, in clip order.
    pub captions: Vec<String>,
    /// The final encoder states (kept only when re-ranking).
    pub states: Option<States>,
}

/// The final encoder states of an evaluation set, clip order, host memory.
#[derive(Debug, Clone, Default)]
pub struct States {
    /// Text states `[n, L, H]`.
    pub text: Vec<f32>,
    /// Text attention masks `[n, L]`.
    pub mask: Vec<u32>,
    /// Video states `[n, Lv, Hv]`.
    pub video: Vec<f32>,
    /// Text length L.
    pub len: usize,
    /// Video tokens Lv.
    pub video_len: usize,
    /// Clips held.
    pub n: usize,
}

impl States {
    /// Append one batch's states (its masks `[B, L]`).
    pub fn push(&mut self, e: &Embedded, mask: &[u32], len: usize) {
        self.text.extend_from_slice(&e.text_states);
        self.video.extend_from_slice(&e.video_states);
        self.mask.extend_from_slice(mask);
        (self.len, self.video_len) = (len, e.video_len);
        self.n += mask.len() / len.max(1);
    }
}

/// VTM matched probabilities of `pairs` (text index, video index), `batch` pairs per pass.
pub fn vtm_pair_scores(
    gpu: &Gpu,
    model: &LocoModel,
    states: &States,
    pairs: &[(usize, usize)],
    batch: usize,
    bar: &ProgressBar,
) -> Result<Vec<f32>> {
    let (l, lv) = (states.len, states.video_len);
    let (h, hv) = (model.cfg.text.hidden_size, model.cfg.video.hidden_size);
    anyhow::ensure!(
        pairs.iter().all(|&(t, v)| t < states.n && v < states.n),
        "a VTM pair is outside the {} clips",
        states.n
    );
    let mut out = Vec::with_capacity(pairs.len());
    for chunk in pairs.chunks(batch.max(1)) {
        let p = chunk.len();
        let (mut text, mut mask, mut video) = (Vec::new(), Vec::new(), Vec::new());
        for &(t, v) in chunk {
            text.extend_from_slice(&states.text[t * l * h..(t + 1) * l * h]);
            mask.extend_from_slice(&states.mask[t * l..(t + 1) * l]);
            video.extend_from_slice(&states.video[v * lv * hv..(v + 1) * lv * hv]);
        }
        let tape = Tape::new(gpu);
        let text = Tensor::from_host(gpu, &text, [p, l, h])?;
        let video = Tensor::from_host(gpu, &video, [p, lv, hv])?;
        out.extend(model.vtm_scores(&tape, &text, &mask, &video)?);
        bar.inc(p as u64);
    }
    Ok(out)
}

/// The `k` best-scoring of `n` candidates (ties: lower index first).
pub fn top_k(n: usize, k: usize, score: impl Fn(usize) -> f32) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| score(b).total_cmp(&score(a)).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// Metrics after re-ranking each text query's top `k` videos and each video query's top `k`
/// texts by VTM's matched probability (`batch` pairs a VTM pass, a progress bar with
/// `progress`).
pub fn rerank(
    gpu: &Gpu,
    model: &LocoModel,
    set: &EncodedSet,
    k: usize,
    batch: usize,
    progress: bool,
) -> Result<RetrievalMetrics> {
    let Some(states) = &set.states else {
        anyhow::bail!("re-ranking needs the encoder states (encode with rerank_vtm > 0)");
    };
    let (n, sim) = (set.n, &set.sim);
    let t2v: Vec<Vec<usize>> = (0..n).map(|t| top_k(n, k, |v| sim[t * n + v])).collect();
    let v2t: Vec<Vec<usize>> = (0..n).map(|v| top_k(n, k, |t| sim[t * n + v])).collect();
    // Each (text, video) pair once, in a fixed order, whichever direction asked for it.
    let mut wanted = BTreeSet::new();
    for t in 0..n {
        wanted.extend(t2v[t].iter().map(|&v| (t, v)));
        wanted.extend(v2t[t].iter().map(|&x| (x, t)));
    }
    let pairs: Vec<(usize, usize)> = wanted.into_iter().collect();
    let bar = crate::util::progress::bar(progress, pairs.len() as u64, "VTM rerank", "pairs");
    let scores = vtm_pair_scores(gpu, model, states, &pairs, batch, &bar)?;
    bar.finish_and_clear();
    let p = |t: usize, v: usize| scores[pairs.binary_search(&(t, v)).expect("scored pair")];
    let mut by_text = sim.clone();
    for (t, cands) in t2v.iter().enumerate() {
        let s = lifted(&cands.iter().map(|&v| p(t, v)).collect::<Vec<_>>());
        for (&v, s) in cands.iter().zip(s) {
            by_text[t * n + v] = s;
        }
    }
    let mut by_video = sim.clone();
    for (v, cands) in v2t.iter().enumerate() {
        let s = lifted(&cands.iter().map(|&t| p(t, v)).collect::<Vec<_>>());
        for (&t, s) in cands.iter().zip(s) {
            by_video[t * n + v] = s;
        }
    }
    Ok(RetrievalMetrics {
        text_to_video: retrieval_metrics(&by_text, n, n, &set.targets)?.text_to_video,
        video_to_text: retrieval_metrics(&by_video, n, n, &set.targets)?.video_to_text,
    })
}

/// Scores above every cosine (≤ 1) that order like `p` and tie where `p` ties: 2 plus the
/// dense rank from the bottom, exact in f32 (adding 2 to p itself would merge close p).
fn lifted(p: &[f32]) -> Vec<f32> {
    let mut distinct = p.to_vec();
    distinct.sort_by(f32::total_cmp);
    distinct.dedup();
    p.iter()
        .map(|x| 2.0 + distinct.partition_point(|d| d < x) as f32)
        .collect()
}
