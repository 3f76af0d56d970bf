//! Render a `Scene` to PNG by drawing its own SVG with resvg, so the PNG and the SVG are the
//! same picture. Text is shaped with DejaVu Sans embedded in the binary: no system fonts.

use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result, anyhow};
use image::{ImageFormat, RgbImage};
use resvg::{tiny_skia, usvg};

use super::scene::{Scene, escape_xml};

/// The font family every chart names first; it is the one embedded here.
pub const FONT_FAMILY: &str = "DejaVu Sans";

/// Parser options with the embedded font as the only (and sans-serif) family, built once.
fn options() -> &'static usvg::Options<'static> {
    static OPTIONS: OnceLock<usvg::Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(dejavu::sans::regular().to_vec());
        db.set_sans_serif_family(FONT_FAMILY);
        usvg::Options {
            font_family: FONT_FAMILY.into(),
            fontdb: Arc::new(db),
            ..usvg::Options::default()
        }
    })
}

/// Width in pixels of `text` set in the embedded font at `size` px (what the PNG shows;
/// browsers showing the SVG with DejaVu Sans agree).
pub fn measure(text: &str, size: f64) -> Option<f64> {
    if text.trim().is_empty() {
        return Some(0.0);
    }
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text x="0" y="50" font-size="{size}">{}</text></svg>"#,
        escape_xml(text)
    );
    let tree = usvg::Tree::from_str(&svg, options()).ok()?;
    let w = tree.root().abs_bounding_box().width() as f64;
    w.is_finite().then_some(w)
}

impl Scene {
    /// Paint the scene onto an RGB image of the scene's size (white where nothing is drawn).
    pub fn rasterize(&self) -> Result<RgbImage> {
        let tree = usvg::Tree::from_str(&self.to_svg(), options())
            .map_err(|e| anyhow!("cannot render chart SVG: {e}"))?;
        let mut pixmap = tiny_skia::Pixmap::new(self.width.max(1), self.height.max(1))
            .context("chart canvas has no pixels")?;
        pixmap.fill(tiny_skia::Color::WHITE);
        resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
        // Opaque white background, so premultiplied RGBA is plain RGB.
        let rgb: Vec<u8> = pixmap
            .data()
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        RgbImage::from_raw(pixmap.width(), pixmap.height(), rgb).context("chart canvas size")
    }

    /// The scene encoded as PNG bytes.
    pub fn to_png(&self) -> Result<Vec<u8>> {
        let mut bytes = std::io::Cursor::new(Vec::new());
        self.rasterize()?
            .write_to(&mut bytes, ImageFormat::Png)
            .context("cannot encode chart as PNG")?;
        Ok(bytes.into_inner())
    }
}
