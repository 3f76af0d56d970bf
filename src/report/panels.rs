//! A figure of several line charts side by side under one title: one panel per trained
//! objective, the learning rate and the gradient norm of a run.

use super::frame::TITLE_FONT;
use super::line::LineChart;
use super::scene::{Anchor, INK, Scene, Shape};

/// Line charts laid out in a grid, row by row, under a common title.
#[derive(Debug, Clone, PartialEq)]
pub struct Panels {
    /// Title above every panel.
    pub title: String,
    /// Panels per row.
    pub columns: usize,
    /// Size of one panel in pixels.
    pub panel: (u32, u32),
    /// The panels in reading order.
    pub charts: Vec<LineChart>,
}

/// Room for the common title above the first row.
const HEADER: f64 = 36.0;

impl Panels {
    /// An empty figure with two 540×320 panels per row.
    pub fn new(title: &str) -> Self {
        Panels {
            title: title.into(),
            columns: 2,
            panel: (540, 320),
            charts: Vec::new(),
        }
    }

    /// Append a panel (its size is set by the figure).
    pub fn chart(mut self, chart: LineChart) -> Self {
        self.charts.push(chart);
        self
    }

    /// Canvas size of the whole figure.
    pub fn size(&self) -> (u32, u32) {
        let cols = self.columns.clamp(1, self.charts.len().max(1));
        let rows = self.charts.len().div_ceil(cols).max(1);
        (
            self.panel.0 * cols as u32,
            self.panel.1 * rows as u32 + HEADER as u32,
        )
    }

    /// Lay the figure out as one scene.
    pub fn scene(&self) -> Scene {
        let (w, h) = self.size();
        let cols = self.columns.clamp(1, self.charts.len().max(1));
        let mut s = Scene::new(w, h);
        s.shapes.push(Shape::Text {
            x: w as f64 / 2.0,
            y: 26.0,
            text: self.title.clone(),
            size: TITLE_FONT + 2.0,
            anchor: Anchor::Middle,
            vertical: false,
            color: INK,
        });
        for (i, chart) in self.charts.iter().enumerate() {
            let panel = chart.clone().size(self.panel.0, self.panel.1).scene();
            let (col, row) = (i % cols, i / cols);
            s.place(
                &panel,
                col as f64 * self.panel.0 as f64,
                HEADER + row as f64 * self.panel.1 as f64,
            );
        }
        s
    }
}
