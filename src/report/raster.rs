//! Rasterise a `Scene` to PNG with plain primitives (thick polylines, rectangles, the 3×5
//! bitmap font), for viewers that cannot show SVG.

use std::io::Cursor;

use anyhow::{Context, Result};
use image::{ImageFormat, Rgb as Px, RgbImage};

use super::font::{GLYPH_H, GLYPH_W, glyph, ink};
use super::scene::{Anchor, Rgb, Scene, Shape, WHITE};

impl Scene {
    /// Paint the scene onto a white RGB image of the scene's size.
    pub fn rasterize(&self) -> RgbImage {
        let mut img = RgbImage::from_pixel(self.width, self.height, px(WHITE));
        for shape in &self.shapes {
            match shape {
                Shape::Line {
                    points,
                    color,
                    width,
                    dashed,
                    ..
                } => polyline(&mut img, points, *color, *width, *dashed),
                Shape::Rect {
                    x,
                    y,
                    w,
                    h,
                    fill,
                    stroke,
                    ..
                } => rect(&mut img, (*x, *y, *w, *h), *fill, *stroke),
                Shape::Text {
                    x,
                    y,
                    text,
                    size,
                    anchor,
                    vertical,
                    color,
                } => self::text(&mut img, (*x, *y), text, *size, *anchor, *vertical, *color),
            }
        }
        img
    }

    /// The scene encoded as PNG bytes.
    pub fn to_png(&self) -> Result<Vec<u8>> {
        let mut bytes = Cursor::new(Vec::new());
        self.rasterize()
            .write_to(&mut bytes, ImageFormat::Png)
            .context("cannot encode chart as PNG")?;
        Ok(bytes.into_inner())
    }
}

fn px(c: Rgb) -> Px<u8> {
    Px([c.0, c.1, c.2])
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: Rgb) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, px(c));
    }
}

/// Fill the pixels whose centres fall in [x0, x1) × [y0, y1), at least one pixel wide.
fn fill(img: &mut RgbImage, x0: f64, y0: f64, x1: f64, y1: f64, c: Rgb) {
    let (xa, ya) = (x0.round() as i64, y0.round() as i64);
    let (xb, yb) = (
        (x1.round() as i64).max(xa + 1),
        (y1.round() as i64).max(ya + 1),
    );
    for y in ya..yb {
        for x in xa..xb {
            put(img, x, y, c);
        }
    }
}

fn rect(img: &mut RgbImage, (x, y, w, h): (f64, f64, f64, f64), f: Option<Rgb>, s: Option<Rgb>) {
    if let Some(c) = f {
        fill(img, x, y, x + w, y + h, c);
    }
    if let Some(c) = s {
        let corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)];
        polyline(img, &corners, c, 1.0, false);
    }
}

/// Stamp a square of side `width` every half pixel along each segment; dashes follow the
/// SVG pattern (6 on, 4 off) along the whole path.
fn polyline(img: &mut RgbImage, points: &[(f64, f64)], c: Rgb, width: f64, dashed: bool) {
    let half = width.max(1.0) / 2.0;
    let mut walked = 0.0;
    for seg in points.windows(2) {
        let ((ax, ay), (bx, by)) = (seg[0], seg[1]);
        let len = ((bx - ax).powi(2) + (by - ay).powi(2)).sqrt();
        let steps = (len * 2.0).ceil().max(1.0) as usize;
        for i in 0..=steps {
            let t = i as f64 / steps as f64;
            if dashed && (walked + t * len) % 10.0 >= 6.0 {
                continue;
            }
            let (x, y) = (ax + t * (bx - ax), ay + t * (by - ay));
            fill(img, x - half, y - half, x + half, y + half, c);
        }
        walked += len;
    }
}

fn text(
    img: &mut RgbImage,
    (x, y): (f64, f64),
    text: &str,
    size: f64,
    anchor: Anchor,
    vertical: bool,
    c: Rgb,
) {
    let scale = (size / 6.0).round().max(1.0) as i64;
    let advance = (GLYPH_W as i64 + 1) * scale;
    let width = text.chars().count() as i64 * advance - scale;
    let start = match anchor {
        Anchor::Start => 0,
        Anchor::Middle => -width / 2,
        Anchor::End => -width,
    };
    let (ox, oy) = (x.round() as i64, y.round() as i64);
    for (i, ch) in text.chars().enumerate() {
        let g = glyph(ch);
        for gy in 0..GLYPH_H {
            for gx in 0..GLYPH_W {
                if !ink(&g, gx, gy) {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        // (u along the text, v down from the baseline-aligned top).
                        let u = start + i as i64 * advance + gx as i64 * scale + dx;
                        let v = (gy as i64 - GLYPH_H as i64) * scale + dy;
                        if vertical {
                            put(img, ox + v, oy - u, c);
                        } else {
                            put(img, ox + u, oy + v, c);
                        }
                    }
                }
            }
        }
    }
}
