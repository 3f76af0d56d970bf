//! The frozen text encoder's pooled states, kept per caption for the run. A frozen encoder's
//! output depends on the caption alone, so with VTC the only objective that reads it (VTM
//! reads every hidden state; MLM cannot run frozen) each caption is encoded once: the full
//! depth of a pretrained encoder then costs a forward per *new* caption, not per step.

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::Result;

use super::{LocoModel, PairBatch};
use crate::model::text::TextBatch;
use crate::tensor::{Tape, Tensor};

/// Captions kept at most; past it the cache starts over (about 1.5 KiB each at MiniLM's
/// width: a bound on memory, far above the distinct captions of a pre-training run).
const MAX_CAPTIONS: usize = 1 << 16;

/// Pooled text states `[H]` by caption (its real tokens' ids and segment ids), with counts.
#[derive(Default)]
pub struct TextCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    pooled: HashMap<Vec<u32>, Vec<f32>>,
    hits: u64,
    misses: u64,
}

/// How often [`LocoModel::text_pooled`] found a caption in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextCacheStats {
    /// Captions served from the cache.
    pub hits: u64,
    /// Captions encoded (first sight).
    pub misses: u64,
    /// Captions held now.
    pub held: usize,
}

/// The cache key of row `r` of `text`: ids, then segment ids, of its real (mask 1) tokens.
/// Padding is neither attended to nor pooled, so it does not change the pooled state.
fn key(text: &TextBatch, r: usize) -> Vec<u32> {
    let row = r * text.len..(r + 1) * text.len;
    let real = |v: &[u32]| -> Vec<u32> {
        v[row.clone()]
            .iter()
            .zip(&text.mask[row.clone()])
            .filter(|(_, m)| **m == 1)
            .map(|(x, _)| *x)
            .collect()
    };
    let mut k = real(text.ids);
    k.extend(real(text.token_types));
    k
}

impl LocoModel {
    /// The text states one step reads: the hidden states `[B, L, H]` (`None` when only VTC
    /// reads the text and the encoder is frozen: then the pooled states come from the cache)
    /// and the pooled states `[B, H]`. A frozen encoder runs off the tape.
    pub(super) fn text_states(
        &self,
        tape: &Tape,
        batch: &PairBatch,
    ) -> Result<(Option<Tensor>, Tensor)> {
        if let Some(pooled) = self.cached_text_pooled(tape, batch)? {
            return Ok((None, pooled));
        }
        let _off = self.frozen_text.then(|| tape.no_grad());
        let out = self.text.forward(tape, batch.text(batch.ids))?;
        Ok((Some(out.hidden), out.pooled))
    }

    /// The pooled text states `[B, H]` VTC reads, off the tape. A frozen text encoder's come
    /// from the cache (captions not seen before are encoded together, once); a trained one's
    /// are recomputed (`None`: the caller runs the encoder on the tape).
    pub(super) fn cached_text_pooled(
        &self,
        tape: &Tape,
        batch: &PairBatch,
    ) -> Result<Option<Tensor>> {
        if !self.frozen_text || self.cfg.loss_weights.vtm > 0.0 {
            return Ok(None);
        }
        let text = batch.text(batch.ids);
        let (b, l, h) = (text.batch, text.len, self.cfg.text.hidden_size);
        let keys: Vec<Vec<u32>> = (0..b).map(|r| key(&text, r)).collect();
        let mut inner = self
            .text_cache
            .inner
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // The rows to encode: the first row of each caption the cache lacks.
        let mut new: Vec<usize> = Vec::new();
        for (r, k) in keys.iter().enumerate() {
            if !inner.pooled.contains_key(k) && !new.iter().any(|&n| keys[n] == *k) {
                new.push(r);
            }
        }
        inner.hits += (b - new.len()) as u64;
        inner.misses += new.len() as u64;
        let mut fresh: HashMap<&[u32], &[f32]> = HashMap::new();
        let pooled = if new.is_empty() {
            vec![]
        } else {
            // Trailing padding changes nothing but the cost: cut it to the longest new caption.
            let used = |r: usize| {
                let row = &text.mask[r * l..(r + 1) * l];
                row.iter().rposition(|&m| m == 1).map_or(1, |p| p + 1)
            };
            let n = new.iter().map(|&r| used(r)).max().unwrap_or(l);
            let pick = |v: &[u32]| -> Vec<u32> {
                new.iter()
                    .flat_map(|&r| v[r * l..r * l + n].iter().copied())
                    .collect()
            };
            let (ids, types, mask) = (pick(text.ids), pick(text.token_types), pick(text.mask));
            let sub = TextBatch {
                ids: &ids,
                token_types: &types,
                mask: &mask,
                batch: new.len(),
                len: n,
            };
            let _off = tape.no_grad();
            self.text.forward(tape, sub)?.pooled.to_vec()?
        };
        for (i, &r) in new.iter().enumerate() {
            fresh.insert(&keys[r], &pooled[i * h..(i + 1) * h]);
        }
        let mut all = Vec::with_capacity(b * h);
        for k in &keys {
            match fresh.get(k.as_slice()) {
                Some(state) => all.extend_from_slice(state),
                None => all.extend_from_slice(&inner.pooled[k]),
            }
        }
        if inner.pooled.len() + fresh.len() > MAX_CAPTIONS {
            inner.pooled.clear();
        }
        for (k, state) in fresh {
            inner.pooled.insert(k.to_vec(), state.to_vec());
        }
        Ok(Some(Tensor::from_host(&self.gpu, &all, [b, h])?))
    }

    /// How the frozen text encoder's cache has served so far (all zero when unused).
    pub fn text_cache_stats(&self) -> TextCacheStats {
        let inner = self
            .text_cache
            .inner
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        TextCacheStats {
            hits: inner.hits,
            misses: inner.misses,
            held: inner.pooled.len(),
        }
    }
}
