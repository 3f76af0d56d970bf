//! Videos as model clips: decoded through the `ffmpeg` executable, resized to cover the
//! model's frame and centre-cropped, then N frames picked by VindLU / Singularity's "middle"
//! sampling (the video cut into N equal segments, the middle frame of each). Decoded clips
//! are cached on disk, keyed by the file (path, size, modification time), the frame count,
//! the frame size and the sampling, so a changed file is decoded again.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};

use crate::motion::composite::{IMAGENET_MEAN, IMAGENET_STD};
use crate::motion::ffmpeg::ffmpeg_frames;

/// Environment variable naming the clip cache folder (`off` disables the cache).
pub const CACHE_ENV: &str = "LOCOMOTION_CLIP_CACHE";
/// Frames decoded from a video at most; middle sampling picks among them (a longer video is
/// sampled from its first this-many frames).
pub const MAX_DECODED_FRAMES: usize = 4096;
/// The sampling's name in cache keys and docs.
pub const SAMPLING: &str = "middle";
const MAGIC: &[u8] = b"LOCOMOTION-CLIP-1\n";

/// The cache folder: `$LOCOMOTION_CLIP_CACHE`, else `$XDG_CACHE_HOME/locomotion/clips`,
/// else `~/.cache/locomotion/clips`; `None` when set to `off` or no home is known.
pub fn default_cache_dir() -> Option<PathBuf> {
    crate::util::fs::cache_folder(CACHE_ENV, "clips")
}

/// The frame indices of "middle" sampling: `n` equal segments of `len` frames (boundaries
/// `floor(i·len/n)`), the middle frame of each; with fewer frames than `n`, frames repeat.
pub fn middle_indices(len: usize, n: usize) -> Vec<usize> {
    let edge = |i: usize| i * len / n;
    (0..n)
        .map(|i| {
            let (start, end) = (edge(i), edge(i + 1).max(edge(i) + 1) - 1);
            ((start + end) / 2).min(len.saturating_sub(1))
        })
        .collect()
}

/// Reads videos as clips of `frames` × `height` × `width`, through the cache when it has one.
#[derive(Debug)]
pub struct ClipReader {
    /// Frames per clip.
    pub frames: u32,
    /// Frame height.
    pub height: u32,
    /// Frame width.
    pub width: u32,
    cache: Option<PathBuf>,
    decoded: AtomicUsize,
    cached: AtomicUsize,
}

impl ClipReader {
    /// A reader of clips of this size, caching in `cache` when given.
    pub fn new(frames: u32, height: u32, width: u32, cache: Option<PathBuf>) -> Self {
        Self {
            frames,
            height,
            width,
            cache,
            decoded: AtomicUsize::new(0),
            cached: AtomicUsize::new(0),
        }
    }

    /// Videos decoded by ffmpeg so far, and clips read from the cache.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.decoded.load(Ordering::Relaxed),
            self.cached.load(Ordering::Relaxed),
        )
    }

    /// The clip of `path` as RGB8 frames `[T, H, W, 3]`; an error names the file.
    pub fn rgb(&self, path: &Path) -> Result<Vec<u8>> {
        let meta = std::fs::metadata(path)
            .with_context(|| format!("video '{}' is missing", path.display()))?;
        if !meta.is_file() {
            bail!("video '{}' is not a file", path.display());
        }
        let header = self.header(path, &meta);
        if let Some(hit) = self.cached_clip(&header) {
            self.cached.fetch_add(1, Ordering::Relaxed);
            return Ok(hit);
        }
        let all = ffmpeg_frames(path, self.height, self.width, MAX_DECODED_FRAMES)?;
        self.decoded.fetch_add(1, Ordering::Relaxed);
        let mut rgb = Vec::with_capacity(self.frame_bytes() * self.frames as usize);
        for i in middle_indices(all.len(), self.frames as usize) {
            rgb.extend(all[i].chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]));
        }
        self.store(&header, &rgb);
        Ok(rgb)
    }

    /// The clip of `path` normalised for the model: `[T, 3, H, W]` f32 with the ImageNet mean
    /// and std (the compositor's normalisation).
    pub fn normalized(&self, path: &Path) -> Result<Vec<f32>> {
        let rgb = self.rgb(path)?;
        let plane = (self.height * self.width) as usize;
        let mut out = vec![0f32; rgb.len()];
        for (t, frame) in rgb.chunks_exact(plane * 3).enumerate() {
            for (p, px) in frame.chunks_exact(3).enumerate() {
                for c in 0..3 {
                    let v = px[c] as f32 / 255.0;
                    out[(t * 3 + c) * plane + p] = (v - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
                }
            }
        }
        Ok(out)
    }

    fn frame_bytes(&self) -> usize {
        (self.height * self.width * 3) as usize
    }

    /// What a cache entry must say about itself to be used.
    fn header(&self, path: &Path, meta: &std::fs::Metadata) -> String {
        let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        serde_json::json!({
            "file": abs.to_string_lossy(),
            "size": meta.len(),
            "mtime_ns": mtime.to_string(),
            "frames": self.frames,
            "height": self.height,
            "width": self.width,
            "sampling": SAMPLING,
        })
        .to_string()
    }

    fn entry(&self, header: &str) -> Option<PathBuf> {
        let h = header.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
        });
        Some(self.cache.as_ref()?.join(format!("{h:016x}.clip")))
    }

    fn cached_clip(&self, header: &str) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.entry(header)?).ok()?;
        let rest = bytes.strip_prefix(MAGIC)?;
        let nl = rest.iter().position(|&b| b == b'\n')?;
        let want = self.frame_bytes() * self.frames as usize;
        (rest[..nl] == *header.as_bytes() && rest.len() - nl - 1 == want)
            .then(|| rest[nl + 1..].to_vec())
    }

    /// Write the cache entry; a cache that cannot be written only costs a decode next time.
    fn store(&self, header: &str, rgb: &[u8]) {
        let Some(path) = self.entry(header) else {
            return;
        };
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.push(b'\n');
        bytes.extend_from_slice(rgb);
        let ok = path
            .parent()
            .is_some_and(|d| std::fs::create_dir_all(d).is_ok())
            && crate::util::fs::write_atomic(&path, &bytes).is_ok();
        if !ok {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                eprintln!(
                    "warning: cannot write the clip cache {} (set {CACHE_ENV} to another folder, or off)",
                    path.display()
                )
            });
        }
    }
}
