//! Reading the report's SVG charts (as plotters writes them) back in tests: elements by tag and
//! colour, their numbers, the texts a reader sees and the plot area.

#![allow(dead_code)]

use std::collections::HashMap;

use locomotion::report::scene::{INK, PALETTE};
use plotters::style::RGBColor;

/// Attributes of one SVG element.
pub type Element = HashMap<String, String>;

/// Attributes of every `<tag ...>` element, in document order.
pub fn all(svg: &str, tag: &str) -> Vec<Element> {
    let mut out = Vec::new();
    for chunk in svg.split('<').skip(1) {
        let Some(rest) = chunk.strip_prefix(tag) else {
            continue;
        };
        if !rest.starts_with([' ', '/', '>']) {
            continue;
        }
        let head = rest.split('>').next().unwrap();
        let mut attrs = HashMap::new();
        for part in head.split('"').collect::<Vec<_>>().chunks(2) {
            if let [key, value] = part {
                let key = key.trim().trim_end_matches('=').trim();
                attrs.insert(key.to_string(), value.to_string());
            }
        }
        out.push(attrs);
    }
    out
}

/// `#RRGGBB` as plotters writes a colour.
pub fn hex(c: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

/// Colour of the i-th series or bar.
pub fn colour(i: usize) -> String {
    hex(PALETTE[i])
}

/// The ink colour of axes, error bars and chance lines.
pub fn ink() -> String {
    hex(INK)
}

/// `<tag>` elements whose `key` attribute is `value`.
pub fn with(svg: &str, tag: &str, key: &str, value: &str) -> Vec<Element> {
    let mut v = all(svg, tag);
    v.retain(|e| e.get(key).map(String::as_str) == Some(value));
    v
}

/// Polylines stroked in `colour` `width` pixels wide (series: 2, raw values: 1, swatches: 3).
pub fn strokes(svg: &str, colour: &str, width: &str) -> Vec<Element> {
    let mut v = with(svg, "polyline", "stroke", colour);
    v.retain(|e| e["stroke-width"] == width);
    v
}

/// The texts a reader sees, in document order (XML entities left as written).
pub fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .map(|t| {
            let body = t.split_once('>').unwrap().1;
            body.split("</text>").next().unwrap().trim().to_string()
        })
        .collect()
}

pub fn num(attrs: &Element, key: &str) -> f64 {
    attrs[key].parse().unwrap()
}

pub fn points(attrs: &Element) -> Vec<(f64, f64)> {
    attrs["points"]
        .split_whitespace()
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

/// (left, top, right, bottom) of the plot area: the outlined, unfilled rectangle in ink.
pub fn plot_area(svg: &str) -> (f64, f64, f64, f64) {
    let r = &plot_areas(svg)[0];
    let (x, y) = (num(r, "x"), num(r, "y"));
    (x, y, x + num(r, "width"), y + num(r, "height"))
}

/// Every plot area's outline (one per panel).
pub fn plot_areas(svg: &str) -> Vec<Element> {
    let mut v = with(svg, "rect", "fill", "none");
    v.retain(|e| e["stroke"] == ink());
    v
}

/// Equal within the one pixel plotters rounds every coordinate to.
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1.01
}

/// Filled rectangles in `colour` inside the plot: bars (legend boxes sit right of the plot).
pub fn bars(svg: &str, colour: &str) -> Vec<Element> {
    let (_, _, r, _) = plot_area(svg);
    let mut v = with(svg, "rect", "fill", colour);
    v.retain(|e| num(e, "x") < r);
    v
}

/// 2 px ink strokes inside the plot that are vertical (error bars, low end first) or
/// horizontal (caps, chance-line dashes).
pub fn ink_strokes(svg: &str, vertical: bool) -> Vec<Vec<(f64, f64)>> {
    let (l, _, r, _) = plot_area(svg);
    let lines = strokes(svg, &ink(), "2");
    (lines.iter().map(points))
        .filter(|p| p.len() == 2 && (p[0].0 == p[1].0) == vertical)
        .filter(|p| p.iter().all(|&(x, _)| x >= l - 1.0 && x <= r + 1.0))
        .collect()
}

/// The y of the dashed ink line across the plot (a chance level) and its dash count.
pub fn chance_line(svg: &str) -> (f64, usize) {
    let mut ys: Vec<f64> = ink_strokes(svg, false).iter().map(|p| p[0].1).collect();
    ys.sort_by(f64::total_cmp);
    let mut best = (f64::NAN, 0);
    for y in &ys {
        let n = ys.iter().filter(|v| *v == y).count();
        if n > best.1 {
            best = (*y, n);
        }
    }
    best
}
