//! A figure of several line charts side by side under one title: one panel per trained
//! objective, the learning rate and the gradient norm of a run.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::frame::{TITLE_FONT, font};
use super::line::LineChart;
use super::scene::Scene;

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
const HEADER: u32 = 36;

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
            self.panel.1 * rows as u32 + HEADER,
        )
    }

    /// Draw the figure: the title, then each panel in its cell of the grid.
    pub fn scene(&self) -> Scene {
        let (w, h) = self.size();
        let cols = self.columns.clamp(1, self.charts.len().max(1));
        Scene::draw(w, h, |area| {
            let title = font(TITLE_FONT + 3.0).pos(Pos::new(HPos::Center, VPos::Center));
            area.draw(&Text::new(self.title.clone(), (w as i32 / 2, 20), title))?;
            let (_, grid) = area.split_vertically(HEADER);
            let rows = self.charts.len().div_ceil(cols).max(1);
            let cells = grid.split_evenly((rows, cols));
            for (chart, cell) in self.charts.iter().zip(&cells) {
                chart.draw(cell)?;
            }
            Ok(())
        })
    }
}
