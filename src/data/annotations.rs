//! Retrieval annotations as researchers have them: the VindLU / Singularity JSON list
//! `[{"video": "<file>" | ["<file>", …], "caption": "<text>"}]`, Something-Something v2's
//! raw JSON (`--ssv2-captions template|label`), and a JSONL or CSV of (video, caption).
//!
//! Every caption is normalised as Singularity's `pre_text` does (lower case; `,.'!?"()*#:;~`
//! removed; `-` and `/` become spaces; runs of spaces collapse), so `[something]` stays.
//! Identical captions (after normalisation) become one query whose ground truth is every
//! video any of them names; a video named twice is one column.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Which SSv2 captions the raw `something-something-v2-*.json` becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ssv2Captions {
    /// SSv2-Template: one caption per template ("pushing [something] from left to right")
    /// naming every video of that template.
    Template,
    /// SSv2-Label: each video's own label ("pushing a pen from left to right").
    Label,
}

impl Ssv2Captions {
    /// Parse `template` or `label`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "template" => Ok(Self::Template),
            "label" => Ok(Self::Label),
            _ => bail!("--ssv2-captions {s:?}: give template or label"),
        }
    }
}

/// A retrieval set: unique captions (rows), unique videos (columns) and who matches whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrievalSet {
    /// Normalised captions, in first-seen order.
    pub captions: Vec<String>,
    /// Video file names relative to the videos folder, in first-seen order.
    pub videos: Vec<String>,
    /// Matching (caption, video) index pairs, sorted, each once.
    pub pairs: Vec<(usize, usize)>,
}

impl RetrievalSet {
    /// Build from records of (captions, videos): every caption matches every video of its
    /// record.
    pub fn from_records(records: Vec<(Vec<String>, Vec<String>)>) -> Result<Self> {
        let (mut captions, mut videos) = (Vec::new(), Vec::new());
        let (mut cap_ix, mut vid_ix) = (HashMap::new(), HashMap::new());
        let mut pairs = Vec::new();
        for (caps, vids) in records {
            let vs: Vec<usize> = vids
                .into_iter()
                .map(|v| {
                    *vid_ix
                        .entry(v.clone())
                        .or_insert_with(|| push(&mut videos, v))
                })
                .collect();
            for c in caps {
                let c = pre_text(&c);
                let ci = *cap_ix
                    .entry(c.clone())
                    .or_insert_with(|| push(&mut captions, c));
                pairs.extend(vs.iter().map(|&v| (ci, v)));
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        if captions.is_empty() || videos.is_empty() {
            bail!("the annotations name no (video, caption) pair");
        }
        Ok(Self {
            captions,
            videos,
            pairs,
        })
    }

    /// For each caption, the videos it matches.
    pub fn text_to_videos(&self) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); self.captions.len()];
        for &(c, v) in &self.pairs {
            out[c].push(v);
        }
        out
    }

    /// The set without the videos `drop` (indices), and the captions left with no video
    /// (removed too), by text.
    pub fn without_videos(&self, drop: &[usize]) -> (Self, Vec<String>) {
        let mut dropped = vec![false; self.videos.len()];
        drop.iter().for_each(|&v| dropped[v] = true);
        let keep_v: Vec<usize> = (0..self.videos.len()).filter(|&v| !dropped[v]).collect();
        let new_v: HashMap<usize, usize> =
            keep_v.iter().enumerate().map(|(n, &o)| (o, n)).collect();
        let mut alive = vec![false; self.captions.len()];
        for &(c, v) in &self.pairs {
            alive[c] |= !dropped[v];
        }
        let new_c: HashMap<usize, usize> = (0..self.captions.len())
            .filter(|&c| alive[c])
            .enumerate()
            .map(|(n, o)| (o, n))
            .collect();
        let orphans = (0..self.captions.len())
            .filter(|&c| !alive[c])
            .map(|c| self.captions[c].clone())
            .collect();
        let set = Self {
            captions: (0..self.captions.len())
                .filter(|&c| alive[c])
                .map(|c| self.captions[c].clone())
                .collect(),
            videos: keep_v.iter().map(|&v| self.videos[v].clone()).collect(),
            pairs: self
                .pairs
                .iter()
                .filter_map(|&(c, v)| Some((*new_c.get(&c)?, *new_v.get(&v)?)))
                .collect(),
        };
        (set, orphans)
    }
}

fn push(v: &mut Vec<String>, s: String) -> usize {
    v.push(s);
    v.len() - 1
}

/// Singularity's caption normalisation (`pre_text`): lower case; `,.'!?"()*#:;~` removed;
/// `-` and `/` become spaces; `<person>` becomes `person`; runs of spaces collapse; trimmed.
pub fn pre_text(text: &str) -> String {
    let lower: String = text
        .to_lowercase()
        .chars()
        .filter(|c| !",.'!?\"()*#:;~".contains(*c))
        .collect();
    let spaced = lower.replace(['-', '/'], " ").replace("<person>", "person");
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Read an annotation file: `.jsonl` and `.csv` as (video, caption) rows, `.json` as the
/// VindLU / Singularity list or, with `ssv2`, Something-Something v2's raw JSON.
pub fn read_annotations(path: &Path, ssv2: Option<Ssv2Captions>) -> Result<RetrievalSet> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read annotations {}", path.display()))?;
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if ssv2.is_some() && ext != "json" {
        bail!(
            "--ssv2-captions needs Something-Something v2's raw JSON, and {} is not a .json file",
            path.display()
        );
    }
    let records = match ext.as_str() {
        "jsonl" => jsonl_records(&text),
        "csv" => csv_records(&text),
        "json" => json_records(&text, ssv2),
        _ => bail!("give a .json, .jsonl or .csv file"),
    }
    .with_context(|| format!("annotations {}", path.display()))?;
    RetrievalSet::from_records(records).with_context(|| format!("annotations {}", path.display()))
}

type Records = Vec<(Vec<String>, Vec<String>)>;

/// A string or a list of strings under `key` of record `i`.
fn strings(rec: &Value, key: &str, i: usize) -> Result<Vec<String>> {
    let bad = || {
        format!(
            "record {}: \"{key}\" must be a string or a list of strings",
            i + 1
        )
    };
    match rec.get(key) {
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|v| v.as_str().map(str::to_string).with_context(bad))
            .collect(),
        _ => bail!(bad()),
    }
}

fn json_records(text: &str, ssv2: Option<Ssv2Captions>) -> Result<Records> {
    let v: Value = serde_json::from_str(text).context("not valid JSON")?;
    let Value::Array(list) = v else {
        bail!("expected a JSON list of records");
    };
    let is_ssv2 = list.first().is_some_and(|r| r.get("template").is_some());
    match (is_ssv2, ssv2) {
        (true, Some(mode)) => ssv2_records(&list, mode),
        (true, None) => bail!(
            "this is Something-Something v2's raw JSON: say which captions with --ssv2-captions template or label"
        ),
        (false, Some(_)) => bail!(
            "--ssv2-captions given, but this is not Something-Something v2's raw JSON (records with \"id\", \"label\", \"template\")"
        ),
        (false, None) => list
            .iter()
            .enumerate()
            .map(|(i, r)| Ok((strings(r, "caption", i)?, strings(r, "video", i)?)))
            .collect(),
    }
}

/// SSv2 records `{"id", "label", "template", "placeholders"}`; videos are `<id>.webm`.
fn ssv2_records(list: &[Value], mode: Ssv2Captions) -> Result<Records> {
    let mut by_template: Vec<(String, Vec<String>)> = Vec::new();
    let mut index = HashMap::new();
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let field = |k: &str| {
            r.get(k)
                .and_then(Value::as_str)
                .with_context(|| format!("SSv2 record {}: no string \"{k}\"", i + 1))
        };
        let video = format!("{}.webm", field("id")?);
        match mode {
            Ssv2Captions::Label => out.push((vec![field("label")?.to_string()], vec![video])),
            Ssv2Captions::Template => {
                let t = field("template")?.to_string();
                let k = *index.entry(t.clone()).or_insert_with(|| {
                    by_template.push((t, Vec::new()));
                    by_template.len() - 1
                });
                by_template[k].1.push(video);
            }
        }
    }
    if mode == Ssv2Captions::Template {
        out = by_template.into_iter().map(|(t, v)| (vec![t], v)).collect();
    }
    Ok(out)
}

fn jsonl_records(text: &str) -> Result<Records> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let r: Value =
            serde_json::from_str(line).with_context(|| format!("line {}: not JSON", i + 1))?;
        out.push((
            strings(&r, "caption", i).with_context(|| format!("line {}", i + 1))?,
            strings(&r, "video", i).with_context(|| format!("line {}", i + 1))?,
        ));
    }
    Ok(out)
}

/// A CSV with a header naming `video` and `caption` columns (RFC 4180 quoting).
fn csv_records(text: &str) -> Result<Records> {
    let rows = csv_rows(text)?;
    let Some(header) = rows.first() else {
        bail!("empty CSV");
    };
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .with_context(|| format!("the header names no \"{name}\" column"))
    };
    let (v, c) = (col("video")?, col("caption")?);
    rows[1..]
        .iter()
        .enumerate()
        .filter(|(_, r)| !(r.len() == 1 && r[0].is_empty()))
        .map(|(i, r)| match (r.get(c), r.get(v)) {
            (Some(c), Some(v)) => Ok((vec![c.clone()], vec![v.clone()])),
            _ => bail!("row {}: fewer columns than the header", i + 2),
        })
        .collect()
}

fn csv_rows(text: &str) -> Result<Vec<Vec<String>>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, _) => field.push(ch),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, _) => field.push(ch),
        }
    }
    if quoted {
        bail!("a quoted field is not closed");
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}
