//! Stated limits on what a user file may declare, checked where the data enters and before
//! anything is allocated: a 35-byte GIF may declare a 65 535 × 65 535 screen.

use std::path::Path;

use anyhow::{Context, Result, bail};
use image::{DynamicImage, ImageReader, Limits};

/// Longest side of any image or video frame read from a user file (8K is 7680).
pub const MAX_SOURCE_SIDE: u32 = 8192;
/// Most pixels of one such image or frame (8K UHD, 7680 × 4320, is 33.2 million).
pub const MAX_SOURCE_PIXELS: u64 = 36_000_000;
/// Host memory `generate` and the background readers may plan for (backgrounds fitted to the
/// clip size plus the clips in flight); beyond it the run is refused before any work.
pub const MAX_HOST_BYTES: u64 = 4 << 30;

/// Refuse a declared `w` × `h` image (`what` names the kind of file) over the limits or empty.
pub fn check_image_size(what: &str, path: &Path, w: u64, h: u64) -> Result<()> {
    if w == 0 || h == 0 {
        bail!(
            "{what} '{}' is {w}x{h} pixels: an empty image",
            path.display()
        );
    }
    if w > MAX_SOURCE_SIDE as u64 || h > MAX_SOURCE_SIDE as u64 || w * h > MAX_SOURCE_PIXELS {
        bail!(
            "{what} '{}' declares {w}x{h} pixels, over the limit of {MAX_SOURCE_SIDE} a side and {} megapixels: scale it down",
            path.display(),
            MAX_SOURCE_PIXELS / 1_000_000
        );
    }
    Ok(())
}

/// Decode a PNG or JPEG after checking its declared size against the limits; the decoder
/// gets the same limits, so a header that lies cannot allocate more.
pub fn read_image(what: &str, path: &Path) -> Result<DynamicImage> {
    let open = || {
        ImageReader::open(path)
            .and_then(|r| r.with_guessed_format())
            .with_context(|| format!("cannot read {what} '{}'", path.display()))
    };
    // Only the header is read here; the limits are ours, so the message can name the size.
    let mut header = open()?;
    header.no_limits();
    let (w, h) = header
        .into_dimensions()
        .with_context(|| format!("cannot read {what} '{}'", path.display()))?;
    check_image_size(what, path, w as u64, h as u64)?;
    let mut reader = open()?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SOURCE_SIDE);
    limits.max_image_height = Some(MAX_SOURCE_SIDE);
    limits.max_alloc = Some(MAX_SOURCE_PIXELS * 8);
    reader.limits(limits);
    reader
        .decode()
        .with_context(|| format!("cannot read {what} '{}'", path.display()))
}

/// A byte count as text ("1.5 GiB") for messages.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
