//! The parts every chart shares, drawn by plotters: title, axes with labelled ticks and grid,
//! the plot-area outline, a legend beside the plot (never over the data) and notes under it.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::Axis;
use super::font::FONT_FAMILY;
use super::scene::{Area, DrawError, GRID, INK, MINOR_GRID};

/// Tick, legend and axis-label font size (plotters' size: about 12 px in the SVG).
pub const FONT: f64 = 15.0;
/// Title font size (about 16 px in the SVG).
pub const TITLE_FONT: f64 = 20.0;
const NOTE_LINE: i32 = 16;
/// Dash and gap of dashed lines (chance levels, markers), in pixels.
pub const DASH: (i32, i32) = (6, 4);

/// The embedded font at `size`, in ink.
pub fn font(size: f64) -> TextStyle<'static> {
    (FONT_FAMILY, size).into_font().color(&INK)
}

/// A numeric axis as plotters sees it: plotters' linear scale, with the labelled ticks (and
/// minor grid lines) where [`Axis`] put them; the chart names each tick itself.
pub struct Coord {
    scale: RangedCoordf64,
    ticks: Vec<f64>,
    minor: Vec<f64>,
}

impl Ranged for Coord {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.scale.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        let minor = hint.weight().allow_light_points();
        if minor { &self.minor } else { &self.ticks }.clone()
    }

    fn range(&self) -> Range<f64> {
        self.scale.range()
    }
}

/// A chart context over two numeric axes.
pub type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Coord, Coord>>;

/// What a chart's frame shows: texts, the x axis (domain, ticks, and how a tick is named),
/// the y axis, the legend and the notes.
pub struct Frame<'t> {
    /// Title above the plot.
    pub title: &'t str,
    /// Label under the x axis.
    pub x_label: &'t str,
    /// Label beside the y axis.
    pub y_label: &'t str,
    /// X domain and labelled tick positions.
    pub x: (f64, f64, Vec<f64>),
    /// Names the tick at x.
    pub x_name: &'t dyn Fn(f64) -> String,
    /// The y axis.
    pub y: &'t Axis,
    /// Legend entries in order: name, colour and swatch.
    pub legend: Vec<(String, RGBColor, Swatch)>,
    /// One line each under the x-axis label.
    pub notes: &'t [String],
}

/// Lay the frame out on `area` and draw everything but the data (legend and notes included):
/// returns the chart to draw the data into (in [`Axis::coord`] units on y).
pub fn chart<'a, 'b>(area: &'a Area<'b>, f: &Frame) -> Result<Chart<'a, 'b>, DrawError> {
    let legend_w = (f.legend.iter())
        .map(|(n, _, _)| area.estimate_text_size(n, &font(FONT)).map(|s| s.0))
        .try_fold(0, |w, n| n.map(|n| w.max(n)))?;
    let right = if f.legend.is_empty() {
        20
    } else {
        legend_w + 50
    };
    let notes = f.notes.len() as i32 * NOTE_LINE;
    let y = f.y;
    let (ylo, yhi) = (y.coord(y.lo), y.coord(y.hi));
    let y_range = Coord {
        scale: (ylo..yhi).into(),
        ticks: y.ticks.iter().map(|&t| y.coord(t)).collect(),
        minor: y.minor_ticks().into_iter().map(|t| y.coord(t)).collect(),
    };
    let x_range = Coord {
        scale: (f.x.0..f.x.1).into(),
        ticks: f.x.2.clone(),
        minor: Vec::new(),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(f.title, font(TITLE_FONT))
        .margin_top(10)
        .margin_left(10)
        .margin_right(right)
        .margin_bottom(notes + 6)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(x_range, y_range)?;
    let y_name = |t: &f64| y.nearest_label(*t);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .bold_line_style(GRID)
        .light_line_style(MINOR_GRID)
        .axis_style(INK)
        .label_style(font(FONT))
        .axis_desc_style(font(FONT))
        .x_desc(f.x_label)
        .y_desc(f.y_label)
        .x_label_formatter(&|v| (f.x_name)(*v))
        .y_label_formatter(&y_name)
        .draw()?;
    chart.draw_series(std::iter::once(Rectangle::new(
        [(f.x.0, ylo), (f.x.1, yhi)],
        INK.stroke_width(1),
    )))?;
    let (_, h) = area.dim_in_pixel();
    for (i, note) in f.notes.iter().enumerate() {
        let y = h as i32 - notes - 4 + i as i32 * NOTE_LINE;
        area.draw(&Text::new(
            format!("note: {note}"),
            (72, y),
            font(FONT - 1.0),
        ))?;
    }
    legend(area, &chart, &f.legend)?;
    Ok(chart)
}

/// How a legend entry shows its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swatch {
    /// A filled box (bars).
    Box,
    /// A thick line (series).
    Line,
    /// A dashed line (reference levels: chance).
    Dashed,
}

/// A legend to the right of the plot, where it never covers data: per entry a swatch in its
/// colour and the name. (Plotters clips its own legend to the plot area.)
fn legend(
    area: &Area,
    chart: &Chart,
    entries: &[(String, RGBColor, Swatch)],
) -> Result<(), DrawError> {
    let (base, plot) = (
        area.get_base_pixel(),
        chart.plotting_area().get_pixel_range(),
    );
    let x = plot.0.end - base.0 + 12;
    for (i, (name, c, swatch)) in entries.iter().enumerate() {
        let y = plot.1.start - base.1 + 10 + 20 * i as i32;
        let line = vec![(x, y), (x + 18, y)];
        match swatch {
            Swatch::Box => area.draw(&Rectangle::new([(x, y - 6), (x + 18, y + 6)], c.filled()))?,
            Swatch::Line => area.draw(&PathElement::new(line, c.stroke_width(3)))?,
            Swatch::Dashed => {
                let (dash, gap) = DASH;
                area.draw(&DashedPathElement::new(line, dash, gap, c.stroke_width(2)))?
            }
        }
        let style = font(FONT).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(name.clone(), (x + 24, y), style))?;
    }
    Ok(())
}
