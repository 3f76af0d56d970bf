//! Which caption a training sample gets: `--captions motion|spatial|template|paraphrase` or a
//! weighted mixture (`motion:0.7,paraphrase:0.3`), drawn per sample from the sample's seed.

use anyhow::{Result, bail};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::caption::{CaptionKind, Describer, Paraphraser};
use crate::motion::params::ClipParams;

/// The caption of one sample: a describer kind or a lexicon paraphrase of the motion caption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaptionChoice {
    /// The rule-based motion caption.
    Motion,
    /// Appearance and background only (the web-caption baseline).
    Spatial,
    /// Motion with the object replaced by "something".
    Template,
    /// One of k verb-variation paraphrases of the motion caption.
    Paraphrase,
}

impl CaptionChoice {
    /// All four, in flag order.
    pub const ALL: [CaptionChoice; 4] = [
        CaptionChoice::Motion,
        CaptionChoice::Spatial,
        CaptionChoice::Template,
        CaptionChoice::Paraphrase,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            CaptionChoice::Motion => "motion",
            CaptionChoice::Spatial => "spatial",
            CaptionChoice::Template => "template",
            CaptionChoice::Paraphrase => "paraphrase",
        }
    }

    /// The describer kind this choice starts from (a paraphrase rewrites the motion caption).
    pub fn kind(self) -> CaptionKind {
        match self {
            CaptionChoice::Motion | CaptionChoice::Paraphrase => CaptionKind::Motion,
            CaptionChoice::Spatial => CaptionKind::Spatial,
            CaptionChoice::Template => CaptionKind::Template,
        }
    }
}

/// A weighted mixture of caption choices (weights normalised to sum to 1).
#[derive(Debug, Clone, PartialEq)]
pub struct CaptionMix {
    /// Each choice with its probability, in the order given.
    pub parts: Vec<(CaptionChoice, f64)>,
    /// Paraphrases per motion caption that a `paraphrase` sample picks one from.
    pub paraphrases: usize,
}

/// Paraphrases per caption when the flag does not say (as `generate --captions`).
pub const DEFAULT_PARAPHRASES: usize = 4;

impl CaptionMix {
    /// One kind only.
    pub fn single(choice: CaptionChoice) -> Self {
        Self {
            parts: vec![(choice, 1.0)],
            paraphrases: DEFAULT_PARAPHRASES,
        }
    }

    /// Parse `--captions`: `motion`, or `motion:0.7,paraphrase:0.3` (weights are relative).
    pub fn parse(flag: &str) -> Result<Self> {
        let mut parts: Vec<(CaptionChoice, f64)> = Vec::new();
        for item in flag.split(',') {
            let (name, weight) = match item.split_once(':') {
                Some((n, w)) => {
                    let w: f64 = w.trim().parse().map_err(|_| {
                        anyhow::anyhow!("--captions '{flag}': weight '{w}' is not a number")
                    })?;
                    (n.trim(), w)
                }
                None => (item.trim(), 1.0),
            };
            let Some(choice) = CaptionChoice::ALL.into_iter().find(|c| c.name() == name) else {
                bail!(
                    "--captions '{flag}': unknown caption kind '{name}' \
                     (motion, spatial, template or paraphrase)"
                );
            };
            if !(weight.is_finite() && weight > 0.0) {
                bail!("--captions '{flag}': the weight of {name} must be a positive number");
            }
            if parts.iter().any(|(c, _)| *c == choice) {
                bail!("--captions '{flag}': {name} is given twice");
            }
            parts.push((choice, weight));
        }
        let total: f64 = parts.iter().map(|p| p.1).sum();
        for p in &mut parts {
            p.1 /= total;
        }
        Ok(Self {
            parts,
            paraphrases: DEFAULT_PARAPHRASES,
        })
    }

    /// The probability of `choice` in this mixture.
    pub fn weight(&self, choice: CaptionChoice) -> f64 {
        self.parts
            .iter()
            .find(|p| p.0 == choice)
            .map_or(0.0, |p| p.1)
    }

    /// The choice of the sample whose seed is `sample_seed` (the same seed, the same choice).
    pub fn draw(&self, sample_seed: u64) -> CaptionChoice {
        let mut rng = ChaCha8Rng::seed_from_u64(sample_seed ^ CHOICE_SALT);
        let u: f64 = rng.random();
        let mut acc = 0.0;
        for &(c, w) in &self.parts {
            acc += w;
            if u < acc {
                return c;
            }
        }
        self.parts.last().expect("a parsed mix is non-empty").0
    }

    /// The caption text of `clip` under `choice`. A paraphrase is one of `self.paraphrases`
    /// lexicon paraphrases, both drawn from `sample_seed`; a clip the lexicon cannot
    /// rephrase keeps its motion caption.
    pub fn caption(
        &self,
        clip: &ClipParams,
        choice: CaptionChoice,
        sample_seed: u64,
        describer: &Describer,
        paraphraser: &Paraphraser,
    ) -> String {
        if choice == CaptionChoice::Paraphrase {
            let all = paraphraser.paraphrase(clip, self.paraphrases.max(1), sample_seed);
            let mut rng = ChaCha8Rng::seed_from_u64(sample_seed ^ PICK_SALT);
            if let Some(p) = all.choose(&mut rng) {
                return p.clone();
            }
        }
        describer.describe(clip, choice.kind())
    }
}

// Salts keep the caption draws independent of the clip sampler, which uses the same seed.
const CHOICE_SALT: u64 = 0x6361_7074_696f_6e31;
const PICK_SALT: u64 = 0x7061_7261_7068_7261;
