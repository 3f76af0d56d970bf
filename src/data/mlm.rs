//! Masked language modelling inputs (BERT's recipe): 15 % of the real word pieces are chosen;
//! of those 80 % become `[MASK]`, 10 % a random word piece and 10 % stay as they are. The
//! labels hold the original id where a token was chosen and [`IGNORE_INDEX`] elsewhere.

use anyhow::{Result, bail};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::tokenizer::{EncodedBatch, SpecialIds};

/// The label of a position the MLM loss skips (PyTorch's cross-entropy default).
pub const IGNORE_INDEX: i32 = -100;

/// The masking probabilities.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MlmConfig {
    /// Share of maskable tokens chosen for prediction.
    pub select_prob: f64,
    /// Share of chosen tokens replaced by `[MASK]`.
    pub mask_prob: f64,
    /// Share of chosen tokens replaced by a random word piece (the rest stay unchanged).
    pub random_prob: f64,
}

impl Default for MlmConfig {
    fn default() -> Self {
        Self {
            select_prob: 0.15,
            mask_prob: 0.8,
            random_prob: 0.1,
        }
    }
}

/// MLM inputs for one batch, row-major `[B, L]` like the encoded batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskedBatch {
    /// The ids the model sees.
    pub ids: Vec<u32>,
    /// The original id at chosen positions, [`IGNORE_INDEX`] elsewhere.
    pub labels: Vec<i32>,
}

/// Mask `batch` for MLM; the same `seed` gives the same masks on every machine.
///
/// A sequence with at least one maskable token (real, not special) always gets at least one
/// chosen position, so that no caption contributes nothing to the loss.
pub fn mask_tokens(
    batch: &EncodedBatch,
    special: &SpecialIds,
    vocab_size: usize,
    cfg: &MlmConfig,
    seed: u64,
) -> Result<MaskedBatch> {
    let p_ok = |p: f64| (0.0..=1.0).contains(&p);
    if !(p_ok(cfg.select_prob) && p_ok(cfg.mask_prob) && p_ok(cfg.random_prob))
        || cfg.mask_prob + cfg.random_prob > 1.0
    {
        bail!("MLM probabilities must lie in [0, 1] with mask + random ≤ 1, got {cfg:?}");
    }
    let specials = special.all();
    if (0..vocab_size as u32).all(|t| specials.contains(&t)) {
        bail!("the vocabulary ({vocab_size} entries) holds only special tokens");
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (b, l) = (batch.batch, batch.max_len);
    let mut ids = batch.ids.clone();
    let mut labels = vec![IGNORE_INDEX; b * l];
    for row in 0..b {
        let span = row * l..(row + 1) * l;
        let maskable: Vec<usize> = span
            .filter(|&i| {
                batch.attention_mask[i] == 1
                    && batch.special_mask[i] == 0
                    && !specials.contains(&batch.ids[i])
            })
            .collect();
        if maskable.is_empty() {
            continue;
        }
        let mut chosen: Vec<usize> = maskable
            .iter()
            .copied()
            .filter(|_| rng.random_bool(cfg.select_prob))
            .collect();
        if chosen.is_empty() {
            chosen.push(maskable[rng.random_range(0..maskable.len())]);
        }
        for i in chosen {
            labels[i] = batch.ids[i] as i32;
            let u: f64 = rng.random();
            if u < cfg.mask_prob {
                ids[i] = special.mask;
            } else if u < cfg.mask_prob + cfg.random_prob {
                ids[i] = random_word_piece(&mut rng, vocab_size, &specials);
            }
        }
    }
    Ok(MaskedBatch { ids, labels })
}

/// A uniform id among the non-special ones (rejection: the specials are 5 of thousands).
fn random_word_piece(rng: &mut ChaCha8Rng, vocab_size: usize, specials: &[u32]) -> u32 {
    loop {
        let t = rng.random_range(0..vocab_size as u32);
        if !specials.contains(&t) {
            return t;
        }
    }
}
