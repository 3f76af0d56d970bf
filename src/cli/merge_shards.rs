//! `locomotion merge-shards`: the folders of `generate --shard k/n` runs into one dataset. Each
//! clip's files are hard-linked (copied across file systems) into --out, and the manifests
//! and captions are merged in clip order, streaming, so the result is the folder one
//! unsharded run writes, whatever the number of clips (no shell glob over the clips).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs;
use std::io::{BufRead, BufReader, BufWriter, Lines, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::util::out_folder::OutFolder;

use super::generate::OUTPUTS;

/// `locomotion merge-shards` flags.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The merged dataset's folder (created). It must be empty or, with --force, hold only
    /// an older dataset.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The shard folders (`generate --shard k/n --out …` of one seed and --clips), or a
    /// folder holding them, such as shards/.
    #[arg(required = true, value_name = "SHARD")]
    pub shards: Vec<PathBuf>,
    /// Replace the dataset already in --out.
    #[arg(long)]
    pub force: bool,
}

/// A clip's place in the dataset: `clip-000042` sorts by its index, other ids after, by name.
type Key = (u8, u64, String);

fn key(id: &str) -> Key {
    match id.strip_prefix("clip-").and_then(|n| n.parse().ok()) {
        Some(n) => (0, n, id.to_string()),
        None => (1, 0, id.to_string()),
    }
}

/// The fields of a manifest or captions line the merge reads; the line itself is copied.
#[derive(serde::Deserialize)]
struct Line {
    id: String,
    #[serde(default)]
    gif: Option<String>,
    #[serde(default)]
    frames_dir: Option<String>,
}

/// One shard's JSONL file, read a line at a time.
struct Stream {
    path: PathBuf,
    lines: Lines<BufReader<fs::File>>,
    number: usize,
    last: Option<Key>,
}

impl Stream {
    fn open(path: PathBuf) -> Result<Self> {
        let file =
            fs::File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(Self {
            path,
            lines: BufReader::new(file).lines(),
            number: 0,
            last: None,
        })
    }

    /// The next non-empty line with its parsed fields; the stream must be in clip order.
    fn next(&mut self) -> Result<Option<(Key, Line, String)>> {
        for text in self.lines.by_ref() {
            self.number += 1;
            let text = text.with_context(|| format!("cannot read {}", self.path.display()))?;
            if text.trim().is_empty() {
                continue;
            }
            let line: Line = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} line {}: not a manifest or captions line",
                    self.path.display(),
                    self.number
                )
            })?;
            let k = key(&line.id);
            if self.last.as_ref().is_some_and(|last| *last > k) {
                bail!(
                    "{} line {}: {} comes after a later clip; a shard's lines must be in clip order, as generate writes them",
                    self.path.display(),
                    self.number,
                    line.id
                );
            }
            self.last = Some(k.clone());
            return Ok(Some((k, line, text)));
        }
        Ok(None)
    }
}

/// Merge the shards' `file` (each in clip order) into `out` in clip order, calling `each` on
/// every line with the shard it came from. Returns the lines written.
fn merge_jsonl(
    shards: &[PathBuf],
    file: &str,
    out: &Path,
    mut each: impl FnMut(&Key, &Line, usize) -> Result<()>,
) -> Result<u64> {
    let mut streams = shards
        .iter()
        .map(|s| Stream::open(s.join(file)))
        .collect::<Result<Vec<_>>>()?;
    let mut heads = Vec::with_capacity(streams.len());
    let mut heap = BinaryHeap::new();
    for (i, s) in streams.iter_mut().enumerate() {
        let head = s.next()?;
        if let Some((k, _, _)) = &head {
            heap.push(Reverse((k.clone(), i)));
        }
        heads.push(head);
    }
    let dest = fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut w = BufWriter::new(dest);
    let mut written = 0;
    while let Some(Reverse((_, i))) = heap.pop() {
        let (k, line, text) = heads[i].take().expect("a queued shard has a line");
        each(&k, &line, i)?;
        writeln!(w, "{text}").with_context(|| format!("cannot write {}", out.display()))?;
        written += 1;
        heads[i] = streams[i].next()?;
        if let Some((k, _, _)) = &heads[i] {
            heap.push(Reverse((k.clone(), i)));
        }
    }
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(written)
}

/// A path a manifest names, inside its dataset folder (no absolute path, no `..`).
fn inside(shard: &Path, rel: &str) -> Result<PathBuf> {
    let p = Path::new(rel);
    if p.components().any(|c| !matches!(c, Component::Normal(_))) {
        bail!(
            "{}: the manifest names {rel:?}, which is not a path inside the shard",
            shard.display()
        );
    }
    Ok(p.to_path_buf())
}

/// Hard-link `from` to `to` (copy when linking fails, e.g. across file systems); folders
/// (PNG frames) file by file.
fn link(from: &Path, to: &Path) -> Result<()> {
    if from.is_dir() {
        fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
        for e in fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
            let e = e?;
            link(&e.path(), &to.join(e.file_name()))?;
        }
        return Ok(());
    }
    if !from.is_file() {
        bail!("{} is missing (its manifest names it)", from.display());
    }
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    if fs::hard_link(from, to).is_err() {
        fs::copy(from, to)
            .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}

/// The shard folders `paths` name: each path with a manifest.jsonl, or the sub-folders of one
/// that has none, in name order.
fn shard_folders(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.join("manifest.jsonl").is_file() {
            out.push(p.clone());
            continue;
        }
        let mut inner: Vec<PathBuf> = fs::read_dir(p)
            .with_context(|| {
                format!(
                    "{} is neither a shard (no manifest.jsonl) nor a folder of shards",
                    p.display()
                )
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|d| d.join("manifest.jsonl").is_file())
            .collect();
        if inner.is_empty() {
            bail!(
                "{}: no manifest.jsonl in it or in its folders: give the folders `generate --shard k/n --out` wrote",
                p.display()
            );
        }
        inner.sort();
        out.extend(inner);
    }
    Ok(out)
}

/// Run `merge-shards`.
pub fn run(args: &MergeArgs) -> Result<()> {
    let shards = shard_folders(&args.shards)?;
    let out = fs::canonicalize(&args.out).unwrap_or_else(|_| args.out.clone());
    if let Some(s) = shards
        .iter()
        .find(|s| fs::canonicalize(s).is_ok_and(|c| c == out))
    {
        bail!("--out {} is also a shard: choose a new folder", s.display());
    }
    let captioned: Vec<bool> = shards
        .iter()
        .map(|s| s.join("captions.jsonl").is_file())
        .collect();
    if captioned.iter().any(|&c| c) && !captioned.iter().all(|&c| c) {
        let without = &shards[captioned.iter().position(|&c| !c).unwrap()];
        bail!(
            "{} has no captions.jsonl while other shards have one: generate every shard with --captions, or none",
            without.display()
        );
    }
    let folder = OutFolder::open(&args.out, "--out", &OUTPUTS, args.force)?;
    let stage = folder.stage().to_path_buf();
    let total: u64 = shards
        .iter()
        .map(|s| count_lines(&s.join("manifest.jsonl")))
        .sum::<Result<u64>>()?;
    let bar = crate::util::progress::bar(true, total, "merge", "clips");
    let mut previous: Option<(Key, usize)> = None;
    let mut missing = (0u64, None::<u64>);
    let clips = merge_jsonl(
        &shards,
        "manifest.jsonl",
        &stage.join("manifest.jsonl"),
        |k, line, i| {
            if let Some((pk, pi)) = &previous {
                if pk == k {
                    bail!(
                        "{} is in both {} and {}: were two shards made with the same k/n?",
                        line.id,
                        shards[*pi].display(),
                        shards[i].display()
                    );
                }
                if pk.0 == 0 && k.0 == 0 && k.1 > pk.1 + 1 {
                    missing.0 += k.1 - pk.1 - 1;
                    missing.1.get_or_insert(pk.1 + 1);
                }
            } else if k.0 == 0 && k.1 > 0 {
                missing = (k.1, Some(0));
            }
            for rel in [&line.gif, &line.frames_dir].into_iter().flatten() {
                let rel = inside(&shards[i], rel)?;
                link(&shards[i].join(&rel), &stage.join(&rel))?;
            }
            previous = Some((k.clone(), i));
            bar.inc(1);
            Ok(())
        },
    )?;
    bar.finish();
    let mut captions = 0;
    if captioned.iter().all(|&c| c) {
        captions = merge_jsonl(
            &shards,
            "captions.jsonl",
            &stage.join("captions.jsonl"),
            |_, _, _| Ok(()),
        )?;
    }
    folder.commit(&OUTPUTS)?;
    eprintln!(
        "merged {clips} clips from {} shards into {} (manifest.jsonl{}, clips/{})",
        shards.len(),
        args.out.display(),
        if captions > 0 { ", captions.jsonl" } else { "" },
        if args.out.join("frames").is_dir() {
            ", frames/"
        } else {
            ""
        }
    );
    if let (n, Some(first)) = missing {
        eprintln!(
            "warning: {n} clip indices are missing (the first clip-{first:06}): is a shard missing or unfinished?"
        );
    }
    Ok(())
}

/// The non-empty lines of `path` (the progress bar's length).
fn count_lines(path: &Path) -> Result<u64> {
    let file = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut n = 0;
    for line in BufReader::new(file).lines() {
        n += u64::from(
            !line
                .with_context(|| format!("cannot read {}", path.display()))?
                .trim()
                .is_empty(),
        );
    }
    Ok(n)
}
