//! Reading the report's SVG charts back in tests: elements by tag and class, their numbers.

#![allow(dead_code)]

use std::collections::HashMap;

/// Attributes of every `<tag ... class="class" ...>` element, in document order.
pub fn elements(svg: &str, tag: &str, class: &str) -> Vec<HashMap<String, String>> {
    let mut out = Vec::new();
    for chunk in svg.split('<').skip(1) {
        let Some(rest) = chunk.strip_prefix(tag) else {
            continue;
        };
        let head = rest.split('>').next().unwrap();
        let mut attrs = HashMap::new();
        for part in head.split('"').collect::<Vec<_>>().chunks(2) {
            if let [key, value] = part {
                let key = key.trim().trim_end_matches('=').trim();
                attrs.insert(key.to_string(), value.to_string());
            }
        }
        if attrs.get("class").map(String::as_str) == Some(class) {
            out.push(attrs);
        }
    }
    out
}

pub fn num(attrs: &HashMap<String, String>, key: &str) -> f64 {
    attrs[key].parse().unwrap()
}

pub fn points(attrs: &HashMap<String, String>) -> Vec<(f64, f64)> {
    attrs["points"]
        .split_whitespace()
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

/// (left, top, right, bottom) of the plot area.
pub fn plot_area(svg: &str) -> (f64, f64, f64, f64) {
    let r = &elements(svg, "rect", "plot-area")[0];
    let (x, y) = (num(r, "x"), num(r, "y"));
    (x, y, x + num(r, "width"), y + num(r, "height"))
}

pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.02
}
