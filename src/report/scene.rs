//! A chart as a flat list of drawing primitives in pixel coordinates (origin top-left, y down),
//! written as SVG here; `render.rs` draws that same SVG to PNG, so both files show one picture.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use crate::util::fs::write_atomic;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb` for SVG and CSS.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// The colour mixed with white, `keep` (0–1) of it left: faint raw values behind a
    /// smoothed curve.
    pub fn faint(self, keep: f64) -> Rgb {
        let mix = |c: u8| (255.0 - (255.0 - c as f64) * keep.clamp(0.0, 1.0)).round() as u8;
        Rgb(mix(self.0), mix(self.1), mix(self.2))
    }
}

/// Background of every chart.
pub const WHITE: Rgb = Rgb(255, 255, 255);
/// Text and axes.
pub const INK: Rgb = Rgb(34, 34, 34);
/// Grid lines.
pub const GRID: Rgb = Rgb(225, 225, 225);

/// Tableau 10: distinct colours that stay distinguishable for most colour-blind readers.
pub const PALETTE: [Rgb; 10] = [
    Rgb(31, 119, 180),
    Rgb(255, 127, 14),
    Rgb(44, 160, 44),
    Rgb(214, 39, 40),
    Rgb(148, 103, 189),
    Rgb(140, 86, 75),
    Rgb(227, 119, 194),
    Rgb(127, 127, 127),
    Rgb(188, 189, 34),
    Rgb(23, 190, 207),
];

/// Where a text's anchor point sits horizontally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// Text starts at x.
    Start,
    /// Text is centred on x.
    Middle,
    /// Text ends at x.
    End,
}

/// One drawing primitive. `class` tags the SVG element so readers (and tests) can find the
/// parts of a chart: "series", "bar", "errorbar", "chance", "plot-area", ...
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// An open polyline.
    Line {
        /// Vertices in pixels.
        points: Vec<(f64, f64)>,
        /// Stroke colour.
        color: Rgb,
        /// Stroke width in pixels.
        width: f64,
        /// Dashed stroke (chance levels).
        dashed: bool,
        /// SVG class.
        class: &'static str,
        /// Series or bar name, for `data-name`.
        name: String,
    },
    /// A filled rectangle, optionally outlined.
    Rect {
        /// Left edge.
        x: f64,
        /// Top edge.
        y: f64,
        /// Width.
        w: f64,
        /// Height.
        h: f64,
        /// Fill colour; `None` leaves it transparent.
        fill: Option<Rgb>,
        /// Outline colour.
        stroke: Option<Rgb>,
        /// SVG class.
        class: &'static str,
        /// Group/bar name, for `data-name`.
        name: String,
    },
    /// A line of text; its baseline is at `y`.
    Text {
        /// Anchor x.
        x: f64,
        /// Baseline y.
        y: f64,
        /// The text (escaped on output).
        text: String,
        /// Font size in pixels.
        size: f64,
        /// Horizontal anchor.
        anchor: Anchor,
        /// Turned 90° counter-clockwise (y-axis labels).
        vertical: bool,
        /// Text colour.
        color: Rgb,
    },
}

/// A chart ready to render: a canvas size and its primitives in painting order.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// Canvas width in pixels.
    pub width: u32,
    /// Canvas height in pixels.
    pub height: u32,
    /// Primitives, painted in order.
    pub shapes: Vec<Shape>,
}

/// Width of a text in pixels in the embedded chart font (an estimate if it cannot be shaped).
pub fn text_width(text: &str, size: f64) -> f64 {
    super::font::measure(text, size).unwrap_or(text.chars().count() as f64 * size * 0.62)
}

pub use super::font::escape_xml;

impl Scene {
    /// An empty white canvas.
    pub fn new(width: u32, height: u32) -> Self {
        Scene {
            width,
            height,
            shapes: Vec::new(),
        }
    }

    /// Add a text primitive.
    pub fn text(&mut self, x: f64, y: f64, text: &str, size: f64, anchor: Anchor) {
        self.shapes.push(Shape::Text {
            x,
            y,
            text: text.to_string(),
            size,
            anchor,
            vertical: false,
            color: INK,
        });
    }

    /// Add a plain line segment.
    pub fn segment(&mut self, a: (f64, f64), b: (f64, f64), color: Rgb, class: &'static str) {
        self.shapes.push(Shape::Line {
            points: vec![a, b],
            color,
            width: 1.0,
            dashed: false,
            class,
            name: String::new(),
        });
    }

    /// Paint `other` onto this canvas with its origin at (`dx`, `dy`): panels of a figure.
    pub fn place(&mut self, other: &Scene, dx: f64, dy: f64) {
        for shape in &other.shapes {
            let mut shape = shape.clone();
            match &mut shape {
                Shape::Line { points, .. } => {
                    for p in points.iter_mut() {
                        *p = (p.0 + dx, p.1 + dy);
                    }
                }
                Shape::Rect { x, y, .. } | Shape::Text { x, y, .. } => {
                    *x += dx;
                    *y += dy;
                }
            }
            self.shapes.push(shape);
        }
    }

    /// Render as a standalone SVG document.
    pub fn to_svg(&self) -> String {
        let mut s = String::new();
        let (w, h) = (self.width, self.height);
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{}, Verdana, sans-serif">"#,
            super::font::FONT_FAMILY
        );
        let _ = writeln!(
            s,
            r#"<rect width="{w}" height="{h}" fill="{}"/>"#,
            WHITE.hex()
        );
        for shape in &self.shapes {
            svg_shape(&mut s, shape);
        }
        s.push_str("</svg>\n");
        s
    }

    /// Write `<stem>.svg` and `<stem>.png` atomically; returns the two paths.
    pub fn save(&self, stem: &Path) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
        let svg = stem.with_extension("svg");
        let png = stem.with_extension("png");
        write_atomic(&svg, self.to_svg().as_bytes())?;
        write_atomic(&png, &self.to_png()?)?;
        Ok((svg, png))
    }
}

fn svg_shape(s: &mut String, shape: &Shape) {
    match shape {
        Shape::Line {
            points,
            color,
            width,
            dashed,
            class,
            name,
        } => {
            let pts: Vec<String> = points
                .iter()
                .map(|(x, y)| format!("{x:.2},{y:.2}"))
                .collect();
            let dash = if *dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let _ = writeln!(
                s,
                r#"<polyline class="{class}" data-name="{}" points="{}" fill="none" stroke="{}" stroke-width="{width}"{dash} stroke-linejoin="round"/>"#,
                escape_xml(name),
                pts.join(" "),
                color.hex()
            );
        }
        Shape::Rect {
            x,
            y,
            w,
            h,
            fill,
            stroke,
            class,
            name,
        } => {
            let fill = fill.map_or("none".to_string(), Rgb::hex);
            let stroke = stroke.map_or(String::new(), |c| format!(r#" stroke="{}""#, c.hex()));
            let _ = writeln!(
                s,
                r#"<rect class="{class}" data-name="{}" x="{x:.2}" y="{y:.2}" width="{w:.2}" height="{h:.2}" fill="{fill}"{stroke}/>"#,
                escape_xml(name)
            );
        }
        Shape::Text {
            x,
            y,
            text,
            size,
            anchor,
            vertical,
            color,
        } => {
            let anchor = match anchor {
                Anchor::Start => "start",
                Anchor::Middle => "middle",
                Anchor::End => "end",
            };
            let turn = if *vertical {
                format!(r#" transform="rotate(-90 {x:.2} {y:.2})""#)
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                r#"<text x="{x:.2}" y="{y:.2}" font-size="{size}" text-anchor="{anchor}" fill="{}"{turn}>{}</text>"#,
                color.hex(),
                escape_xml(text)
            );
        }
    }
}
