//! Grouped bar charts with error bars, e.g. R@1 (mean ± std over seeds) per pre-training
//! caption kind, one bar per fine-tuning setting, with the chance level as a dashed line.

use plotters::prelude::*;

use super::axis::Axis;
use super::frame::{self, Frame, Swatch};
use super::scene::{Area, DrawError, INK, Scene, colour};

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

/// A grouped bar chart description; `scene()` draws it.
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

    /// Draw the chart (plotters, into SVG).
    pub fn scene(&self) -> Scene {
        Scene::draw(self.width, self.height, |area| self.draw(area))
    }

    /// Draw the chart onto `area`: groups side by side on x (group g spans g..g+1), its bars
    /// filling the middle 80 %.
    pub fn draw<'a, 'b: 'a>(&self, area: &'a Area<'b>) -> Result<(), DrawError> {
        let notes = self.notes();
        let y = self.y_axis();
        let groups = self.groups.len().max(1);
        let name = |v: f64| {
            let g = v.floor().max(0.0) as usize;
            self.groups
                .get(g)
                .map_or_else(String::new, |(n, _)| n.clone())
        };
        let chance = self.chance.as_ref().filter(|c| c.value.is_finite());
        let bars = self.bars.iter().enumerate();
        let mut legend: Vec<_> = (bars.map(|(b, n)| (n.clone(), colour(b), Swatch::Box))).collect();
        // The chance label goes in the legend, where it cannot cover a short bar.
        legend.extend(chance.map(|c| (c.label.clone(), INK, Swatch::Dashed)));
        let frame = Frame {
            title: &self.title,
            x_label: "",
            y_label: &self.y_label,
            x: (
                0.0,
                groups as f64,
                (0..groups).map(|g| g as f64 + 0.5).collect(),
            ),
            x_name: &name,
            y: &y,
            legend,
            notes: &notes,
        };
        let mut chart = frame::chart(area, &frame)?;
        let bar_w = 0.8 / self.bars.len().max(1) as f64;
        let px_per_unit = chart.plotting_area().dim_in_pixel().0 as f64 / groups as f64;
        // One pixel of white between neighbouring bars; caps a fraction of the bar's width.
        let gap = 1.0 / px_per_unit;
        let cap = (bar_w * 0.2).clamp(2.0 / px_per_unit, 8.0 / px_per_unit);
        for b in 0..self.bars.len() {
            let c = colour(b);
            for g in 0..self.groups.len() {
                let Some(v) = self.value(g, b) else { continue };
                let x = g as f64 + 0.1 + b as f64 * bar_w;
                let mean = self.clip(v.mean);
                let rect = Rectangle::new([(x + gap, 0.0), (x + bar_w - gap, mean)], c.filled());
                chart.draw_series(std::iter::once(rect))?;
                if v.std.is_finite() && v.std > 0.0 {
                    // Cut at the metric's range: a recall's error bar stops at 0 %.
                    let (lo, hi) = (self.clip(v.mean - v.std), self.clip(v.mean + v.std));
                    let cx = x + bar_w / 2.0;
                    let style = INK.stroke_width(2);
                    chart.draw_series([
                        PathElement::new(vec![(cx, lo), (cx, hi)], style),
                        PathElement::new(vec![(cx - cap, hi), (cx + cap, hi)], style),
                        PathElement::new(vec![(cx - cap, lo), (cx + cap, lo)], style),
                    ])?;
                }
            }
        }
        if let Some(c) = chance {
            let (dash, gap) = frame::DASH;
            let line = [(0.0, c.value), (groups as f64, c.value)];
            chart.draw_series(DashedLineSeries::new(line, dash, gap, INK.stroke_width(2)))?;
        }
        Ok(())
    }
}
