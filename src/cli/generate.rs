//! `locomotion generate`: sample clips, composite them on the GPU and write GIF previews,
//! optional PNG frames and `manifest.jsonl` (one line per clip with its full parameters).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

use crate::gpu::{AdapterRequest, Gpu};
use crate::motion::params::{ClipParams, ManifestEntry};
use crate::motion::{BackgroundLibrary, Compositor, GenConfig, ObjectLibrary, sample_clip};

/// Options of `locomotion generate`.
#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// Output folder (created; clips/, frames/ and manifest.jsonl go inside).
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
    /// Clips composited per GPU submission.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Also caption every clip in the same pass: captions.jsonl with the motion, spatial and
    /// template captions and lexicon paraphrases of the motion caption.
    #[arg(long)]
    pub captions: bool,
    /// Paraphrases per motion caption with --captions.
    #[arg(long, default_value_t = 4, value_name = "K")]
    pub paraphrases: usize,
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
    // Everything that can fail on user input fails here, before any output exists.
    let (objects, backgrounds) = load_libraries(args, &cfg)?;
    let gpu = Gpu::new(req)?;
    let comp = Compositor::new(&gpu, &objects, &backgrounds)?;

    let out = &args.out;
    fs::create_dir_all(out.join("clips"))
        .with_context(|| format!("cannot create '{}'", out.display()))?;
    let indices: Vec<u64> = (0..args.clips).filter(|i| i % n == k).collect();
    let bar = crate::util::progress::bar(true, indices.len() as u64, "generate", "clips");
    let mut entries = Vec::with_capacity(indices.len());
    let frame_bytes = (cfg.frames * cfg.height * cfg.width * 4) as usize;
    for chunk in indices.chunks(args.batch) {
        let clips: Vec<ClipParams> = chunk
            .iter()
            .map(|&i| sample_clip(args.seed, i, &cfg, &objects, &backgrounds))
            .collect();
        let pixels = comp.render_rgba8(&clips)?;
        for (clip, frames) in clips.into_iter().zip(pixels.chunks_exact(frame_bytes)) {
            let gif = format!("clips/{}.gif", clip.id);
            write_gif(&out.join(&gif), frames, cfg.width, cfg.height)?;
            let frames_dir = if args.frames_png {
                let d = format!("frames/{}", clip.id);
                write_pngs(&out.join(&d), frames, cfg.width, cfg.height)?;
                Some(d)
            } else {
                None
            };
            entries.push(ManifestEntry {
                id: clip.id.clone(),
                gif: Some(gif),
                frames_dir,
                params: clip,
            });
            bar.inc(1);
        }
    }
    bar.finish();
    write_manifest(&out.join("manifest.jsonl"), &entries)?;
    if args.captions {
        let clips: Vec<&ClipParams> = entries.iter().map(|e| &e.params).collect();
        crate::caption::records::write_captions(
            &out.join("captions.jsonl"),
            &clips,
            args.paraphrases,
            args.seed,
        )?;
    }
    let captions = if args.captions {
        ", captions.jsonl"
    } else {
        ""
    };
    eprintln!(
        "wrote {} clips (clips/*.gif{}), manifest.jsonl{captions} to {}",
        entries.len(),
        if args.frames_png { ", frames/" } else { "" },
        out.display()
    );
    Ok(())
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
