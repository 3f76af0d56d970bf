//! The optional LLM paraphraser, as the paper does it: a client for the OpenAI-compatible
//! `/v1/chat/completions` route (llama.cpp's server, Ollama, vLLM). Captions are sent in
//! batches, failures retried with backoff inside one overall timeout, every answer cached in a
//! JSONL file keyed by caption (a rerun asks nothing twice), and every paraphrase checked
//! against the clip's facts: those that change a motion fact are rejected and counted.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::facts::{FactParser, facts_of};
use super::paraphrase::Paraphrases;
use crate::motion::params::ClipParams;

/// The environment variable holding the endpoint's API key (sent as a bearer token).
pub const API_KEY_ENV: &str = "LOCOMOTION_LLM_API_KEY";

/// How to reach the model.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// Server base ("http://127.0.0.1:8080") or the full chat-completions URL.
    pub url: String,
    /// Model name sent in each request.
    pub model: String,
    /// Bearer token, usually from [`API_KEY_ENV`].
    pub api_key: Option<String>,
    /// Overall limit for one batch, retries included.
    pub timeout: Duration,
    /// Attempts after the first one on a transport error, a 429 or a 5xx.
    pub retries: u32,
    /// First wait between attempts; doubles each time.
    pub backoff: Duration,
    /// Captions per request.
    pub batch: usize,
    /// The JSONL cache file (none: no cache).
    pub cache: Option<PathBuf>,
    /// Sampling temperature.
    pub temperature: f32,
}

impl LlmConfig {
    /// Defaults for `url` and `model`: 60 s timeout, 3 retries from 1 s, 8 captions a request,
    /// the key from [`API_KEY_ENV`].
    pub fn new(url: &str, model: &str) -> LlmConfig {
        LlmConfig {
            url: url.to_string(),
            model: model.to_string(),
            api_key: std::env::var(API_KEY_ENV).ok().filter(|k| !k.is_empty()),
            timeout: Duration::from_secs(60),
            retries: 3,
            backoff: Duration::from_secs(1),
            batch: 8,
            cache: None,
            temperature: 0.7,
        }
    }

    /// The chat-completions URL the base URL names.
    pub fn endpoint(&self) -> String {
        let u = self.url.trim_end_matches('/');
        if u.ends_with("/chat/completions") {
            u.to_string()
        } else if u.ends_with("/v1") {
            format!("{u}/chat/completions")
        } else {
            format!("{u}/v1/chat/completions")
        }
    }
}

/// One cached answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CacheLine {
    caption: String,
    paraphrases: Vec<String>,
}

/// Counters for one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LlmStats {
    /// HTTP requests sent (retries included).
    pub requests: usize,
    /// Captions answered from the cache.
    pub cache_hits: usize,
    /// Paraphrases kept.
    pub accepted: usize,
    /// Paraphrases that did not parse back to the clip's facts.
    pub rejected: usize,
}

/// The LLM paraphraser.
#[derive(Debug)]
pub struct LlmParaphraser {
    cfg: LlmConfig,
    agent: ureq::Agent,
    parser: FactParser,
    cache: HashMap<String, Vec<String>>,
    /// What this run did.
    pub stats: LlmStats,
    heldout: super::lexicon::HeldOutPhrases,
}

/// The instruction sent with every batch.
pub fn prompt(captions: &[&str], k: usize) -> String {
    let mut p = format!(
        "Rewrite each numbered caption below in {k} different ways. Use verbs that fit the \
         object (a ball rolls or bounces, a bird flies or glides, a car drives, a fish swims, a \
         leaf drifts or floats) and vary the sentence structure, but keep every motion fact \
         exactly: the direction, the speed (slowly, steadily or quickly), the rotation \
         direction (clockwise or counter-clockwise), staying still, growing or shrinking, \
         speeding up or slowing down, curving or circling, and the order of the segments. \
         Keep one sentence per object. Answer with only a JSON array holding, for each caption \
         in order, an array of {k} strings.\n\n"
    );
    for (i, c) in captions.iter().enumerate() {
        p.push_str(&format!("{}. {c}\n", i + 1));
    }
    p
}

/// The JSON array of arrays inside a model's answer (models like to wrap it in prose).
fn parse_answer(content: &str, n: usize) -> Result<Vec<Vec<String>>> {
    let (a, b) = (content.find('['), content.rfind(']'));
    let json = match (a, b) {
        (Some(a), Some(b)) if a < b => &content[a..=b],
        _ => bail!("the model's answer holds no JSON array"),
    };
    let v: Vec<Vec<String>> = serde_json::from_str(json)
        .context("the model's answer is not an array of string arrays")?;
    if v.len() != n {
        bail!("the model answered {} captions, {n} were asked", v.len());
    }
    Ok(v)
}

impl LlmParaphraser {
    /// A client for `cfg`, with the cache file loaded (unreadable lines are skipped: a run
    /// killed mid-write leaves at most one).
    pub fn new(cfg: LlmConfig, parser: FactParser) -> Result<LlmParaphraser> {
        if cfg.model.is_empty() {
            bail!("--llm-model is empty: name the model the endpoint serves");
        }
        let mut cache = HashMap::new();
        if let Some(path) = &cfg.cache
            && path.exists()
        {
            let f = std::fs::File::open(path)
                .with_context(|| format!("cannot read LLM cache {}", path.display()))?;
            for line in std::io::BufReader::new(f).lines() {
                let line =
                    line.with_context(|| format!("cannot read LLM cache {}", path.display()))?;
                if let Ok(c) = serde_json::from_str::<CacheLine>(&line) {
                    cache.insert(c.caption, c.paraphrases);
                }
            }
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(cfg.timeout))
            .build()
            .into();
        Ok(LlmParaphraser {
            cfg,
            agent,
            parser,
            cache,
            stats: LlmStats::default(),
            heldout: super::lexicon::HeldOutPhrases::new(&super::Lexicon::builtin()),
        })
    }

    /// Paraphrase the motion `captions` of `clips` (same order): `k` checked paraphrases each
    /// at most. Errors when the endpoint fails after its retries.
    pub fn paraphrase(
        &mut self,
        clips: &[&ClipParams],
        captions: &[&str],
        k: usize,
    ) -> Result<Vec<Paraphrases>> {
        let todo: Vec<&str> = {
            let mut seen = std::collections::HashSet::new();
            captions
                .iter()
                .copied()
                .filter(|c| !self.cache.contains_key(*c) && seen.insert(*c))
                .collect()
        };
        self.stats.cache_hits += captions.len() - todo.len();
        for chunk in todo.chunks(self.cfg.batch.max(1)) {
            let answers = self.ask(chunk, k)?;
            self.remember(chunk, answers)?;
        }
        let mut out = Vec::with_capacity(captions.len());
        for (clip, caption) in clips.iter().zip(captions) {
            let facts = facts_of(clip);
            let names = clip.object_names();
            let mut p = Paraphrases::default();
            for text in self.cache.get(*caption).into_iter().flatten() {
                let text = text.trim();
                // Motion facts, and the appearance and polarity the motion parser skips.
                // A held-out phrase would leak the verb benchmark's held-out words into
                // pre-training (`LexiconPart`).
                let ok = matches!(self.parser.parse_masked(text, &names), Ok(f) if f == facts)
                    && super::facts::check_appearance(text, caption, &names).is_ok()
                    && self.heldout.find(text).is_none();
                if ok && !p.texts.iter().any(|t| t == text) && p.texts.len() < k {
                    p.texts.push(text.to_string());
                } else if !ok {
                    p.rejected += 1;
                }
            }
            self.stats.accepted += p.texts.len();
            self.stats.rejected += p.rejected;
            out.push(p);
        }
        Ok(out)
    }

    fn remember(&mut self, captions: &[&str], answers: Vec<Vec<String>>) -> Result<()> {
        let mut file = match &self.cfg.cache {
            Some(path) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("cannot write LLM cache {}", path.display()))?,
            ),
            None => None,
        };
        for (c, a) in captions.iter().zip(answers) {
            if let Some(f) = &mut file {
                let line = serde_json::to_string(&CacheLine {
                    caption: c.to_string(),
                    paraphrases: a.clone(),
                })?;
                writeln!(f, "{line}").context("cannot write LLM cache")?;
            }
            self.cache.insert(c.to_string(), a);
        }
        Ok(())
    }

    /// One batch, retried with exponential backoff on transport errors, 429, 5xx and
    /// off-format answers, all within `cfg.timeout`.
    fn ask(&mut self, captions: &[&str], k: usize) -> Result<Vec<Vec<String>>> {
        let url = self.cfg.endpoint();
        let body = json!({
            "model": self.cfg.model,
            "temperature": self.cfg.temperature,
            "messages": [
                {"role": "system", "content": "You paraphrase video captions about object motion."},
                {"role": "user", "content": prompt(captions, k)},
            ],
        })
        .to_string();
        let start = Instant::now();
        let mut wait = self.cfg.backoff;
        let mut attempt = 0;
        loop {
            let left = self.cfg.timeout.saturating_sub(start.elapsed());
            let why = match self.send(&url, &body, left) {
                // Sampling models sometimes answer off-format: ask again like after a 5xx.
                Ok((200, text)) => match self.content(&text, captions.len()) {
                    Ok(v) => return Ok(v),
                    Err(e) => format!("unusable answer: {e:#}"),
                },
                Ok((status, text)) if status == 429 || status >= 500 => {
                    format!(
                        "HTTP {status}: {}",
                        text.chars().take(200).collect::<String>()
                    )
                }
                Ok((status, text)) => bail!(
                    "LLM endpoint {url} refused the request (HTTP {status}: {}); check --llm-url, --llm-model and {API_KEY_ENV}",
                    text.chars().take(200).collect::<String>()
                ),
                Err(e) => e.to_string(),
            };
            attempt += 1;
            if attempt > self.cfg.retries || start.elapsed() + wait >= self.cfg.timeout {
                bail!(
                    "LLM endpoint {url} failed after {attempt} attempt(s) in {:.1} s: {why} (check --llm-url, or pass --llm-fallback)",
                    start.elapsed().as_secs_f32()
                );
            }
            std::thread::sleep(wait);
            wait *= 2;
        }
    }

    fn send(
        &mut self,
        url: &str,
        body: &str,
        left: Duration,
    ) -> Result<(u16, String), ureq::Error> {
        self.stats.requests += 1;
        let mut req = self
            .agent
            .post(url)
            .header("Content-Type", "application/json")
            .config()
            .timeout_global(Some(left.max(Duration::from_millis(1))))
            .build();
        if let Some(key) = &self.cfg.api_key {
            req = req.header("Authorization", format!("Bearer {key}"));
        }
        let mut resp = req.send(body)?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string()?;
        Ok((status, text))
    }

    fn content(&self, text: &str, n: usize) -> Result<Vec<Vec<String>>> {
        let v: serde_json::Value = serde_json::from_str(text).context("the reply is not JSON")?;
        let content = v["choices"][0]["message"]["content"]
            .as_str()
            .context("the reply has no choices[0].message.content")?;
        parse_answer(content, n)
    }
}
