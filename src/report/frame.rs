//! The parts every chart shares: margins, title, y-axis grid and labels, legend and notes.

use super::axis::Axis;
use super::scene::{Anchor, GRID, INK, Rgb, Scene, Shape, text_width};

/// Minor grid lines (log axes), fainter than the labelled ones.
const MINOR_GRID: Rgb = Rgb(242, 242, 242);

/// Tick and legend font size in pixels.
pub const FONT: f64 = 12.0;
/// Title font size in pixels.
pub const TITLE_FONT: f64 = 16.0;
const NOTE_LINE: f64 = 16.0;

/// The plot area's pixel edges (data lives strictly inside).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plot {
    /// Left edge (x of the domain's low end).
    pub left: f64,
    /// Top edge (y of the domain's high end).
    pub top: f64,
    /// Right edge.
    pub right: f64,
    /// Bottom edge.
    pub bottom: f64,
}

/// Margins for the axis labels, a legend on the right (never over the data) and one line
/// per note under the x axis.
pub fn layout(width: u32, height: u32, legend: &[String], notes: usize) -> Plot {
    let legend_w = legend
        .iter()
        .map(|n| text_width(n, FONT))
        .fold(0.0, f64::max);
    let right_margin = if legend.is_empty() {
        20.0
    } else {
        legend_w + 60.0
    };
    let bottom_margin = 50.0 + notes as f64 * NOTE_LINE;
    Plot {
        left: 72.0,
        top: 40.0,
        right: (width as f64 - right_margin).max(120.0),
        bottom: (height as f64 - bottom_margin).max(80.0),
    }
}

/// Title, axis labels, plot-area outline, horizontal grid and y tick labels.
pub fn draw_frame(s: &mut Scene, p: &Plot, title: &str, x_label: &str, y_label: &str, y: &Axis) {
    s.shapes.push(Shape::Text {
        x: (p.left + p.right) / 2.0,
        y: 24.0,
        text: title.to_string(),
        size: TITLE_FONT,
        anchor: Anchor::Middle,
        vertical: false,
        color: INK,
    });
    for t in y.minor_ticks() {
        let py = y.map(t, p.bottom, p.top);
        s.segment((p.left, py), (p.right, py), MINOR_GRID, "grid-minor");
    }
    for &t in &y.ticks {
        let py = y.map(t, p.bottom, p.top);
        s.segment((p.left, py), (p.right, py), GRID, "grid");
        s.segment((p.left - 4.0, py), (p.left, py), INK, "tick");
        s.text(p.left - 7.0, py + 4.0, &y.label(t), FONT, Anchor::End);
    }
    s.shapes.push(Shape::Rect {
        x: p.left,
        y: p.top,
        w: p.right - p.left,
        h: p.bottom - p.top,
        fill: None,
        stroke: Some(INK),
        class: "plot-area",
        name: String::new(),
    });
    s.text(
        (p.left + p.right) / 2.0,
        p.bottom + 38.0,
        x_label,
        FONT,
        Anchor::Middle,
    );
    s.shapes.push(Shape::Text {
        x: 16.0,
        y: (p.top + p.bottom) / 2.0,
        text: y_label.to_string(),
        size: FONT,
        anchor: Anchor::Middle,
        vertical: true,
        color: INK,
    });
}

/// Tick marks and labels along the bottom edge for a numeric x axis.
pub fn draw_x_ticks(s: &mut Scene, p: &Plot, x: &Axis) {
    for &t in &x.ticks {
        let px = x.map(t, p.left, p.right);
        s.segment((px, p.bottom), (px, p.bottom + 4.0), INK, "tick");
        s.text(px, p.bottom + 18.0, &x.label(t), FONT, Anchor::Middle);
    }
}

/// A legend to the right of the plot: a swatch (box, line or dashed line for a reference
/// level) and the name per entry `(name, colour, dashed)`.
pub fn draw_legend(s: &mut Scene, p: &Plot, entries: &[(String, Rgb, bool)], boxes: bool) {
    for (i, (name, color, dashed)) in entries.iter().enumerate() {
        let y = p.top + 10.0 + i as f64 * 20.0;
        let x = p.right + 12.0;
        if boxes {
            s.shapes.push(Shape::Rect {
                x,
                y: y - 6.0,
                w: 18.0,
                h: 12.0,
                fill: Some(*color),
                stroke: None,
                class: "legend-swatch",
                name: name.clone(),
            });
        } else {
            s.shapes.push(Shape::Line {
                points: vec![(x, y), (x + 18.0, y)],
                color: *color,
                width: if *dashed { 1.5 } else { 3.0 },
                dashed: *dashed,
                class: "legend-swatch",
                name: name.clone(),
            });
        }
        s.text(x + 24.0, y + 4.0, name, FONT, Anchor::Start);
    }
}

/// One line per note (skipped data, ...) under the x-axis label.
pub fn draw_notes(s: &mut Scene, p: &Plot, notes: &[String]) {
    for (i, note) in notes.iter().enumerate() {
        let y = p.bottom + 56.0 + i as f64 * NOTE_LINE;
        s.text(
            p.left,
            y,
            &format!("note: {note}"),
            FONT - 1.0,
            Anchor::Start,
        );
    }
}
