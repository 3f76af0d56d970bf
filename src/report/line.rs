//! Line charts: named series of (x, y) points, e.g. each loss (VTC, VTM, MLM, total) vs step.

use super::axis::Axis;
use super::frame::{self, Plot};
use super::scene::{Anchor, PALETTE, Rgb, Scene, Shape};

/// One named curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// (x, y) points in drawing order; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
    /// A reference level (chance), drawn dashed and never smoothed.
    pub reference: bool,
}

/// A vertical dashed line at an x value with a short label (where a schedule changes).
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Position in data units.
    pub x: f64,
    /// Label drawn beside the line's top.
    pub label: String,
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
    /// Draw each curve as a centred moving average, the raw values faint behind it.
    pub smooth: bool,
    /// Vertical markers.
    pub markers: Vec<Marker>,
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
            smooth: false,
            markers: Vec::new(),
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

    /// Smooth the curves (raw values stay visible, faint).
    pub fn smooth(mut self, smooth: bool) -> Self {
        self.smooth = smooth;
        self
    }

    /// Set the canvas size in pixels.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        (self.width, self.height) = (width, height);
        self
    }

    /// Add a series.
    pub fn series(mut self, name: &str, points: Vec<(f64, f64)>) -> Self {
        self.series.push(Series {
            name: name.into(),
            points,
            reference: false,
        });
        self
    }

    /// Add a dashed horizontal reference level (a chance level) across the data's x range.
    pub fn reference(mut self, name: &str, y: f64) -> Self {
        let xs = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0));
        let xs: Vec<f64> = xs.filter(|x| x.is_finite()).collect();
        let (x0, x1) = (
            xs.iter().copied().fold(f64::INFINITY, f64::min),
            xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        let points = if x0 <= x1 {
            vec![(x0, y), (x1, y)]
        } else {
            vec![(0.0, y), (1.0, y)]
        };
        self.series.push(Series {
            name: name.into(),
            points,
            reference: true,
        });
        self
    }

    /// Add a vertical marker at `x` with `label`.
    pub fn marker(mut self, x: f64, label: &str) -> Self {
        self.markers.push(Marker {
            x,
            label: label.into(),
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
        let markers = self.markers.iter().filter(|m| m.x >= x.lo && m.x <= x.hi);
        for (i, m) in markers.enumerate() {
            draw_marker(&mut s, &plot, &x, m, i);
        }
        for (i, (series, pts)) in self.series.iter().zip(&points).enumerate() {
            let style = if series.reference {
                Style::Reference
            } else if self.smooth && pts.len() >= MIN_SMOOTHED {
                draw_series(
                    &mut s,
                    &plot,
                    (&x, &y),
                    &series.name,
                    pts,
                    colour(i),
                    Style::Raw,
                );
                Style::Smoothed
            } else {
                Style::Plain
            };
            draw_series(&mut s, &plot, (&x, &y), &series.name, pts, colour(i), style);
        }
        let entries: Vec<(String, Rgb, bool)> = (legend.into_iter().zip(&self.series))
            .enumerate()
            .map(|(i, (n, series))| (n, colour(i), series.reference))
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

/// Fewer points than this are drawn as they are: smoothing them would hide the data.
const MIN_SMOOTHED: usize = 12;

/// How a series is stroked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// The values as logged.
    Plain,
    /// The values as logged, faint, behind their smoothed curve.
    Raw,
    /// A centred moving average.
    Smoothed,
    /// A dashed reference level.
    Reference,
}

/// Centred moving average over about 1/20 of the points (odd window, shrinking at the
/// ends), in data units: light enough to keep bumps, strong enough to read a trend.
pub fn moving_average(pts: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let half = (pts.len() / 40).max(1);
    (0..pts.len())
        .map(|i| {
            let (a, b) = (i.saturating_sub(half), (i + half + 1).min(pts.len()));
            let mean = pts[a..b].iter().map(|p| p.1).sum::<f64>() / (b - a) as f64;
            (pts[i].0, mean)
        })
        .collect()
}

/// Marker `m`, its label on line `row` from the plot's top so neighbours never overlap.
fn draw_marker(s: &mut Scene, p: &Plot, x: &Axis, m: &Marker, row: usize) {
    let px = x.map(m.x, p.left, p.right);
    s.shapes.push(Shape::Line {
        points: vec![(px, p.top), (px, p.bottom)],
        color: MARKER,
        width: 1.0,
        dashed: true,
        class: "marker-line",
        name: m.label.clone(),
    });
    // Inside the plot at its top, on the side with more room.
    let (tx, anchor) = if px > (p.left + p.right) / 2.0 {
        (px - 4.0, Anchor::End)
    } else {
        (px + 4.0, Anchor::Start)
    };
    s.shapes.push(Shape::Text {
        x: tx,
        y: p.top + 14.0 + 13.0 * row as f64,
        text: m.label.clone(),
        size: frame::FONT - 1.0,
        anchor,
        vertical: false,
        color: MARKER,
    });
}

/// Marker lines and labels: grey, so they never read as data.
const MARKER: Rgb = Rgb(110, 110, 110);

fn draw_series(
    s: &mut Scene,
    p: &Plot,
    (x, y): (&Axis, &Axis),
    name: &str,
    pts: &[(f64, f64)],
    color: Rgb,
    style: Style,
) {
    let smoothed;
    let pts = if style == Style::Smoothed {
        smoothed = moving_average(pts);
        &smoothed[..]
    } else {
        pts
    };
    let (color, width, class) = match style {
        Style::Plain | Style::Smoothed => (color, 2.0, "series"),
        Style::Raw => (color.faint(0.3), 1.0, "raw"),
        Style::Reference => (color, 1.5, "reference"),
    };
    let px: Vec<(f64, f64)> = pts
        .iter()
        .map(|&(a, b)| (x.map(a, p.left, p.right), y.map(b, p.bottom, p.top)))
        .collect();
    let px = envelope(px);
    // A lone point has no segment to stroke; mark it so it stays visible.
    if let ([(cx, cy)], false) = (px.as_slice(), style == Style::Raw) {
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
            width,
            dashed: style == Style::Reference,
            class,
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
