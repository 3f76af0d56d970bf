//! The driver's pipeline cache kept on disk between runs, where the adapter has one
//! (`Features::PIPELINE_CACHE`: wgpu offers it on Vulkan): the next start builds its pipelines
//! from the driver's cached binaries instead of compiling them again.
//!
//! Folder: `$LOCOMOTION_PIPELINE_CACHE` (`off` disables it: no file is read or written), else
//! `$XDG_CACHE_HOME/locomotion/pipelines`, else `~/.cache/locomotion/pipelines`. One file per
//! adapter, named by `wgpu::util::pipeline_cache_key` (vendor and device), starting with a
//! header that names the driver: a file from another driver version, or one that is not ours,
//! is ignored with one warning and replaced at the next save. Saves are atomic.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Environment variable naming the pipeline cache folder (`off` disables the cache).
pub const CACHE_ENV: &str = "LOCOMOTION_PIPELINE_CACHE";
const MAGIC: &[u8] = b"LOCOMOTION-PIPELINES-1\n";
/// Least time between two saves while pipelines are still being compiled.
const SAVE_EVERY: Duration = Duration::from_secs(2);

/// The cache folder (see the module doc); `None` when disabled.
pub fn cache_dir() -> Option<PathBuf> {
    crate::util::fs::cache_folder(CACHE_ENV, "pipelines")
}

/// The file in `dir` for this adapter; `None` where wgpu keeps no pipeline cache (not Vulkan).
pub fn cache_file(dir: &Path, info: &wgpu::AdapterInfo) -> Option<PathBuf> {
    wgpu::util::pipeline_cache_key(info).map(|key| dir.join(format!("{key}.bin")))
}

/// The header line that ties a file to one driver build.
fn driver_line(info: &wgpu::AdapterInfo) -> String {
    format!(
        "{} | {} | {} | {}\n",
        info.name, info.driver, info.driver_info, info.backend
    )
}

/// The file's bytes for the driver's cache `data`.
pub fn encode(info: &wgpu::AdapterInfo, data: &[u8]) -> Vec<u8> {
    let line = driver_line(info);
    let mut out = Vec::with_capacity(MAGIC.len() + line.len() + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(line.as_bytes());
    out.extend_from_slice(data);
    out
}

/// The driver's data in a file's `bytes`, or why the file cannot be used.
pub fn decode<'a>(info: &wgpu::AdapterInfo, bytes: &'a [u8]) -> Result<&'a [u8], String> {
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or("not a locomotion pipeline cache")?;
    let line = driver_line(info);
    rest.strip_prefix(line.as_bytes()).ok_or_else(|| {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(0);
        format!(
            "made by another driver ({})",
            String::from_utf8_lossy(&rest[..end])
        )
    })
}

/// A pipeline cache and the file it is saved to.
pub struct DiskCache {
    pub cache: wgpu::PipelineCache,
    info: wgpu::AdapterInfo,
    path: PathBuf,
    /// True while pipelines compiled since the last save are not on disk.
    dirty: AtomicBool,
    last_save: Mutex<Instant>,
    /// Whether a usable file was read at start.
    pub loaded: bool,
    /// A failed save warns once.
    warned: AtomicBool,
}

impl DiskCache {
    /// Open the cache for `device` from its file, if the cache is enabled and the device has
    /// the feature. An unreadable or foreign file is ignored with a warning.
    pub fn open(device: &wgpu::Device, info: &wgpu::AdapterInfo) -> Option<Self> {
        if !device.features().contains(wgpu::Features::PIPELINE_CACHE) {
            return None;
        }
        let path = cache_file(&cache_dir()?, info)?;
        let bytes = match std::fs::read(&path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                eprintln!(
                    "warning: pipeline cache {} unreadable ({e}); compiling afresh",
                    path.display()
                );
                None
            }
        };
        let data = bytes.as_deref().and_then(|b| match decode(info, b) {
            Ok(d) => Some(d),
            Err(why) => {
                eprintln!(
                    "warning: pipeline cache {} ignored: {why}; it will be replaced ({CACHE_ENV}=off disables it)",
                    path.display()
                );
                None
            }
        });
        // SAFETY: the data was written by `save` for an adapter with the same cache key and
        // driver (checked by `decode`); wgpu validates its own header again and, with
        // `fallback`, starts empty when the driver rejects the data.
        let cache = unsafe {
            device.create_pipeline_cache(&wgpu::PipelineCacheDescriptor {
                label: Some("locomotion pipelines"),
                data,
                fallback: true,
            })
        };
        Some(Self {
            cache,
            info: info.clone(),
            path,
            dirty: AtomicBool::new(false),
            last_save: Mutex::new(Instant::now()),
            loaded: data.is_some(),
            warned: AtomicBool::new(false),
        })
    }

    /// The file this cache is read from and saved to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Note that a pipeline was compiled; saves when the last save is old enough.
    pub fn compiled(&self) {
        self.dirty.store(true, Ordering::Relaxed);
        self.save_if_due();
    }

    /// Save if pipelines were compiled since the last save and it is [`SAVE_EVERY`] old.
    pub fn save_if_due(&self) {
        if self.dirty.load(Ordering::Relaxed)
            && self.last_save.lock().unwrap().elapsed() >= SAVE_EVERY
        {
            self.save();
        }
    }

    /// Write the cache to its file now, if anything was compiled since the last save. A failure
    /// is a warning: the cache only saves time.
    pub fn save(&self) {
        if !self.dirty.swap(false, Ordering::Relaxed) {
            return;
        }
        *self.last_save.lock().unwrap() = Instant::now();
        let Some(data) = self.cache.get_data() else {
            return;
        };
        let written = self
            .path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .map_err(anyhow::Error::from)
            .and_then(|()| crate::util::fs::write_atomic(&self.path, &encode(&self.info, &data)));
        if let Err(e) = written
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            eprintln!("warning: pipeline cache not saved: {e}");
        }
    }
}

impl Drop for DiskCache {
    fn drop(&mut self) {
        self.save();
    }
}
