//! `locomotion generate`: sample clips, composite them on the GPU and write GIF previews,
//! optional PNG frames and `manifest.jsonl` (one line per clip with its full parameters).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

use crate::caption::records::records_for;
use crate::gpu::{AdapterRequest, Gpu};
use crate::motion::params::{ClipParams, ManifestEntry};
use crate::motion::{BackgroundLibrary, Compositor, GenConfig, ObjectLibrary, sample_clip};
use crate::util::limits::{self, human_bytes};
use crate::util::out_folder::OutFolder;

/// Options of `locomotion generate`.
#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// Output folder (created; clips/, frames/ and manifest.jsonl go inside). It must be
    /// empty or, with --force, hold only an older dataset; one run at a time writes it.
    #[arg(long)]
    pub out: PathBuf,
    /// Clips in the whole dataset (all shards together).
    #[arg(long, default_value_t = 16)]
    pub clips: u64,
    /// Dataset seed: every random choice flows from it.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Frame size: N for N×N, or WxH (e.g. 160x112).
    #[arg(long, default_value = "112")]
    pub size: String,
    /// Frames per clip (64 and more gets more segments).
    #[arg(long, default_value_t = 16)]
    pub frames: u32,
    /// Objects per clip (1 to 4).
    #[arg(long, default_value_t = 1)]
    pub objects: u32,
    /// Background videos: a GIF, a video (needs ffmpeg), a folder of PNG/JPEG frames, or a
    /// folder of those. Default: the built-in procedural scenes.
    #[arg(long, value_name = "PATH")]
    pub backgrounds: Option<PathBuf>,
    /// Folder of RGBA PNG objects (optional objects.json). Default: the built-in shapes.
    #[arg(long, value_name = "PATH")]
    pub objects_dir: Option<PathBuf>,
    /// Arcs and circles besides straight segments (beyond the paper).
    #[arg(long)]
    pub nonlinear: bool,
    /// Accelerating and decelerating segments.
    #[arg(long)]
    pub easing: bool,
    /// Segments that grow or shrink the object.
    #[arg(long)]
    pub scale_changes: bool,
    /// Segments where the object stays still.
    #[arg(long)]
    pub still_segments: bool,
    /// Also write every frame as a PNG under frames/<clip id>/.
    #[arg(long)]
    pub frames_png: bool,
    /// Make only shard k of n (k from 0): clips whose index mod n is k. Shards of one seed
    /// concatenate into the full dataset.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Every moving segment travels at least this many pixels (0: no floor).
    #[arg(long, default_value_t = 3.0, value_name = "PX")]
    pub min_travel: f32,
    /// Every rotating segment turns at least this many degrees.
    #[arg(long, default_value_t = 20.0, value_name = "DEG")]
    pub min_turn: f32,
    /// Shortest segment in frames (0: half the frames, at least 2 and at most 4, so an
    /// 8-frame clip holds one segment and a 16-frame clip up to three).
    #[arg(long, default_value_t = 0, value_name = "FRAMES")]
    pub min_segment_frames: u32,
    /// Clips composited per GPU submission.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Also caption every clip in the same pass: captions.jsonl with the motion, spatial and
    /// template captions and lexicon paraphrases of the motion caption.
    #[arg(long)]
    pub captions: bool,
    /// Paraphrases per motion caption with --captions (at most 64).
    #[arg(long, default_value_t = 4, value_name = "K")]
    pub paraphrases: usize,
    /// Replace the dataset already in --out (its clips/, frames/, manifest and captions).
    #[arg(long)]
    pub force: bool,
}

/// Parse "N" or "WxH" into (width, height).
pub fn parse_size(s: &str) -> anyhow::Result<(u32, u32)> {
    let bad = || anyhow::anyhow!("--size '{s}' is not N or WxH (e.g. 112 or 160x112)");
    match s.split_once(['x', 'X']) {
        Some((w, h)) => Ok((
            w.trim().parse().map_err(|_| bad())?,
            h.trim().parse().map_err(|_| bad())?,
        )),
        None => {
            let n = s.trim().parse().map_err(|_| bad())?;
            Ok((n, n))
        }
    }
}

/// Parse "k/n" into (k, n) with k < n.
pub fn parse_shard(s: &str) -> anyhow::Result<(u64, u64)> {
    let bad = || anyhow::anyhow!("--shard '{s}' is not k/n with 0 <= k < n (e.g. 0/4)");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (u64, u64) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || k >= n {
        return Err(bad());
    }
    Ok((k, n))
}

impl GenerateArgs {
    /// The sampler configuration these options describe.
    pub fn config(&self) -> anyhow::Result<GenConfig> {
        let (width, height) = parse_size(&self.size)?;
        let cfg = GenConfig {
            frames: self.frames,
            height,
            width,
            objects: self.objects,
            nonlinear: self.nonlinear,
            easing: self.easing,
            scale_changes: self.scale_changes,
            still_segments: self.still_segments,
            min_travel_px: self.min_travel,
            min_turn_degrees: self.min_turn,
            min_segment_frames: self.min_segment_frames,
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

/// Write what `write` produces to `path` atomically (temp file, fsync, rename).
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut Vec<u8>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    write(&mut bytes)?;
    crate::util::fs::write_atomic(path, &bytes)
}

/// Encode `frames` (RGBA8, height × width each) as a looping GIF at 10 frames/s.
pub fn write_gif(path: &Path, frames: &[u8], width: u32, height: u32) -> anyhow::Result<()> {
    write_atomic(path, |w| {
        let mut enc = gif::Encoder::new(w, width as u16, height as u16, &[])
            .with_context(|| format!("cannot write GIF '{}'", path.display()))?;
        enc.set_repeat(gif::Repeat::Infinite)?;
        for f in frames.chunks_exact((width * height * 4) as usize) {
            let mut px = f.to_vec();
            let mut frame = gif::Frame::from_rgba_speed(width as u16, height as u16, &mut px, 10);
            frame.delay = 10;
            enc.write_frame(&frame)
                .with_context(|| format!("cannot write GIF '{}'", path.display()))?;
        }
        Ok(())
    })
}

fn write_pngs(dir: &Path, frames: &[u8], width: u32, height: u32) -> anyhow::Result<()> {
    // Frames go to a temporary folder renamed at the end: no half-written clip folder.
    let tmp = dir.with_extension("tmp");
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir_all(&tmp).with_context(|| format!("cannot create '{}'", tmp.display()))?;
    for (t, f) in frames
        .chunks_exact((width * height * 4) as usize)
        .enumerate()
    {
        let rgb: Vec<u8> = f.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        let path = tmp.join(format!("{t:04}.png"));
        image::save_buffer(&path, &rgb, width, height, image::ExtendedColorType::Rgb8)
            .with_context(|| format!("cannot write '{}'", path.display()))?;
    }
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    fs::rename(&tmp, dir).with_context(|| format!("cannot rename '{}'", tmp.display()))
}

/// The libraries `args` name (built-in ones when no path is given); errors name the file.
pub fn load_libraries(
    args: &GenerateArgs,
    cfg: &GenConfig,
) -> anyhow::Result<(ObjectLibrary, BackgroundLibrary)> {
    let objects = match &args.objects_dir {
        Some(dir) => ObjectLibrary::from_dir(dir)?,
        None => ObjectLibrary::builtin(),
    };
    let backgrounds = match &args.backgrounds {
        Some(p) => BackgroundLibrary::from_path(p, cfg.height, cfg.width, cfg.frames)?,
        None => BackgroundLibrary::builtin(cfg.height, cfg.width, cfg.frames),
    };
    Ok((objects, backgrounds))
}

/// What `generate` writes into `--out`; `--force` replaces exactly these.
pub const OUTPUTS: [&str; 4] = ["clips", "frames", "manifest.jsonl", "captions.jsonl"];

/// Run `generate`.
pub fn run(req: &AdapterRequest, args: &GenerateArgs) -> anyhow::Result<()> {
    let cfg = args.config()?;
    let (k, n) = match &args.shard {
        Some(s) => parse_shard(s)?,
        None => (0, 1),
    };
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    super::paraphrases::check(args.paraphrases)?;
    // Everything that can fail on user input fails here, before any output exists.
    let count = if args.clips > k {
        (args.clips - k).div_ceil(n)
    } else {
        0
    };
    if count == 0 {
        bail!(
            "--clips {} gives shard {k}/{n} no clips: give more --clips",
            args.clips
        );
    }
    let gpu = Gpu::new(req)?;
    let sources = match &args.backgrounds {
        Some(p) => BackgroundLibrary::sources(p)?.len() as u64,
        None => crate::motion::procedural::SCENE_COUNT as u64,
    };
    check_budget(
        &cfg,
        args.batch as u64,
        count,
        sources,
        gpu.limits.max_storage_buffer_binding_size,
    )?;
    let (objects, backgrounds) = load_libraries(args, &cfg)?;
    let comp = Compositor::new(&gpu, &objects, &backgrounds).context(
        "the backgrounds do not fit the device at this clip size: lower --frames or --size, or use fewer backgrounds",
    )?;

    let folder = OutFolder::open(&args.out, "--out", &OUTPUTS, args.force)?;
    let stage = folder.stage().to_path_buf();
    fs::create_dir_all(stage.join("clips"))
        .with_context(|| format!("cannot create '{}'", stage.display()))?;
    let bar = crate::util::progress::bar(true, count, "generate", "clips");
    // Lines stream to the staged files: nothing proportional to --clips stays in memory.
    let mut manifest = JsonlStream::create(&stage.join("manifest.jsonl"))?;
    let mut captions = if args.captions {
        Some(JsonlStream::create(&stage.join("captions.jsonl"))?)
    } else {
        None
    };
    let lex = crate::caption::Lexicon::builtin();
    let (describer, paraphraser) = (
        crate::caption::Describer::new(lex.clone()),
        crate::caption::Paraphraser::new(lex),
    );
    let frame_bytes = (cfg.frames * cfg.height * cfg.width * 4) as usize;
    let mut written = 0u64;
    let mut short = 0usize;
    let mut next = k;
    while next < args.clips {
        let chunk: Vec<u64> = (0..args.batch as u64)
            .map(|j| next.saturating_add(j.saturating_mul(n)))
            .take_while(|&i| i < args.clips)
            .collect();
        next = chunk.last().map_or(u64::MAX, |&i| i.saturating_add(n));
        let clips: Vec<ClipParams> = chunk
            .iter()
            .map(|&i| sample_clip(args.seed, i, &cfg, &objects, &backgrounds))
            .collect();
        let pixels = comp.render_rgba8(&clips)?;
        for (clip, frames) in clips.into_iter().zip(pixels.chunks_exact(frame_bytes)) {
            let gif = format!("clips/{}.gif", clip.id);
            write_gif(&stage.join(&gif), frames, cfg.width, cfg.height)?;
            let frames_dir = if args.frames_png {
                let d = format!("frames/{}", clip.id);
                write_pngs(&stage.join(&d), frames, cfg.width, cfg.height)?;
                Some(d)
            } else {
                None
            };
            if let Some(c) = captions.as_mut() {
                let kinds = &crate::caption::CaptionKind::ALL;
                for r in records_for(
                    &clip,
                    kinds,
                    args.paraphrases,
                    args.seed,
                    &describer,
                    &paraphraser,
                ) {
                    short += usize::from(
                        r.kind == crate::caption::CaptionKind::Motion
                            && r.paraphrases.len() < args.paraphrases,
                    );
                    c.push(&r)?;
                }
            }
            manifest.push(&ManifestEntry {
                id: clip.id.clone(),
                gif: Some(gif),
                frames_dir,
                params: clip,
            })?;
            written += 1;
            bar.inc(1);
        }
    }
    bar.finish();
    manifest.finish()?;
    if let Some(c) = captions {
        c.finish()?;
    }
    folder.commit(&OUTPUTS)?;
    let captions = if args.captions {
        ", captions.jsonl"
    } else {
        ""
    };
    eprintln!(
        "wrote {written} clips (clips/*.gif{}), manifest.jsonl{captions} to {}",
        if args.frames_png { ", frames/" } else { "" },
        args.out.display()
    );
    if args.captions {
        super::paraphrases::warn_short(short, written as usize, args.paraphrases);
    }
    Ok(())
}

/// Refuse, before any work, a run whose clips or backgrounds cannot fit: one batch of clips
/// must fit one storage binding of the device (`binding` bytes), and the backgrounds (at most
/// `sources` of --frames frames each) plus the clips in flight must fit
/// [`limits::MAX_HOST_BYTES`]. The message says which flag to lower.
pub fn check_budget(
    cfg: &GenConfig,
    batch: u64,
    clips: u64,
    sources: u64,
    binding: u64,
) -> anyhow::Result<()> {
    let clip = cfg.frames as u64 * cfg.height as u64 * cfg.width as u64 * 4;
    let size = format!(
        "--size {}x{} × --frames {}",
        cfg.width, cfg.height, cfg.frames
    );
    if clip > binding {
        bail!(
            "{size} is {} per clip, more than the device's {} storage binding: lower --frames or --size",
            human_bytes(clip),
            human_bytes(binding)
        );
    }
    let in_flight = batch.min(clips.max(1));
    if in_flight * clip > binding {
        bail!(
            "--batch {batch} clips of {} each ({size}) need {}, more than the device's {} storage binding: lower --batch to {} or less",
            human_bytes(clip),
            human_bytes(in_flight * clip),
            human_bytes(binding),
            binding / clip
        );
    }
    // The GPU's copy, its readback and the encoder's working copy of each clip in flight.
    let host = sources.saturating_mul(clip) + 3 * in_flight * clip;
    if host > limits::MAX_HOST_BYTES {
        bail!(
            "{size} with {sources} backgrounds and --batch {in_flight} needs about {} of memory, over the {} limit: lower --frames, --size or --batch, or use fewer backgrounds",
            human_bytes(host),
            human_bytes(limits::MAX_HOST_BYTES)
        );
    }
    Ok(())
}

/// A JSONL file written line by line to a temporary name and renamed when finished.
struct JsonlStream {
    path: PathBuf,
    temp: PathBuf,
    out: std::io::BufWriter<fs::File>,
}

impl JsonlStream {
    fn create(path: &Path) -> anyhow::Result<Self> {
        let temp = crate::data::temp_sibling(path);
        let file = fs::File::create(&temp)
            .with_context(|| format!("cannot create '{}'", temp.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            temp,
            out: std::io::BufWriter::new(file),
        })
    }

    fn push<T: serde::Serialize>(&mut self, record: &T) -> anyhow::Result<()> {
        let ctx = || format!("cannot write '{}'", self.path.display());
        serde_json::to_writer(&mut self.out, record).with_context(ctx)?;
        self.out.write_all(b"\n").with_context(ctx)
    }

    fn finish(self) -> anyhow::Result<()> {
        let ctx = || format!("cannot write '{}'", self.path.display());
        let file = self
            .out
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(ctx)?;
        file.sync_all().with_context(ctx)?;
        fs::rename(&self.temp, &self.path).with_context(ctx)
    }
}

/// Write the manifest, one JSON line per clip, atomically.
pub fn write_manifest(path: &Path, entries: &[ManifestEntry]) -> anyhow::Result<()> {
    write_atomic(path, |w| {
        for e in entries {
            serde_json::to_writer(&mut *w, e)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })
}
