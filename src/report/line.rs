//! Line charts: named series of (x, y) points, e.g. each loss (VTC, VTM, MLM, total) vs step.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::Axis;
use super::frame::{self, Frame, Swatch};
use super::scene::{Area, DrawError, Scene, colour, faint};

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

/// A line chart description; `scene()` draws it.
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

    /// Draw the chart (plotters, into SVG).
    pub fn scene(&self) -> Scene {
        Scene::draw(self.width, self.height, |area| self.draw(area))
    }

    /// Draw the chart onto `area` (a whole canvas or one panel of a figure).
    pub fn draw<'a, 'b: 'a>(&self, area: &'a Area<'b>) -> Result<(), DrawError> {
        let Cleaned { points, notes } = self.clean();
        let (x, y) = self.axes(&points);
        let name = |v: f64| x.label(v);
        let frame = Frame {
            title: &self.title,
            x_label: &self.x_label,
            y_label: &self.y_label,
            x: (x.lo, x.hi, x.ticks.clone()),
            x_name: &name,
            y: &y,
            legend: (self.series.iter().enumerate())
                .map(|(i, s)| {
                    let swatch = if s.reference {
                        Swatch::Dashed
                    } else {
                        Swatch::Line
                    };
                    (s.name.clone(), colour(i), swatch)
                })
                .collect(),
            notes: &notes,
        };
        let mut chart = frame::chart(area, &frame)?;
        let (ylo, yhi) = (y.coord(y.lo), y.coord(y.hi));
        let (dash, gap) = frame::DASH;
        let markers = self.markers.iter().filter(|m| m.x >= x.lo && m.x <= x.hi);
        for (row, m) in markers.enumerate() {
            let line = vec![(m.x, ylo), (m.x, yhi)];
            chart.draw_series(DashedLineSeries::new(line, dash, gap, MARKER.into()))?;
            // Inside the plot at its top, on the side with more room, one row per marker.
            let (dx, h) = if m.x > (x.lo + x.hi) / 2.0 {
                (-4, HPos::Right)
            } else {
                (4, HPos::Left)
            };
            let style = frame::font(frame::FONT - 1.0).color(&MARKER);
            let at = (dx, 4 + 13 * row as i32);
            let text = Text::new(m.label.clone(), at, style.pos(Pos::new(h, VPos::Top)));
            chart.draw_series(std::iter::once(EmptyElement::at((m.x, yhi)) + text))?;
        }
        let width = chart.plotting_area().dim_in_pixel().0 as f64;
        let column = |v: f64| ((v - x.lo) / (x.hi - x.lo) * width).floor();
        for (i, (series, pts)) in self.series.iter().zip(&points).enumerate() {
            let pts: Vec<(f64, f64)> = pts.iter().map(|&(a, b)| (a, y.coord(b))).collect();
            let c = colour(i);
            if series.reference {
                chart.draw_series(DashedLineSeries::new(pts, dash, gap, c.stroke_width(2)))?;
                continue;
            }
            let smooth = self.smooth && pts.len() >= MIN_SMOOTHED;
            if smooth {
                let raw = envelope(&pts, column);
                chart.draw_series(LineSeries::new(raw, faint(c, 0.3).stroke_width(1)))?;
            }
            let main = if smooth { moving_average(&pts) } else { pts };
            // A lone point has no segment to stroke; mark it so it stays visible.
            if let [p] = main.as_slice() {
                chart.draw_series(std::iter::once(Circle::new(*p, 4, c.filled())))?;
            }
            let line = envelope(&main, column);
            chart.draw_series(LineSeries::new(line, c.stroke_width(2)))?;
        }
        Ok(())
    }
}

/// Fewer points than this are drawn as they are: smoothing them would hide the data.
const MIN_SMOOTHED: usize = 12;

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

/// Marker lines and labels: grey, so they never read as data.
pub const MARKER: RGBColor = RGBColor(110, 110, 110);

/// Thin a long curve (a loss logged at every one of 100k steps) to at most the lowest and
/// highest point per pixel column (`column` of x) plus both ends, in drawing order, so spikes
/// survive and files stay small.
fn envelope(pts: &[(f64, f64)], column: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
    if pts.len() <= 2048 {
        return pts.to_vec();
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < pts.len() {
        let col = column(pts[i].0);
        let mut j = i;
        let (mut lo, mut hi) = (i, i);
        while j < pts.len() && column(pts[j].0) == col {
            if pts[j].1 < pts[lo].1 {
                lo = j;
            }
            if pts[j].1 > pts[hi].1 {
                hi = j;
            }
            j += 1;
        }
        out.push(pts[lo.min(hi)]);
        if lo != hi {
            out.push(pts[lo.max(hi)]);
        }
        i = j;
    }
    // The curve still starts and ends where the data does.
    let (first, last) = (pts[0], pts[pts.len() - 1]);
    if out.first() != Some(&first) {
        out.insert(0, first);
    }
    if out.last() != Some(&last) {
        out.push(last);
    }
    out
}
