//! `locomotion embed` (videos or texts → a safetensors index of unit embeddings with their
//! ids) and `locomotion search` (a text against a video index, or a video against a text
//! index, ranked by the cosine `eval` ranks by).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;

use super::annotated::clip_reader;
use crate::data::annotations::{pre_text, read_annotations};
use crate::data::matrix_file::{metadata_strings, read_matrix, write_matrix};
use crate::eval::annotated::{embed_captions, embed_video_files};
use crate::eval::retrieval::{load_run, similarity};
use crate::gpu::{AdapterRequest, Gpu};

/// Video file extensions `embed --videos DIR` picks up.
pub const VIDEO_EXTENSIONS: &[&str] = &["webm", "mp4", "mkv", "avi", "mov", "m4v", "gif"];

/// `locomotion embed` flags.
#[derive(Debug, Clone, Args)]
pub struct EmbedArgs {
    /// The run's --out folder or its checkpoint/ folder.
    #[arg(long, value_name = "DIR")]
    pub checkpoint: PathBuf,
    /// Embed the videos of this folder (every file with a video extension, sorted by name),
    /// or with --annotations the videos the annotations name, in their order.
    #[arg(long, value_name = "DIR", conflicts_with = "texts")]
    pub videos: Option<PathBuf>,
    /// With --videos: embed the videos of this annotation file (as eval reads it).
    #[arg(long, value_name = "FILE", requires = "videos")]
    pub annotations: Option<PathBuf>,
    /// With --annotations: SSv2's raw JSON as template or label captions (as eval).
    #[arg(long, value_name = "template|label", requires = "annotations")]
    pub ssv2_captions: Option<String>,
    /// Embed texts instead: one per line of this file (normalised as captions are).
    #[arg(long, value_name = "FILE")]
    pub texts: Option<PathBuf>,
    /// Skip videos that fail to decode (counted) instead of stopping at the first.
    #[arg(long, requires = "videos")]
    pub skip_bad_videos: bool,
    /// Videos or texts per forward pass.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// The index to write: safetensors with `embeddings` (F32, n × d) and metadata `ids`
    /// (JSON array) and `kind` (video or text).
    #[arg(long, value_name = "FILE.safetensors")]
    pub out: PathBuf,
}

/// `locomotion search` flags.
#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    /// The run whose embeddings the index holds.
    #[arg(long, value_name = "DIR")]
    pub checkpoint: PathBuf,
    /// An index written by `locomotion embed`.
    #[arg(long, value_name = "FILE.safetensors")]
    pub index: PathBuf,
    /// The query: a text against a video index, a video file against a text index.
    pub query: String,
    /// Results to show.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Run `embed`.
pub fn run_embed(req: &AdapterRequest, args: &EmbedArgs) -> Result<()> {
    super::eval::check_checkpoint(&args.checkpoint)?;
    let gpu = Gpu::new(req)?;
    let (model, tok) = load_run(&gpu, &args.checkpoint)?;
    let d = model.cfg.heads.embed_dim;
    let (kind, ids, rows) = match (&args.videos, &args.texts) {
        (Some(dir), None) => {
            let names = match &args.annotations {
                Some(file) => {
                    let ssv2 = args
                        .ssv2_captions
                        .as_deref()
                        .map(crate::data::annotations::Ssv2Captions::parse)
                        .transpose()?;
                    read_annotations(file, ssv2)
                        .context("--annotations")?
                        .videos
                }
                None => list_videos(dir)?,
            };
            let reader = clip_reader(&model);
            let (rows, kept, skipped) = embed_video_files(
                &gpu,
                &model,
                &reader,
                dir,
                &names,
                args.batch,
                args.skip_bad_videos,
                true,
            )?;
            for s in &skipped {
                println!("skipped {}: {}", s.video, s.error);
            }
            println!("{} videos embedded, {} skipped", kept.len(), skipped.len());
            let ids = kept.iter().map(|&i| names[i].clone()).collect();
            ("video", ids, rows)
        }
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("--texts {}: cannot read", file.display()))?;
            let ids: Vec<String> = text
                .lines()
                .map(pre_text)
                .filter(|t| !t.is_empty())
                .collect();
            if ids.is_empty() {
                bail!("--texts {}: no text in it", file.display());
            }
            let rows = embed_captions(&gpu, &model, &tok, &ids, args.batch)?;
            ("text", ids, rows)
        }
        _ => {
            bail!("say what to embed: --videos DIR (with or without --annotations) or --texts FILE")
        }
    };
    if ids.is_empty() {
        bail!("nothing to embed: every video was skipped");
    }
    let meta = HashMap::from([
        ("ids".to_string(), serde_json::to_string(&ids)?),
        ("kind".to_string(), kind.to_string()),
        (
            "checkpoint".to_string(),
            args.checkpoint.display().to_string(),
        ),
    ]);
    write_matrix(&args.out, "embeddings", (ids.len(), d), &rows, meta)?;
    println!(
        "wrote {} ({} {kind} embeddings of {d})",
        args.out.display(),
        ids.len()
    );
    Ok(())
}

/// The video files of `dir`, sorted by name.
fn list_videos(dir: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("--videos {}: cannot list", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            let ext = Path::new(n)
                .extension()
                .map(|e| e.to_string_lossy().to_lowercase());
            ext.is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.as_str()))
        })
        .collect();
    names.sort();
    if names.is_empty() {
        bail!(
            "--videos {}: no video files ({}) in it",
            dir.display(),
            VIDEO_EXTENSIONS.join(", ")
        );
    }
    Ok(names)
}

/// One search result.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    /// 1 is best.
    pub rank: usize,
    /// The item's id (video file name or text).
    pub id: String,
    /// Cosine similarity with the query.
    pub score: f32,
}

/// Run `search`.
pub fn run_search(req: &AdapterRequest, args: &SearchArgs) -> Result<()> {
    let index = read_matrix(&args.index, "embeddings").context("--index")?;
    let ids = metadata_strings(&index, "ids", &args.index)?;
    let kind = index.metadata.get("kind").map(String::as_str);
    if ids.len() != index.rows {
        bail!(
            "--index {}: {} ids for {} embeddings",
            args.index.display(),
            ids.len(),
            index.rows
        );
    }
    super::eval::check_checkpoint(&args.checkpoint)?;
    let gpu = Gpu::new(req)?;
    let (model, tok) = load_run(&gpu, &args.checkpoint)?;
    let d = model.cfg.heads.embed_dim;
    if index.cols != d {
        bail!(
            "--index {} holds {}-dimensional embeddings, the checkpoint makes {d}: embed with this checkpoint",
            args.index.display(),
            index.cols
        );
    }
    let query = match kind {
        Some("video") => embed_captions(&gpu, &model, &tok, &[pre_text(&args.query)], 1)?,
        Some("text") => {
            let path = Path::new(&args.query);
            let (dir, name) = (
                path.parent().unwrap_or(Path::new("")),
                path.file_name()
                    .with_context(|| format!("query {:?} is not a video file", args.query))?
                    .to_string_lossy()
                    .into_owned(),
            );
            let reader = clip_reader(&model);
            embed_video_files(&gpu, &model, &reader, dir, &[name], 1, false, false)?.0
        }
        _ => bail!(
            "--index {}: metadata \"kind\" must be video or text",
            args.index.display()
        ),
    };
    let scores = similarity(&query, &index.data, d);
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let hits: Vec<Hit> = order
        .iter()
        .take(args.top)
        .enumerate()
        .map(|(r, &i)| Hit {
            rank: r + 1,
            id: ids[i].clone(),
            score: scores[i],
        })
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&hits)?);
    } else {
        for h in &hits {
            println!("{:>4}  {:>8.5}  {}", h.rank, h.score, h.id);
        }
    }
    Ok(())
}
