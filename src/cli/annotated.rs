//! `eval --annotations FILE --videos DIR`: the standard retrieval protocols (SSv2-Template,
//! SSv2-Label, any VindLU / Singularity annotation file) on real videos, with the
//! similarity matrix saved for anyone's own metric code.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use super::eval::EvalArgs;
use crate::data::annotations::{RetrievalSet, Ssv2Captions, read_annotations};
use crate::data::clips::{ClipReader, SAMPLING, default_cache_dir};
use crate::data::matrix_file::write_matrix;
use crate::eval::annotated::{AnnotatedEval, evaluate_annotated};
use crate::eval::retrieval::{load_run, table};
use crate::gpu::{AdapterRequest, Gpu};
use crate::model::locomotion::LocoModel;

/// Annotated real videos: shared by `eval` and `finetune`.
#[derive(Debug, Clone, Args)]
pub struct AnnotationArgs {
    /// Annotations to rank (eval) or train on (finetune): a VindLU / Singularity JSON list
    /// [{"video": file or [files], "caption": text}], Something-Something v2's raw
    /// something-something-v2-*.json (with --ssv2-captions), or a .jsonl / .csv of video,
    /// caption. Captions are normalised as Singularity does (docs/data.md).
    #[arg(long, value_name = "FILE", requires = "videos")]
    pub annotations: Option<PathBuf>,
    /// The folder the annotations' video file names are relative to.
    #[arg(long, value_name = "DIR", requires = "annotations")]
    pub videos: Option<PathBuf>,
    /// SSv2's raw JSON as SSv2-Template (one caption per template, naming all its videos) or
    /// SSv2-Label (each video's label).
    #[arg(long, value_name = "template|label", requires = "annotations")]
    pub ssv2_captions: Option<String>,
    /// Skip videos that fail to decode (counted in the summary and the JSON) instead of
    /// stopping with an error naming the first.
    #[arg(long, requires = "annotations")]
    pub skip_bad_videos: bool,
}

/// `eval`'s flags for annotated videos.
#[derive(Debug, Clone, Args)]
pub struct AnnotatedEvalArgs {
    /// The annotations and their videos.
    #[command(flatten)]
    pub data: AnnotationArgs,
    /// Also write the similarity matrix the ranking used: safetensors, tensor `similarity`
    /// (F32, captions × videos), metadata `captions` and `videos` (JSON arrays, row and
    /// column order) and `pairs` (the matching [caption, video] indices).
    #[arg(long, value_name = "FILE", requires = "annotations")]
    pub save_similarity: Option<PathBuf>,
}

impl AnnotationArgs {
    /// The annotations and their videos folder, when given.
    pub fn read(&self) -> Result<Option<(RetrievalSet, PathBuf)>> {
        let (Some(file), Some(dir)) = (&self.annotations, &self.videos) else {
            return Ok(None);
        };
        let ssv2 = self
            .ssv2_captions
            .as_deref()
            .map(Ssv2Captions::parse)
            .transpose()?;
        if !dir.is_dir() {
            bail!("--videos {}: not a folder", dir.display());
        }
        let set = read_annotations(file, ssv2).with_context(|| "--annotations")?;
        Ok(Some((set, dir.clone())))
    }
}

/// A reader of clips shaped for `model`, through the clip cache.
pub fn clip_reader(model: &LocoModel) -> ClipReader {
    let v = &model.cfg.video;
    ClipReader::new(
        v.frames as u32,
        v.height as u32,
        v.width as u32,
        default_cache_dir(),
    )
}

/// Run `eval --annotations`.
pub fn run_eval(req: &AdapterRequest, args: &EvalArgs) -> Result<()> {
    for (flag, given) in [
        ("--data", args.data.is_some()),
        ("--benchmark", args.benchmark.is_some()),
        ("--rerank-vtm", args.rerank_vtm.is_some()),
        ("--clips", args.clips.is_some()),
        ("--captions", args.captions != "motion"),
        ("--seed", args.seed != 0),
        (
            "--groups",
            args.groups != crate::train::recipe::BENCHMARK_GROUPS,
        ),
        (
            "--per-group",
            args.per_group != crate::train::recipe::BENCHMARK_PER_GROUP,
        ),
        ("--bench-seed", args.bench_seed.is_some()),
        (
            "--benchmark-captions",
            args.benchmark_captions != Default::default(),
        ),
    ] {
        if given {
            bail!(
                "{flag} does not apply to --annotations (the annotations say which videos and captions are ranked)"
            );
        }
    }
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let Some((set, dir)) = args.real.data.read()? else {
        bail!("--annotations needs --videos");
    };
    super::eval::check_checkpoint(&args.checkpoint)?;
    let gpu = Gpu::new(req)?;
    let (model, tok) = load_run(&gpu, &args.checkpoint)?;
    let reader = clip_reader(&model);
    crate::util::progress::print_settings(
        "evaluate",
        &[
            ("checkpoint", args.checkpoint.display().to_string()),
            ("annotations", display(&args.real.data.annotations)),
            ("videos", dir.display().to_string()),
            ("captions", set.captions.len().to_string()),
            ("videos named", set.videos.len().to_string()),
            (
                "clips",
                format!(
                    "{} frames ({SAMPLING}) of {}×{}",
                    reader.frames, reader.height, reader.width
                ),
            ),
            ("adapter", gpu.summary.name.clone()),
        ],
    );
    let ev = evaluate_annotated(
        &gpu,
        &model,
        &tok,
        &reader,
        &set,
        &dir,
        args.batch,
        args.real.data.skip_bad_videos,
        true,
    )?;
    print!("{}", summary(&ev));
    if let Some(path) = &args.json {
        crate::util::fs::write_atomic(path, serde_json::to_string_pretty(&ev.report)?.as_bytes())?;
        println!("wrote {}", path.display());
    }
    if let Some(path) = &args.real.save_similarity {
        save_similarity(path, &ev)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn display(p: &Option<PathBuf>) -> String {
    p.as_ref()
        .map_or_else(String::new, |p| p.display().to_string())
}

/// The printed result: the table (chance beside each figure), mean ranks, and what was
/// counted, skipped or left out.
pub fn summary(ev: &AnnotatedEval) -> String {
    let r = &ev.report;
    let mut s = table(&r.metrics);
    s += &format!(
        "mean rank: text→video {:.1} (chance {:.1}), video→text {:.1} (chance {:.1})\n",
        r.text_to_video.model.mean_rank,
        r.text_to_video.chance.mean_rank,
        r.video_to_text.model.mean_rank,
        r.video_to_text.chance.mean_rank
    );
    s += &format!(
        "{} captions × {} videos; {} videos skipped; decoded {}, from the clip cache {}\n",
        r.captions, r.videos, r.skipped_videos, r.decoded, r.from_cache
    );
    for k in &r.skipped {
        s += &format!("skipped {}: {}\n", k.video, k.error);
    }
    for c in &r.captions_without_videos {
        s += &format!("left out (every video it names was skipped): {c:?}\n");
    }
    s
}

/// Write the similarity matrix `similarity` (F32, captions × videos) with the captions and
/// video file names, in row and column order, as JSON arrays in the metadata.
pub fn save_similarity(path: &Path, ev: &AnnotatedEval) -> Result<()> {
    let meta = HashMap::from([
        (
            "captions".to_string(),
            serde_json::to_string(&ev.set.captions)?,
        ),
        ("videos".to_string(), serde_json::to_string(&ev.set.videos)?),
        ("pairs".to_string(), serde_json::to_string(&ev.set.pairs)?),
    ]);
    write_matrix(
        path,
        "similarity",
        (ev.set.captions.len(), ev.set.videos.len()),
        &ev.sim,
        meta,
    )
}

/// `finetune --annotations`: the pairs to train on (`None` without --annotations).
pub fn training_data(
    args: &AnnotationArgs,
    train: &super::pretrain::TrainConfigArgs,
) -> Result<Option<crate::train::data::AnnotationData>> {
    if args.annotations.is_some() && train.data.is_some() {
        bail!("give --annotations or --data, not both");
    }
    if args.annotations.is_some() && (train.backgrounds.is_some() || train.objects_dir.is_some()) {
        bail!(
            "--backgrounds and --objects-dir are for online clips; --annotations brings its own videos"
        );
    }
    if args.ssv2_captions.is_some() && args.annotations.is_none() {
        bail!("--ssv2-captions needs --annotations");
    }
    Ok(args
        .read()?
        .map(|(set, videos)| crate::train::data::AnnotationData {
            file: args.annotations.clone().unwrap_or_default(),
            set,
            videos,
            skip_bad_videos: args.skip_bad_videos,
        }))
}
