//! Render a `Scene` to PNG by drawing its own SVG with resvg, so the PNG and the SVG are the
//! same picture, its text in the embedded font ([`super::font`]).

use anyhow::{Context, Result, anyhow};
use image::{ImageFormat, RgbImage};
use resvg::{tiny_skia, usvg};

use super::font::options;
use super::scene::Scene;

impl Scene {
    /// Paint the scene onto an RGB image of the scene's size (white where nothing is drawn).
    pub fn rasterize(&self) -> Result<RgbImage> {
        let tree = usvg::Tree::from_str(self.checked_svg()?, options())
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
