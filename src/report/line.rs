//! Line charts: named series of (x, y) points, e.g. each loss (VTC, VTM, MLM, total) vs step.

use super::axis::Axis;
use super::frame::{self, Plot};
use super::scene::{PALETTE, Rgb, Scene, Shape};

/// One named curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// (x, y) points in drawing order; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
}

/// A line chart description; `scene()` lays it out.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// Title above the plot.
    pub title: String,
    /// Label under the x axis.
    pub x_label: String,
    /// Label beside the y axis.
    pub y_label: String,
    /// The curves, coloured in order from the palette.
    pub series: Vec<Series>,
    /// Log10 y axis (losses spanning decades); non-positive y values are skipped.
    pub log_y: bool,
    /// Canvas width in pixels.
    pub width: u32,
    /// Canvas height in pixels.
    pub height: u32,
}

/// The points that will be drawn for each series, and what was left out and why.
struct Cleaned {
    points: Vec<Vec<(f64, f64)>>,
    notes: Vec<String>,
}

impl LineChart {
    /// An empty 720×420 chart.
    pub fn new(title: &str) -> Self {
        LineChart {
            title: title.into(),
            x_label: String::new(),
            y_label: String::new(),
            series: Vec::new(),
            log_y: false,
            width: 720,
            height: 420,
        }
    }

    /// Set the axis labels.
    pub fn labels(mut self, x: &str, y: &str) -> Self {
        self.x_label = x.into();
        self.y_label = y.into();
        self
    }

    /// Use a log10 y axis.
    pub fn log_y(mut self, log: bool) -> Self {
        self.log_y = log;
        self
    }

    /// Add a series.
    pub fn series(mut self, name: &str, points: Vec<(f64, f64)>) -> Self {
        self.series.push(Series {
            name: name.into(),
            points,
        });
        self
    }

    /// What was skipped (NaN/infinite points, non-positive values on a log axis, empty
    /// series), one line per series; also printed under the chart.
    pub fn notes(&self) -> Vec<String> {
        self.clean().notes
    }

    fn clean(&self) -> Cleaned {
        let mut points = Vec::new();
        let mut notes = Vec::new();
        for s in &self.series {
            let (mut non_finite, mut non_positive) = (0, 0);
            let kept: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|&(x, y)| {
                    let finite = x.is_finite() && y.is_finite();
                    non_finite += usize::from(!finite);
                    let positive = !self.log_y || y > 0.0;
                    non_positive += usize::from(finite && !positive);
                    finite && positive
                })
                .collect();
            if s.points.is_empty() {
                notes.push(format!("series \"{}\" has no points", s.name));
            } else if kept.is_empty() {
                notes.push(format!("series \"{}\" has no drawable points", s.name));
            } else if non_finite > 0 {
                notes.push(format!(
                    "series \"{}\": {non_finite} non-finite point(s) skipped",
                    s.name
                ));
            }
            if non_positive > 0 && !kept.is_empty() {
                notes.push(format!(
                    "series \"{}\": {non_positive} point(s) <= 0 skipped on the log axis",
                    s.name
                ));
            }
            points.push(kept);
        }
        Cleaned { points, notes }
    }

    /// The axes spanning every drawable point (a unit range when there is none).
    fn axes(&self, points: &[Vec<(f64, f64)>]) -> (Axis, Axis) {
        let all = points.iter().flatten();
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in all {
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        if x0 > x1 {
            (x0, x1, y0, y1) = (0.0, 1.0, 1.0, 10.0);
        }
        let y = if self.log_y {
            Axis::log10(y0, y1)
        } else {
            Axis::linear(y0, y1, 6)
        };
        (Axis::linear(x0, x1, 8), y)
    }

    /// Lay the chart out as drawing primitives.
    pub fn scene(&self) -> Scene {
        let Cleaned { points, notes } = self.clean();
        let (x, y) = self.axes(&points);
        let legend: Vec<String> = self.series.iter().map(|s| s.name.clone()).collect();
        let plot = frame::layout(self.width, self.height, &legend, notes.len());
        let mut s = Scene::new(self.width, self.height);
        frame::draw_frame(&mut s, &plot, &self.title, &self.x_label, &self.y_label, &y);
        frame::draw_x_ticks(&mut s, &plot, &x);
        for (i, (series, pts)) in self.series.iter().zip(&points).enumerate() {
            draw_series(&mut s, &plot, &x, &y, &series.name, pts, colour(i));
        }
        let entries: Vec<(String, Rgb)> = legend
            .into_iter()
            .enumerate()
            .map(|(i, n)| (n, colour(i)))
            .collect();
        frame::draw_legend(&mut s, &plot, &entries, false);
        frame::draw_notes(&mut s, &plot, &notes);
        s
    }
}

/// Colour of the i-th series.
fn colour(i: usize) -> Rgb {
    PALETTE[i % PALETTE.len()]
}

fn draw_series(
    s: &mut Scene,
    p: &Plot,
    x: &Axis,
    y: &Axis,
    name: &str,
    pts: &[(f64, f64)],
    color: Rgb,
) {
    let px: Vec<(f64, f64)> = pts
        .iter()
        .map(|&(a, b)| (x.map(a, p.left, p.right), y.map(b, p.bottom, p.top)))
        .collect();
    let px = envelope(px);
    // A lone point has no segment to stroke; mark it so it stays visible.
    if let [(cx, cy)] = px.as_slice() {
        s.shapes.push(Shape::Rect {
            x: cx - 3.0,
            y: cy - 3.0,
            w: 6.0,
            h: 6.0,
            fill: Some(color),
            stroke: None,
            class: "marker",
            name: name.into(),
        });
    }
    if !px.is_empty() {
        s.shapes.push(Shape::Line {
            points: px,
            color,
            width: 2.0,
            dashed: false,
            class: "series",
            name: name.into(),
        });
    }
}

/// Thin a long curve (a loss logged at every one of 100k steps) to at most the lowest and
/// highest point per pixel column (plus both ends), in drawing order, so spikes survive and
/// files stay small.
fn envelope(px: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    if px.len() <= 2048 {
        return px;
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < px.len() {
        let column = px[i].0.floor();
        let mut j = i;
        let (mut lo, mut hi) = (i, i);
        while j < px.len() && px[j].0.floor() == column {
            if px[j].1 < px[lo].1 {
                lo = j;
            }
            if px[j].1 > px[hi].1 {
                hi = j;
            }
            j += 1;
        }
        out.push(px[lo.min(hi)]);
        if lo != hi {
            out.push(px[lo.max(hi)]);
        }
        i = j;
    }
    // The curve still starts and ends where the data does.
    let (first, last) = (px[0], px[px.len() - 1]);
    if out.first() != Some(&first) {
        out.insert(0, first);
    }
    if out.last() != Some(&last) {
        out.push(last);
    }
    out
}
