//! A chart drawn by plotters into SVG (its text in the embedded font); `render.rs` draws that
//! same SVG to PNG with resvg, so both files show one picture.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::util::fs::write_atomic;

/// Where a chart draws: a plotters area on an SVG canvas.
pub type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// What drawing on an [`Area`] can fail with.
pub type DrawError = DrawingAreaErrorKind<std::io::Error>;

/// Text and axes.
pub const INK: RGBColor = RGBColor(34, 34, 34);
/// Grid lines.
pub const GRID: RGBColor = RGBColor(225, 225, 225);
/// Minor grid lines (log axes), fainter than the labelled ones.
pub const MINOR_GRID: RGBColor = RGBColor(242, 242, 242);

/// Tableau 10: distinct colours that stay distinguishable for most colour-blind readers.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The i-th colour of the palette (series, bars), repeating after ten.
pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// `c` mixed with white, `keep` (0–1) of it left: faint raw values behind a smoothed curve.
pub fn faint(c: RGBColor, keep: f64) -> RGBColor {
    let mix = |v: u8| (255.0 - (255.0 - v as f64) * keep.clamp(0.0, 1.0)).round() as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

/// A drawn chart: its canvas size and SVG text, or why plotters could not draw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// Canvas width in pixels.
    pub width: u32,
    /// Canvas height in pixels.
    pub height: u32,
    svg: String,
    error: Option<String>,
}

impl Scene {
    /// A white `width`×`height` canvas painted by `paint`; a drawing error is kept and
    /// reported when the chart is saved or rasterised.
    pub fn draw(
        width: u32,
        height: u32,
        paint: impl FnOnce(&Area) -> Result<(), DrawError>,
    ) -> Scene {
        super::font::register();
        let mut svg = String::new();
        let error = {
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            let drawn = root.fill(&WHITE).and_then(|_| paint(&root));
            drawn
                .and_then(|_| root.present())
                .err()
                .map(|e| e.to_string())
        };
        Scene {
            width,
            height,
            svg,
            error,
        }
    }

    /// The SVG document.
    pub fn to_svg(&self) -> String {
        self.svg.clone()
    }

    /// The SVG document, or the error that stopped plotters drawing it.
    pub fn checked_svg(&self) -> Result<&str> {
        match &self.error {
            None => Ok(&self.svg),
            Some(e) => Err(anyhow!("cannot draw chart: {e}")),
        }
    }

    /// Write `<stem>.svg` and `<stem>.png` atomically; returns the two paths. A chart that
    /// could not be drawn is an error naming the SVG file, and nothing is written.
    pub fn save(&self, stem: &Path) -> Result<(PathBuf, PathBuf)> {
        let svg = stem.with_extension("svg");
        let png = stem.with_extension("png");
        let named = |e: anyhow::Error| anyhow!("{}: {e}", svg.display());
        let (text, pixels) = (
            self.checked_svg().map_err(named)?,
            self.to_png().map_err(named)?,
        );
        write_atomic(&svg, text.as_bytes())?;
        write_atomic(&png, &pixels)?;
        Ok((svg, png))
    }
}
