//! Background videos, already resized and centre-cropped to the clip size: the built-in
//! procedural scenes, or user videos (animated GIFs, folders of PNG/JPEG frames, and any
//! other format through the `ffmpeg` executable when it is on PATH).
//!
//! A source with fewer frames than the clip is looped (frame t of the clip shows source
//! frame t mod n); a longer one is cut to the clip's length.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use image::RgbaImage;
use image::imageops::FilterType;

use super::ffmpeg::ffmpeg_frames;
use super::params::BackgroundRef;
use crate::util::limits;

pub use super::params::BackgroundVideo;

/// The backgrounds a dataset draws from, all at one clip size.
#[derive(Debug, Clone)]
pub struct BackgroundLibrary {
    /// The clip size every frame was fitted to.
    pub height: u32,
    pub width: u32,
    /// The backgrounds, in a fixed order (sampling indexes into it).
    pub videos: Vec<BackgroundVideo>,
}

const FRAME_EXTS: [&str; 3] = ["png", "jpg", "jpeg"];
const VIDEO_EXTS: [&str; 8] = ["mp4", "webm", "mov", "avi", "mkv", "m4v", "mpg", "mpeg"];

fn ext_of(p: &Path) -> String {
    p.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

impl BackgroundLibrary {
    /// The built-in scenes at `height`×`width`, moving ones with `frames` frames.
    pub fn builtin(height: u32, width: u32, frames: u32) -> Self {
        Self {
            height,
            width,
            videos: super::procedural::builtin_backgrounds(height, width, frames),
        }
    }

    /// One plain black background ("black background"): the objects alone, as the
    /// `--backgrounds black` ablation and the warm-up stage of pre-training use.
    pub fn black(height: u32, width: u32) -> Self {
        let pixel = [0u8, 0, 0, 255];
        Self {
            height,
            width,
            videos: vec![BackgroundVideo {
                background: super::params::BackgroundRef {
                    id: "builtin:black".into(),
                    name: "black background".into(),
                },
                frames: vec![pixel.repeat((height * width) as usize)],
            }],
        }
    }

    /// User backgrounds from `path`: one GIF or video file; a folder of PNG/JPEG frames
    /// (one background); or a folder whose entries (GIFs, videos, frame folders) are each
    /// one background, in file-name order. At most `frames` frames are read from each.
    pub fn from_path(path: &Path, height: u32, width: u32, frames: u32) -> anyhow::Result<Self> {
        let videos = Self::sources(path)?
            .iter()
            .map(|s| load_video(s, height, width, frames))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            height,
            width,
            videos,
        })
    }

    /// The sources [`BackgroundLibrary::from_path`] would read from `path`, one per
    /// background, without decoding any (so a run can check its memory budget first).
    pub fn sources(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
        let meta = std::fs::metadata(path)
            .with_context(|| format!("cannot read backgrounds '{}'", path.display()))?;
        let mut sources: Vec<PathBuf> = Vec::new();
        if meta.is_dir() && !has_frames(path)? {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot read backgrounds folder '{}'", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_dir() || ext_of(p) == "gif" || VIDEO_EXTS.contains(&ext_of(p).as_str())
                })
                .collect();
            entries.sort();
            sources.extend(entries);
        } else {
            sources.push(path.to_path_buf());
        }
        if sources.is_empty() {
            bail!(
                "backgrounds folder '{}' has no GIFs, videos or folders of frames",
                path.display()
            );
        }
        Ok(sources)
    }

    /// Number of backgrounds.
    pub fn len(&self) -> usize {
        self.videos.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.videos.is_empty()
    }

    /// The index of the background with stable id `id`.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.videos.iter().position(|v| v.background.id == id)
    }
}

fn has_frames(dir: &Path) -> anyhow::Result<bool> {
    Ok(std::fs::read_dir(dir)
        .with_context(|| format!("cannot read backgrounds folder '{}'", dir.display()))?
        .filter_map(|e| e.ok())
        .any(|e| FRAME_EXTS.contains(&ext_of(&e.path()).as_str())))
}

/// Load one background source, fitted to height × width. At most `frames` frames are read,
/// each fitted as it is decoded, so memory is `frames` clip-sized frames plus one source
/// frame; a source frame over [`limits::MAX_SOURCE_PIXELS`] is refused before it is read.
pub fn load_video(
    path: &Path,
    height: u32,
    width: u32,
    frames: u32,
) -> anyhow::Result<BackgroundVideo> {
    let max = frames.max(1) as usize;
    let images = if path.is_dir() {
        frame_folder(path, max, height, width)?
    } else if ext_of(path) == "gif" {
        gif_frames(path, max, height, width)?
    } else {
        ffmpeg_frames(path, height, width, max)?
    };
    if images.is_empty() {
        bail!("video '{}' has no frames", path.display());
    }
    let file = path.file_name().unwrap_or_default().to_string_lossy();
    Ok(BackgroundVideo {
        background: BackgroundRef {
            id: format!("user:{file}"),
            name: super::sprites::noun_from_file(&file),
        },
        frames: images,
    })
}

/// Resize so the frame covers height × width, then crop the centre.
pub fn fit(img: &RgbaImage, height: u32, width: u32) -> RgbaImage {
    let (w, h) = img.dimensions();
    let k = (width as f64 / w as f64).max(height as f64 / h as f64);
    let (nw, nh) = (
        ((w as f64 * k).ceil() as u32).max(width),
        ((h as f64 * k).ceil() as u32).max(height),
    );
    let resized = image::imageops::resize(img, nw, nh, FilterType::Triangle);
    let (x0, y0) = ((nw - width) / 2, (nh - height) / 2);
    let mut out = image::imageops::crop_imm(&resized, x0, y0, width, height).to_image();
    for p in out.pixels_mut() {
        p[3] = 255;
    }
    out
}

fn frame_folder(dir: &Path, max: usize, height: u32, width: u32) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read frame folder '{}'", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| FRAME_EXTS.contains(&ext_of(p).as_str()))
        .collect();
    files.sort();
    files
        .iter()
        .take(max)
        .map(|f| {
            let img = limits::read_image("video frame", f)?.to_rgba8();
            Ok(fit(&img, height, width).into_raw())
        })
        .collect()
}

fn gif_frames(path: &Path, max: usize, height: u32, width: u32) -> anyhow::Result<Vec<Vec<u8>>> {
    let what = || format!("cannot read GIF '{}'", path.display());
    let file = std::fs::File::open(path).with_context(what)?;
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    // A frame patch may declare more than its screen; cap what one frame may allocate.
    let cap = std::num::NonZeroU64::new(limits::MAX_SOURCE_PIXELS * 4).expect("non-zero");
    opts.set_memory_limit(gif::MemoryLimit::Bytes(cap));
    let mut dec = opts
        .read_info(std::io::BufReader::new(file))
        .with_context(what)?;
    let (w, h) = (dec.width() as u32, dec.height() as u32);
    limits::check_image_size("GIF", path, w as u64, h as u64)?;
    // GIF frames are patches over the previous canvas; keep a canvas to composite them.
    let mut canvas = RgbaImage::new(w, h);
    let mut out = Vec::new();
    while out.len() < max {
        let Some(frame) = dec.read_next_frame().with_context(what)? else {
            break;
        };
        let (fx, fy, fw) = (frame.left as u32, frame.top as u32, frame.width as u32);
        for (i, px) in frame.buffer.chunks_exact(4).enumerate() {
            let (x, y) = (fx + i as u32 % fw, fy + i as u32 / fw);
            if px[3] > 0 && x < w && y < h {
                canvas.put_pixel(x, y, image::Rgba([px[0], px[1], px[2], 255]));
            }
        }
        out.push(fit(&canvas, height, width).into_raw());
    }
    Ok(out)
}
