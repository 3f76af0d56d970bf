//! `locomotion describe MANIFEST`: caption every clip of a dataset (motion, spatial and
//! template kinds), paraphrase the motion captions (lexicon, or an LLM endpoint), write
//! `captions.jsonl`, and with `--stats` print the word-class statistics per kind.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use indicatif::ProgressBar;

use crate::caption::llm::{LlmConfig, LlmParaphraser};
use crate::caption::records::{CaptionRecord, read_manifest, records_for, write_jsonl};
use crate::caption::stats::{CaptionStats, WordClassifier, stats_table};
use crate::caption::{CaptionKind, Describer, Lexicon, Paraphraser};
use crate::motion::params::ClipParams;

/// Arguments of `locomotion describe`.
#[derive(Debug, clap::Args)]
pub struct DescribeArgs {
    /// The dataset's manifest.jsonl.
    pub manifest: PathBuf,
    /// Only this caption kind (default: all three).
    #[arg(long, value_enum)]
    pub kind: Option<CaptionKind>,
    /// Paraphrases per motion caption (0: none, at most 64).
    #[arg(long, default_value_t = 4)]
    pub paraphrases: usize,
    /// Seed of the paraphraser (mixed with each clip's own seed).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A lexicon JSON file that extends the built-in one (data/lexicon.json), or replaces it
    /// when it holds "replace": true.
    #[arg(long, value_name = "PATH")]
    pub lexicon: Option<PathBuf>,
    /// Print mean words, nouns, verbs, adjectives and adverbs per caption, per kind.
    #[arg(long)]
    pub stats: bool,
    /// Output file (default: captions.jsonl beside the manifest).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Paraphrase with an OpenAI-compatible chat-completions endpoint instead of the lexicon
    /// (API key from LOCOMOTION_LLM_API_KEY).
    #[arg(long, value_name = "URL")]
    pub llm_url: Option<String>,
    /// The model name to request from --llm-url.
    #[arg(long, value_name = "NAME")]
    pub llm_model: Option<String>,
    /// If the endpoint fails, warn and paraphrase with the lexicon instead of stopping.
    #[arg(long)]
    pub llm_fallback: bool,
    /// LLM answer cache (default: llm-cache.jsonl beside the output).
    #[arg(long, value_name = "PATH")]
    pub llm_cache: Option<PathBuf>,
    /// Seconds allowed per LLM batch, retries included.
    #[arg(long, default_value_t = 60.0)]
    pub llm_timeout: f64,
    /// Captions per LLM request.
    #[arg(long, default_value_t = 8)]
    pub llm_batch: usize,
    /// Retries after a failed LLM request (transport error, 429, 5xx).
    #[arg(long, default_value_t = 3)]
    pub llm_retries: u32,
}

fn progress(n: usize, stage: &str, unit: &str) -> ProgressBar {
    crate::util::progress::bar(true, n as u64, stage, unit)
}

/// Run `locomotion describe`.
pub fn run(args: &DescribeArgs) -> Result<()> {
    // Every flag is checked before the manifest is read.
    check_llm_timeout(args.llm_timeout)?;
    super::paraphrases::check(args.paraphrases)?;
    let entries = read_manifest(&args.manifest)?;
    let lex = match &args.lexicon {
        Some(p) => Lexicon::load(p)?,
        None => Lexicon::builtin(),
    };
    let describer = Describer::new(lex.clone());
    let paraphraser = Paraphraser::new(lex.clone());
    let kinds: Vec<CaptionKind> = match args.kind {
        Some(k) => vec![k],
        None => CaptionKind::ALL.to_vec(),
    };
    let clips: Vec<&ClipParams> = entries.iter().map(|e| &e.params).collect();
    let llm =
        args.llm_url.is_some() && args.paraphrases > 0 && kinds.contains(&CaptionKind::Motion);
    let out = args.out.clone().unwrap_or_else(|| {
        args.manifest
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join("captions.jsonl")
    });

    // Lexicon paraphrases come with the records; an LLM run replaces them below.
    let k_lex = if llm { 0 } else { args.paraphrases };
    let pb = progress(clips.len(), "describe", "clips");
    let mut records: Vec<CaptionRecord> = Vec::new();
    for clip in &clips {
        records.extend(records_for(
            clip,
            &kinds,
            k_lex,
            args.seed,
            &describer,
            &paraphraser,
        ));
        pb.inc(1);
    }
    pb.finish_and_clear();

    if llm {
        llm_paraphrases(args, &paraphraser, &clips, kinds.len(), &mut records, &out)?;
    }
    // Say when an existing file was replaced: `describe --stats` on a folder rewrites it.
    let verb = if out.exists() { "rewrote" } else { "wrote" };
    write_jsonl(&out, &records)?;
    eprintln!(
        "{verb} {} ({} captions for {} clips)",
        out.display(),
        records.len(),
        clips.len()
    );
    let short = records
        .iter()
        .filter(|r| r.kind == CaptionKind::Motion && r.paraphrases.len() < args.paraphrases)
        .count();
    super::paraphrases::warn_short(short, clips.len(), args.paraphrases);
    if args.stats {
        print!(
            "{}",
            statistics(&lex, &describer, &clips, kinds.len(), &records)
        );
    }
    Ok(())
}

/// Fill the motion records' paraphrases from the LLM (or, with `--llm-fallback`, from the
/// lexicon when the endpoint fails).
fn llm_paraphrases(
    args: &DescribeArgs,
    paraphraser: &Paraphraser,
    clips: &[&ClipParams],
    per_clip: usize,
    records: &mut [CaptionRecord],
    out: &std::path::Path,
) -> Result<()> {
    let url = args.llm_url.as_deref().unwrap_or_default();
    let Some(model) = args.llm_model.as_deref() else {
        bail!("--llm-url needs --llm-model (the model name the endpoint serves)");
    };
    check_llm_timeout(args.llm_timeout)?;
    let mut cfg = LlmConfig::new(url, model);
    cfg.timeout = Duration::from_secs_f64(args.llm_timeout);
    cfg.retries = args.llm_retries;
    cfg.batch = args.llm_batch.max(1);
    cfg.backoff = Duration::from_secs_f64((args.llm_timeout / 20.0).min(1.0));
    cfg.cache = Some(
        args.llm_cache
            .clone()
            .unwrap_or_else(|| out.with_file_name("llm-cache.jsonl")),
    );
    let mut client = LlmParaphraser::new(cfg, paraphraser.parser().clone())?;

    let motion: Vec<usize> = (0..records.len())
        .filter(|&i| records[i].kind == CaptionKind::Motion)
        .collect();
    let pb = progress(motion.len(), "paraphrase", "captions (LLM)");
    // One chunk of several batches at a time keeps the progress bar moving.
    for chunk in motion.chunks(args.llm_batch.max(1) * 4) {
        let cs: Vec<&ClipParams> = chunk.iter().map(|&i| clips[i / per_clip]).collect();
        let caps: Vec<&str> = chunk.iter().map(|&i| records[i].caption.as_str()).collect();
        match client.paraphrase(&cs, &caps, args.paraphrases) {
            Ok(ps) => {
                for (&i, p) in chunk.iter().zip(ps) {
                    records[i].paraphrases = p.texts;
                    records[i].rejected = Some(p.rejected);
                }
            }
            Err(e) if args.llm_fallback => {
                pb.finish_and_clear();
                eprintln!(
                    "warning: {e:#}; falling back to the lexicon paraphraser (--llm-fallback)"
                );
                for &i in &motion {
                    if records[i].rejected.is_none() {
                        let clip = clips[i / per_clip];
                        let seed = crate::caption::records::clip_seed(args.seed, clip);
                        records[i].paraphrases =
                            paraphraser.paraphrase(clip, args.paraphrases, seed);
                    }
                }
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
    let s = client.stats;
    eprintln!(
        "LLM paraphrases: {} accepted, {} rejected (changed a motion fact), {} captions from the cache, {} requests",
        s.accepted, s.rejected, s.cache_hits, s.requests
    );
    Ok(())
}

/// Word-class statistics for every kind (whatever `--kind` wrote) and the paraphrases.
fn statistics(
    lex: &Lexicon,
    describer: &Describer,
    clips: &[&ClipParams],
    per_clip: usize,
    records: &[CaptionRecord],
) -> String {
    let wc = WordClassifier::new(lex);
    let mut per_kind: Vec<CaptionStats> = vec![CaptionStats::default(); 3];
    let mut para = CaptionStats::default();
    for clip in clips {
        let mut names = clip.object_names();
        names.push(&clip.background.name);
        for (i, k) in CaptionKind::ALL.iter().enumerate() {
            per_kind[i].add(&wc, &describer.describe(clip, *k), &names);
        }
    }
    // Records are written clip by clip, `per_clip` kinds each.
    for (i, r) in records.iter().enumerate() {
        let clip = clips[i / per_clip];
        let mut names = clip.object_names();
        names.push(&clip.background.name);
        for p in &r.paraphrases {
            para.add(&wc, p, &names);
        }
    }
    let mut rows: Vec<(&str, &CaptionStats)> = CaptionKind::ALL
        .iter()
        .map(|k| k.name())
        .zip(per_kind.iter())
        .collect();
    if para.captions > 0 {
        rows.push(("paraphrase", &para));
    }
    stats_table(&rows)
}

/// Longest `--llm-timeout`: a day (a `Duration` or deadline far beyond it overflows).
pub const MAX_LLM_TIMEOUT_S: f64 = 86_400.0;

/// `--llm-timeout` must be a number of seconds in (0, [`MAX_LLM_TIMEOUT_S`]].
pub fn check_llm_timeout(s: f64) -> Result<()> {
    if !(s.is_finite() && s > 0.0 && s <= MAX_LLM_TIMEOUT_S) {
        bail!(
            "--llm-timeout must be a number of seconds above 0 and at most {MAX_LLM_TIMEOUT_S}, got {s}"
        );
    }
    Ok(())
}
