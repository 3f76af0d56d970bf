//! The text tokenizer: a BERT-style WordPiece vocabulary trained on captions (lower-cased,
//! BERT pre-tokenizer, `[CLS] … [SEP]`), or any Hugging Face `tokenizer.json`. Batches are
//! padded and truncated to a fixed length and come out as row-major `[B, L]` u32 arrays, the
//! layout the GPU embedding kernels read.

use std::path::Path;

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::{
    Normalizer, OffsetReferential, OffsetType, PaddingDirection, PaddingParams, PaddingStrategy,
    PreTokenizedString, PreTokenizer, Tokenizer, TruncationDirection, TruncationParams,
    TruncationStrategy,
};

/// The special tokens of a trained vocabulary, in id order (`[PAD]` = 0 … `[MASK]` = 4).
pub const SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// A batch of encoded texts, each array row-major `[batch, max_len]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedBatch {
    /// Number of texts B.
    pub batch: usize,
    /// Padded length L of every row.
    pub max_len: usize,
    /// Token ids.
    pub ids: Vec<u32>,
    /// 1 for a real token (specials included), 0 for padding.
    pub attention_mask: Vec<u32>,
    /// Segment ids (all 0 for single sentences).
    pub token_types: Vec<u32>,
    /// 1 where the post-processor inserted `[CLS]`/`[SEP]` (or padding), else 0.
    pub special_mask: Vec<u32>,
}

impl EncodedBatch {
    /// Row `b` of the ids.
    pub fn row(&self, b: usize) -> &[u32] {
        &self.ids[b * self.max_len..(b + 1) * self.max_len]
    }
}

/// How many texts were longer than the model reads and cut to its length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Truncation {
    /// Texts encoded.
    pub texts: u64,
    /// Texts cut to the max length (their end never reaches the model).
    pub truncated: u64,
    /// Tokens of the longest text, `[CLS]` and `[SEP]` included, before any cut.
    pub longest: usize,
    /// The max length the texts were cut to.
    pub max_len: usize,
}

impl Truncation {
    /// Both counts together.
    pub fn add(&mut self, other: &Truncation) {
        self.texts += other.texts;
        self.truncated += other.truncated;
        self.longest = self.longest.max(other.longest);
        self.max_len = self.max_len.max(other.max_len);
    }

    /// The share of texts cut (0 when none were encoded).
    pub fn share(&self) -> f64 {
        match self.texts {
            0 => 0.0,
            n => self.truncated as f64 / n as f64,
        }
    }
}

/// The ids of the special tokens the model and MLM masking need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialIds {
    /// Padding.
    pub pad: u32,
    /// Unknown word piece.
    pub unk: u32,
    /// Sequence start (its final hidden state is the sentence summary).
    pub cls: u32,
    /// Sequence end.
    pub sep: u32,
    /// The MLM mask token.
    pub mask: u32,
}

impl SpecialIds {
    /// All five, for "is this a special token" tests.
    pub fn all(&self) -> [u32; 5] {
        [self.pad, self.unk, self.cls, self.sep, self.mask]
    }
}

/// A tokenizer with fixed-length padding and truncation.
#[derive(Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
    special: SpecialIds,
    max_len: usize,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer")
            .field("vocab_size", &self.vocab_size())
            .field("special", &self.special)
            .field("max_len", &self.max_len)
            .finish()
    }
}

impl TextTokenizer {
    /// Load any Hugging Face `tokenizer.json` that has the BERT special tokens.
    pub fn load(path: &Path, max_len: usize) -> Result<Self> {
        if !path.is_file() {
            bail!("tokenizer file {} not found", path.display());
        }
        let inner = Tokenizer::from_file(path).map_err(|e| {
            anyhow!(
                "{} is not a valid tokenizer.json: {}",
                path.display(),
                one_line(&e.to_string())
            )
        })?;
        Self::from_tokenizer(inner, max_len)
            .with_context(|| format!("tokenizer {}", path.display()))
    }

    /// Wrap a tokenizer, looking up its special tokens and setting padding and truncation.
    pub fn from_tokenizer(mut inner: Tokenizer, max_len: usize) -> Result<Self> {
        if max_len < 2 {
            bail!("the maximum text length must be at least 2 ([CLS] and [SEP]), got {max_len}");
        }
        let id = |tok: &str| {
            inner
                .token_to_id(tok)
                .ok_or_else(|| anyhow!("it has no {tok} token"))
        };
        let special = SpecialIds {
            pad: id("[PAD]")?,
            unk: id("[UNK]")?,
            cls: id("[CLS]")?,
            sep: id("[SEP]")?,
            mask: id("[MASK]")?,
        };
        inner
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| anyhow!("cannot truncate to {max_len}: {e}"))?;
        inner.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::Fixed(max_len),
            direction: PaddingDirection::Right,
            pad_to_multiple_of: None,
            pad_id: special.pad,
            pad_type_id: 0,
            pad_token: "[PAD]".into(),
        }));
        Ok(Self {
            inner,
            special,
            max_len,
        })
    }

    /// Train a WordPiece vocabulary of at most `vocab_size` entries on `captions` (the
    /// character alphabet is always kept, even beyond `vocab_size`). The same captions always
    /// give the same vocabulary, ids included.
    pub fn train<S: AsRef<str>>(
        captions: &[S],
        vocab_size: usize,
        max_len: usize,
        show_progress: bool,
    ) -> Result<Self> {
        let min = SPECIAL_TOKENS.len() + 1;
        if vocab_size < min {
            bail!("--vocab-size must be at least {min} (5 special tokens + 1), got {vocab_size}");
        }
        let counts = word_counts(captions)?;
        if counts.is_empty() {
            bail!("no captions to train the tokenizer on");
        }
        let vocab =
            super::wordpiece::train_wordpiece(&counts, &SPECIAL_TOKENS, vocab_size, show_progress);
        let inner: Tokenizer = bert_tokenizer_json(&vocab)
            .to_string()
            .parse()
            .map_err(|e| anyhow!("cannot build the trained tokenizer: {e}"))?;
        Self::from_tokenizer(inner, max_len)
    }

    /// Save as a Hugging Face `tokenizer.json` (atomically).
    pub fn save(&self, path: &Path) -> Result<()> {
        // Saved without our padding/truncation so that the file is the plain vocabulary and
        // any max length can be chosen when it is loaded.
        let mut plain = self.inner.clone();
        plain.with_padding(None);
        plain.with_truncation(None).map_err(|e| anyhow!("{e}"))?;
        let json = plain
            .to_string(true)
            .map_err(|e| anyhow!("cannot serialise the tokenizer: {e}"))?;
        crate::data::write_atomically(path, json.as_bytes())
    }

    /// Vocabulary size, added tokens included (the text embedding's row count).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The special token ids.
    pub fn special_ids(&self) -> SpecialIds {
        self.special
    }

    /// The fixed length L every row is padded or truncated to.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The id of `token`, if it is in the vocabulary.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The word pieces of one text (for inspection): no specials or padding, truncated to
    /// the max length like an encoded row.
    pub fn tokens(&self, text: &str) -> Result<Vec<String>> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| anyhow!("cannot tokenize {text:?}: {e}"))?;
        let n = enc.get_attention_mask().iter().filter(|&&m| m == 1).count();
        Ok(enc.get_tokens()[..n].to_vec())
    }

    /// Decode ids back to text, skipping special tokens.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, true)
            .map_err(|e| anyhow!("cannot decode: {e}"))
    }

    /// Encode texts as `[CLS] … [SEP]`, truncated and padded to `max_len`.
    pub fn encode_batch<S: AsRef<str>>(&self, texts: &[S]) -> Result<EncodedBatch> {
        Ok(self.encode_batch_counted(texts)?.0)
    }

    /// How many of `texts` are longer than `max_len` tokens, and the longest one's length.
    pub fn truncation<S: AsRef<str>>(&self, texts: &[S]) -> Result<Truncation> {
        Ok(self.encode_batch_counted(texts)?.1)
    }

    /// [`TextTokenizer::encode_batch`], with the count of texts it cut.
    pub fn encode_batch_counted<S: AsRef<str>>(
        &self,
        texts: &[S],
    ) -> Result<(EncodedBatch, Truncation)> {
        let inputs: Vec<&str> = texts.iter().map(|t| t.as_ref()).collect();
        let encs = self
            .inner
            .encode_batch(inputs, true)
            .map_err(|e| anyhow!("cannot tokenize the batch: {e}"))?;
        let (b, l) = (encs.len(), self.max_len);
        let mut out = EncodedBatch {
            batch: b,
            max_len: l,
            ids: Vec::with_capacity(b * l),
            attention_mask: Vec::with_capacity(b * l),
            token_types: Vec::with_capacity(b * l),
            special_mask: Vec::with_capacity(b * l),
        };
        let mut cut = Truncation {
            texts: b as u64,
            max_len: l,
            ..Truncation::default()
        };
        for e in &encs {
            // A cut text's rest is in its overflowing pieces (each with its own specials
            // and padding): its length is every real, non-special token plus [CLS] [SEP].
            let words = |e: &tokenizers::Encoding| {
                e.get_attention_mask()
                    .iter()
                    .zip(e.get_special_tokens_mask())
                    .filter(|&(&a, &s)| a == 1 && s == 0)
                    .count()
            };
            let n = words(e) + e.get_overflowing().iter().map(words).sum::<usize>() + 2;
            if !e.get_overflowing().is_empty() {
                cut.truncated += 1;
            }
            cut.longest = cut.longest.max(n);
            debug_assert_eq!(e.get_ids().len(), l);
            out.ids.extend_from_slice(e.get_ids());
            out.attention_mask.extend_from_slice(e.get_attention_mask());
            out.token_types.extend_from_slice(e.get_type_ids());
            out.special_mask
                .extend_from_slice(e.get_special_tokens_mask());
        }
        Ok((out, cut))
    }
}

/// Read a caption corpus: a `.jsonl` file of objects with a `"caption"` string and an optional
/// `"paraphrases"` array (all are returned), or any other file as one caption per line.
pub fn read_corpus(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read caption corpus {}", path.display()))?;
    let is_jsonl = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl"));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if !is_jsonl {
            out.push(line.to_string());
            continue;
        }
        let at = || format!("{} line {}", path.display(), i + 1);
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| anyhow!("{}: not JSON ({e})", at()))?;
        let caption = v
            .get("caption")
            .and_then(|c| c.as_str())
            .ok_or_else(|| anyhow!("{}: no \"caption\" string", at()))?;
        out.push(caption.to_string());
        match v.get("paraphrases") {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::Array(ps)) => {
                for p in ps {
                    let p = p
                        .as_str()
                        .ok_or_else(|| anyhow!("{}: \"paraphrases\" must hold strings", at()))?;
                    out.push(p.to_string());
                }
            }
            Some(_) => bail!("{}: \"paraphrases\" must be an array of strings", at()),
        }
    }
    if out.is_empty() {
        bail!("caption corpus {} holds no captions", path.display());
    }
    Ok(out)
}

/// How often each word (after BERT's normalisation and pre-tokenisation) occurs.
fn word_counts<S: AsRef<str>>(captions: &[S]) -> Result<BTreeMap<String, u64>> {
    let normalizer = BertNormalizer::new(true, true, None, true);
    let mut counts = BTreeMap::new();
    for c in captions {
        let mut pts = PreTokenizedString::from(c.as_ref());
        pts.normalize(|s| normalizer.normalize(s))
            .and_then(|_| BertPreTokenizer.pre_tokenize(&mut pts))
            .map_err(|e| anyhow!("cannot pre-tokenize {:?}: {e}", c.as_ref()))?;
        for (word, _, _) in pts.get_splits(OffsetReferential::Original, OffsetType::Byte) {
            *counts.entry(word.to_string()).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

/// A Hugging Face `tokenizer.json` for a BERT WordPiece vocabulary (specials first).
fn bert_tokenizer_json(vocab: &[String]) -> serde_json::Value {
    let id = |t: &str| {
        vocab
            .iter()
            .position(|v| v == t)
            .expect("specials are in the vocabulary")
    };
    let added: Vec<_> = SPECIAL_TOKENS
        .iter()
        .map(|t| {
            json!({"id": id(t), "content": t, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let ids: serde_json::Map<String, serde_json::Value> = vocab
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), json!(i)))
        .collect();
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": true,
                       "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", id("[SEP]")],
                           "cls": ["[CLS]", id("[CLS]")]},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": ids}
    })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
