//! Grouped bar charts with error bars, e.g. R@1 (mean ± std over seeds) per pre-training
//! caption kind, one bar per fine-tuning setting, with the chance level as a dashed line.

use super::axis::Axis;
use super::frame::{self, FONT, Plot};
use super::scene::{Anchor, INK, PALETTE, Rgb, Scene, Shape};

/// A value measured over several runs (seeds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanStd {
    /// Mean over runs.
    pub mean: f64,
    /// Sample standard deviation over runs (0 for a single run).
    pub std: f64,
}

impl MeanStd {
    /// Mean and sample (n − 1) standard deviation of `runs`; `None` when empty.
    pub fn of(runs: &[f64]) -> Option<MeanStd> {
        if runs.is_empty() {
            return None;
        }
        let n = runs.len() as f64;
        let mean = runs.iter().sum::<f64>() / n;
        let var = if runs.len() > 1 {
            runs.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        Some(MeanStd {
            mean,
            std: var.sqrt(),
        })
    }
}

/// A horizontal reference line (chance level of a retrieval metric).
#[derive(Debug, Clone, PartialEq)]
pub struct Chance {
    /// Height in data units.
    pub value: f64,
    /// Label drawn at the line's right end.
    pub label: String,
}

/// A grouped bar chart description; `scene()` lays it out.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Title above the plot.
    pub title: String,
    /// Label beside the y axis.
    pub y_label: String,
    /// Names of the bars inside each group (legend entries, coloured in order).
    pub bars: Vec<String>,
    /// Group names (x-axis labels) and one value per bar; `None` or NaN = not measured.
    pub groups: Vec<(String, Vec<Option<MeanStd>>)>,
    /// Optional dashed chance line.
    pub chance: Option<Chance>,
    /// The metric's possible range (recall: 0–100 %): the axis and error bars stay inside.
    pub range: Option<(f64, f64)>,
    /// Canvas width in pixels.
    pub width: u32,
    /// Canvas height in pixels.
    pub height: u32,
}

impl BarChart {
    /// An empty 720×420 chart whose groups each hold one bar per name in `bars`.
    pub fn new(title: &str, bars: &[&str]) -> Self {
        BarChart {
            title: title.into(),
            y_label: String::new(),
            bars: bars.iter().map(|b| b.to_string()).collect(),
            groups: Vec::new(),
            chance: None,
            range: None,
            width: 720,
            height: 420,
        }
    }

    /// Set the y-axis label.
    pub fn y_label(mut self, label: &str) -> Self {
        self.y_label = label.into();
        self
    }

    /// Add a group; `values` holds one entry per bar name (missing ones are not drawn).
    pub fn group(mut self, name: &str, values: Vec<Option<MeanStd>>) -> Self {
        self.groups.push((name.into(), values));
        self
    }

    /// Draw a dashed chance line at `value`.
    pub fn chance(mut self, value: f64, label: &str) -> Self {
        self.chance = Some(Chance {
            value,
            label: label.into(),
        });
        self
    }

    /// Keep the axis and error bars within [lo, hi] (a recall cannot be below 0 %).
    pub fn range(mut self, lo: f64, hi: f64) -> Self {
        self.range = (lo.is_finite() && hi.is_finite() && lo < hi).then_some((lo, hi));
        self
    }

    /// `v` clipped to the metric's range.
    fn clip(&self, v: f64) -> f64 {
        self.range.map_or(v, |(lo, hi)| v.clamp(lo, hi))
    }

    /// The value of bar `b` in group `g`, if it can be drawn.
    fn value(&self, g: usize, b: usize) -> Option<MeanStd> {
        let v = self.groups[g].1.get(b).copied().flatten()?;
        // Clamped so mean ± std cannot overflow to infinity.
        v.mean.is_finite().then(|| MeanStd {
            mean: v.mean.clamp(-1e300, 1e300),
            // A non-finite spread is unknown: no error bar (NaN), not a huge one.
            std: if v.std.is_finite() {
                v.std.abs().min(1e300)
            } else {
                f64::NAN
            },
        })
    }

    /// Bars that were not drawn (missing or non-finite), one line each.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        for (g, (group, _)) in self.groups.iter().enumerate() {
            for (b, bar) in self.bars.iter().enumerate() {
                if self.value(g, b).is_none() {
                    notes.push(format!("\"{group}\" / \"{bar}\": no value, bar not drawn"));
                }
            }
        }
        notes
    }

    /// The y axis: always includes 0 (bars grow from it), every error bar and the chance line.
    fn y_axis(&self) -> Axis {
        let (mut lo, mut hi) = (0.0f64, 0.0f64);
        for g in 0..self.groups.len() {
            for b in 0..self.bars.len() {
                if let Some(v) = self.value(g, b) {
                    let std = if v.std.is_finite() { v.std.abs() } else { 0.0 };
                    let (a, b) = (self.clip(v.mean - std), self.clip(v.mean + std));
                    (lo, hi) = (lo.min(a), hi.max(b));
                }
            }
        }
        if let Some(c) = self.chance.as_ref().filter(|c| c.value.is_finite()) {
            (lo, hi) = (lo.min(self.clip(c.value)), hi.max(self.clip(c.value)));
        }
        let axis = Axis::linear(lo, hi, 6);
        match self.range {
            Some((a, b)) => axis.within(a, b),
            None => axis,
        }
    }

    /// Lay the chart out as drawing primitives.
    pub fn scene(&self) -> Scene {
        let notes = self.notes();
        let y = self.y_axis();
        let mut legend = self.bars.clone();
        legend.extend(self.chance.iter().map(|c| c.label.clone()));
        let plot = frame::layout(self.width, self.height, &legend, notes.len());
        let mut s = Scene::new(self.width, self.height);
        frame::draw_frame(&mut s, &plot, &self.title, "", &self.y_label, &y);
        let slot = (plot.right - plot.left) / self.groups.len().max(1) as f64;
        let bar_w = slot * 0.8 / self.bars.len().max(1) as f64;
        for (g, (name, _)) in self.groups.iter().enumerate() {
            let x0 = plot.left + g as f64 * slot + slot * 0.1;
            let centre = plot.left + (g as f64 + 0.5) * slot;
            s.text(centre, plot.bottom + 18.0, name, FONT, Anchor::Middle);
            for b in 0..self.bars.len() {
                if let Some(v) = self.value(g, b) {
                    let x = x0 + b as f64 * bar_w;
                    let label = format!("{name} / {}", self.bars[b]);
                    let v = MeanStd {
                        mean: self.clip(v.mean),
                        ..v
                    };
                    let ends = (self.clip(v.mean - v.std), self.clip(v.mean + v.std));
                    draw_bar(&mut s, &plot, &y, (x, bar_w), v, ends, colour(b), label);
                }
            }
        }
        if let Some(c) = self.chance.as_ref().filter(|c| c.value.is_finite()) {
            let py = y.map(c.value, plot.bottom, plot.top);
            s.shapes.push(Shape::Line {
                points: vec![(plot.left, py), (plot.right, py)],
                color: INK,
                width: 1.5,
                dashed: true,
                class: "chance",
                name: c.label.clone(),
            });
        }
        let entries: Vec<(String, Rgb, bool)> = (self.bars.iter().cloned().enumerate())
            .map(|(i, n)| (n, colour(i), false))
            .collect();
        frame::draw_legend(&mut s, &plot, &entries, true);
        // The chance label goes in the legend, where it cannot cover a short bar.
        if let Some(c) = self.chance.as_ref().filter(|c| c.value.is_finite()) {
            let (x, ly) = (
                plot.right + 12.0,
                plot.top + 10.0 + self.bars.len() as f64 * 20.0,
            );
            s.shapes.push(Shape::Line {
                points: vec![(x, ly), (x + 18.0, ly)],
                color: INK,
                width: 1.5,
                dashed: true,
                class: "legend-swatch",
                name: c.label.clone(),
            });
            s.text(x + 24.0, ly + 4.0, &c.label, FONT, Anchor::Start);
        }
        frame::draw_notes(&mut s, &plot, &notes);
        s
    }
}

fn colour(i: usize) -> Rgb {
    PALETTE[i % PALETTE.len()]
}

/// One bar at `(x, width)`; its error bar runs between `ends` (mean ± std, already clipped
/// to the metric's range).
#[allow(clippy::too_many_arguments)]
fn draw_bar(
    s: &mut Scene,
    p: &Plot,
    y: &Axis,
    (x, w): (f64, f64),
    v: MeanStd,
    ends: (f64, f64),
    c: Rgb,
    name: String,
) {
    let base = y.map(0.0, p.bottom, p.top);
    let top = y.map(v.mean, p.bottom, p.top);
    s.shapes.push(Shape::Rect {
        x: x + 1.0,
        y: top.min(base),
        w: (w - 2.0).max(1.0),
        h: (top - base).abs(),
        fill: Some(c),
        stroke: None,
        class: "bar",
        name: name.clone(),
    });
    if v.std.is_finite() && v.std > 0.0 {
        let cx = x + w / 2.0;
        let (hi, lo) = (
            y.map(ends.1, p.bottom, p.top),
            y.map(ends.0, p.bottom, p.top),
        );
        let cap = (w * 0.2).clamp(2.0, 8.0);
        for (pts, class) in [
            (vec![(cx, lo), (cx, hi)], "errorbar"),
            (vec![(cx - cap, hi), (cx + cap, hi)], "errorbar-cap"),
            (vec![(cx - cap, lo), (cx + cap, lo)], "errorbar-cap"),
        ] {
            s.shapes.push(Shape::Line {
                points: pts,
                color: INK,
                width: 1.5,
                dashed: false,
                class,
                name: name.clone(),
            });
        }
    }
}
