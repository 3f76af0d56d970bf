//! Report charts: line and bar charts land data where it belongs (SVG and PNG). Documents
//! and atomic writes are in report_documents.rs.

mod svg;

use locomotion::report::axis::Axis;
use locomotion::report::{BarChart, LineChart, MeanStd};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use svg::{
    Element, all, bars, chance_line, close, colour, ink, ink_strokes, num, plot_area, points,
    strokes, texts, with,
};

// ---------------------------------------------------------------- line charts

#[test]
fn line_chart_puts_data_extremes_on_plot_corners() {
    let chart = LineChart::new("loss")
        .labels("step", "loss")
        .series("total", vec![(0.0, 0.0), (5.0, 40.0), (10.0, 100.0)]);
    let svg = chart.scene().to_svg();
    let (l, t, r, b) = plot_area(&svg);
    let p = points(&strokes(&svg, &colour(0), "2")[0]);
    assert!(
        close(p[0].0, l) && close(p[0].1, b),
        "min at bottom-left: {p:?}"
    );
    assert!(
        close(p[2].0, r) && close(p[2].1, t),
        "max at top-right: {p:?}"
    );
    assert!(close(p[1].0, (l + r) / 2.0), "x=5 mid-way: {p:?}");
    assert!(close(p[1].1, b - 0.4 * (b - t)), "y=40 at 40 %: {p:?}");
    let texts = texts(&svg);
    for label in ["loss", "step", "0", "100", "10", "total"] {
        assert!(texts.iter().any(|t| t == label), "svg lacks {label}");
    }
}

#[test]
fn legend_lists_every_series_in_distinct_colours() {
    let names = ["VTC", "VTM", "MLM", "total", "empty one"];
    let mut chart = LineChart::new("losses");
    for (i, name) in names.iter().enumerate() {
        let pts = if i == 4 {
            vec![]
        } else {
            (0..20)
                .map(|s| (s as f64, (i + 1) as f64 / (s + 1) as f64))
                .collect()
        };
        chart = chart.series(name, pts);
    }
    let svg = chart.scene().to_svg();
    // Legend: one swatch per series (3 px lines), in order, each in its series' colour.
    let swatches: Vec<String> = all(&svg, "polyline")
        .into_iter()
        .filter(|e| e["stroke-width"] == "3")
        .map(|e| e["stroke"].clone())
        .collect();
    assert_eq!(swatches, (0..5).map(colour).collect::<Vec<_>>());
    let texts = texts(&svg);
    let at = |n: &str| texts.iter().position(|t| t == n).unwrap();
    assert!(names.windows(2).all(|w| at(w[0]) < at(w[1])), "{texts:?}");
    let drawn = (0..5).filter(|&i| !strokes(&svg, &colour(i), "2").is_empty());
    assert_eq!(drawn.count(), 4);
    assert!(chart.notes().iter().any(|n| n.contains("empty one")));
    assert!(
        svg.contains("empty one&quot; has no points"),
        "note not drawn"
    );
}

#[test]
fn nan_points_are_skipped_and_noted() {
    let chart = LineChart::new("mlm").series(
        "mlm",
        vec![
            (0.0, 1.0),
            (1.0, f64::NAN),
            (2.0, 3.0),
            (f64::INFINITY, 2.0),
        ],
    );
    let svg = chart.scene().to_svg();
    assert!(
        !svg.to_lowercase().contains("nan"),
        "NaN leaked into the SVG"
    );
    let p = points(&strokes(&svg, &colour(0), "2")[0]);
    assert_eq!(p.len(), 2);
    assert_eq!(
        chart.notes(),
        ["series \"mlm\": 2 non-finite point(s) skipped"]
    );
}

#[test]
fn single_point_and_constant_series_stay_visible() {
    let single = LineChart::new("one")
        .series("one", vec![(3.0, 7.0)])
        .scene()
        .to_svg();
    let (l, t, r, b) = plot_area(&single);
    let marker = &with(&single, "circle", "fill", &colour(0))[0];
    let (x, y) = (num(marker, "cx"), num(marker, "cy"));
    assert!(
        x > l && x < r && y > t && y < b,
        "marker ({x}, {y}) off the plot"
    );
    // A constant series sits strictly inside the plot (the axis widens), not on an edge.
    let flat = LineChart::new("flat").series("flat", vec![(0.0, 2.0), (6.0, 2.0)]);
    let svg = flat.scene().to_svg();
    let (_, t, _, b) = plot_area(&svg);
    let y = points(&strokes(&svg, &colour(0), "2")[0])[0].1;
    assert!(y > t + 1.0 && y < b - 1.0, "{y} in ({t}, {b})");
    let ticks = texts(&svg)
        .iter()
        .filter(|t| t.parse::<f64>().is_ok())
        .count();
    assert!(ticks >= 4, "{ticks} tick labels");
}

#[test]
fn long_curves_are_thinned_but_keep_their_spikes() {
    let mut pts: Vec<(f64, f64)> = (0..100_000)
        .map(|s| (s as f64, 1.0 + (s % 7) as f64 * 0.01))
        .collect();
    pts[54_321].1 = 2.0; // the axis spans exactly 1..2, so the spike touches the top
    let chart = LineChart::new("long").series("loss", pts);
    let svg = chart.scene().to_svg();
    let (l, t, r, _) = plot_area(&svg);
    let p = points(&strokes(&svg, &colour(0), "2")[0]);
    assert!(
        p.len() <= 2 * (r - l) as usize + 4,
        "{} points kept",
        p.len()
    );
    assert!(p.iter().any(|&(_, y)| close(y, t)), "spike lost");
    assert!(
        p.windows(2).all(|w| w[0].0 <= w[1].0),
        "drawing order broken"
    );
    assert!(close(p[0].0, l) && close(p.last().unwrap().0, r));
}

#[test]
fn log_y_spaces_decades_evenly_and_skips_non_positive() {
    let chart = LineChart::new("log").log_y(true).series(
        "loss",
        vec![
            (0.0, 1000.0),
            (1.0, 100.0),
            (2.0, 10.0),
            (3.0, 1.0),
            (4.0, 0.0),
        ],
    );
    let svg = chart.scene().to_svg();
    let (_, t, _, b) = plot_area(&svg);
    let p = points(&strokes(&svg, &colour(0), "2")[0]);
    assert_eq!(p.len(), 4);
    assert!(close(p[0].1, t) && close(p[3].1, b), "{p:?}");
    let gaps: Vec<f64> = p.windows(2).map(|w| w[1].1 - w[0].1).collect();
    assert!(
        gaps.iter().all(|g| close(*g, gaps[0])),
        "uneven decades: {gaps:?}"
    );
    assert!(chart.notes()[0].contains("1 point(s) <= 0 skipped"));
}

#[test]
fn extreme_and_random_values_never_yield_non_finite_coordinates() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let specials = [
        f64::NAN,
        0.0,
        -0.0,
        1e-300,
        1e300,
        -1e300,
        1.7e308,
        -1.7e308,
        f64::MIN_POSITIVE,
        5e-324,
        42.0,
    ];
    for trial in 0..200 {
        let n = rng.random_range(1..6);
        let mut pick = || {
            if rng.random_bool(0.5) {
                specials[rng.random_range(0..specials.len())]
            } else {
                rng.random_range(-1e3..1e3)
            }
        };
        let pts: Vec<(f64, f64)> = (0..n).map(|_| (pick(), pick())).collect();
        let log = trial % 2 == 0;
        let scene = LineChart::new("x")
            .log_y(log)
            .series("s", pts.clone())
            .scene();
        let svg = scene.checked_svg().unwrap();
        let lower = svg.to_lowercase();
        assert!(
            !lower.contains("nan") && !lower.contains("inf"),
            "{pts:?} (log {log})"
        );
        let bars = BarChart::new("b", &["a"])
            .group(
                "g",
                vec![Some(MeanStd {
                    mean: pts[0].0,
                    std: pts[0].1,
                })],
            )
            .scene();
        let lower = bars.checked_svg().unwrap().to_lowercase();
        assert!(
            !lower.contains("nan") && !lower.contains("inf"),
            "bar {:?}",
            pts[0]
        );
    }
}

#[test]
fn axis_ticks_are_round_numbers() {
    let a = Axis::linear(0.013, 0.87, 6);
    let labels: Vec<String> = a.ticks.iter().map(|&t| a.label(t)).collect();
    assert_eq!(labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
    let big = Axis::linear(0.0, 250_000.0, 5);
    assert_eq!(big.label(*big.ticks.last().unwrap()), "2.5e5");
    let log = Axis::log10(0.004, 3.0);
    let labels: Vec<String> = log.ticks.iter().map(|&t| log.label(t)).collect();
    assert_eq!(labels, ["0.001", "0.01", "0.1", "1", "10"]);
}

// ---------------------------------------------------------------- bar charts

fn retrieval_chart() -> BarChart {
    let ms = |mean, std| Some(MeanStd { mean, std });
    BarChart::new("R@1", &["100 %", "20 %"])
        .y_label("R@1 (%)")
        .group("spatial", vec![ms(20.0, 2.0), ms(10.0, 1.0)])
        .group("motion", vec![ms(40.0, 4.0), ms(30.0, 0.0)])
        .group("scratch", vec![ms(5.0, 0.5), None])
        .chance(2.5, "chance 2.5 %")
}

#[test]
fn bar_heights_are_proportional_with_error_bars_and_chance_line() {
    let chart = retrieval_chart();
    let svg = chart.scene().to_svg();
    // Bars of each colour in group order: 100 % in all three groups, 20 % in two.
    let (full, few) = (bars(&svg, &colour(0)), bars(&svg, &colour(1)));
    assert_eq!(
        (full.len(), few.len()),
        (3, 2),
        "the missing bar is not drawn"
    );
    let height = |bar: &Element| (num(bar, "height"), num(bar, "y") + num(bar, "height"));
    let (h20, base) = height(&full[0]);
    let (h40, base40) = height(&full[1]);
    assert!(close(base, base40), "bars share the zero line");
    assert!((h40 / h20 - 2.0).abs() < 0.02, "{h40} / {h20}");
    assert!((height(&full[2]).0 / h20 - 0.25).abs() < 0.02);
    // Error bar of 40 ± 4 spans 36..44; bars with std 0 get none.
    let err = ink_strokes(&svg, true);
    assert_eq!(err.len(), 4);
    let (x, w) = (num(&full[1], "x"), num(&full[1], "width"));
    let p = err
        .iter()
        .find(|p| (p[0].0 - (x + w / 2.0)).abs() <= 1.5)
        .unwrap();
    let px_per_unit = h40 / 40.0;
    assert!(close(p[0].1, base - 36.0 * px_per_unit) && close(p[1].1, base - 44.0 * px_per_unit));
    let (y, dashes) = chance_line(&svg);
    assert!(dashes > 10, "chance line is dashed: {dashes} pieces");
    assert!(close(y, base - 2.5 * px_per_unit), "chance at {y}");
    // Legend right of the plot: a box per bar name, a dashed swatch and the chance label.
    let (_, _, r, _) = plot_area(&svg);
    let boxes = |c: &str| {
        with(&svg, "rect", "fill", c)
            .iter()
            .filter(|e| num(e, "x") > r)
            .count()
    };
    assert_eq!((boxes(&colour(0)), boxes(&colour(1))), (1, 1));
    let swatch = strokes(&svg, &ink(), "2")
        .iter()
        .map(points)
        .filter(|p| p[0].0 > r)
        .count();
    assert_eq!(swatch, 2, "the chance line's legend swatch is dashed");
    assert!(texts(&svg).contains(&"chance 2.5 %".to_string()));
    assert_eq!(
        chart.notes(),
        ["\"scratch\" / \"20 %\": no value, bar not drawn"]
    );
}

#[test]
fn non_finite_spread_draws_no_error_bar() {
    let ms = |mean, std| Some(MeanStd { mean, std });
    let svg = BarChart::new("b", &["a"])
        .group("nan", vec![ms(3.0, f64::NAN)])
        .group("inf", vec![ms(4.0, f64::INFINITY)])
        .group("ok", vec![ms(5.0, 1.0)])
        .scene()
        .to_svg();
    let err = ink_strokes(&svg, true);
    let bars = bars(&svg, &colour(0));
    assert_eq!(bars.len(), 3);
    assert_eq!(err.len(), 1);
    let (x, w) = (num(&bars[2], "x"), num(&bars[2], "width"));
    assert!(
        err[0][0].0 > x && err[0][0].0 < x + w,
        "the error bar is on \"ok\""
    );
}

#[test]
fn mean_std_over_seeds() {
    let m = MeanStd::of(&[1.0, 2.0, 3.0]).unwrap();
    assert_eq!((m.mean, m.std), (2.0, 1.0));
    assert_eq!(MeanStd::of(&[4.0]).unwrap().std, 0.0);
    assert!(MeanStd::of(&[]).is_none());
}

// ---------------------------------------------------------------- PNG

#[test]
fn png_decodes_at_stated_size_with_ink_on_the_line() {
    let chart = LineChart::new("png").series("vtc", vec![(0.0, 0.0), (10.0, 100.0)]);
    let scene = chart.scene();
    let png = scene.to_png().unwrap();
    let img = image::load_from_memory(&png).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (720, 420));
    let svg = scene.to_svg();
    let (l, t, r, b) = plot_area(&svg);
    let series = &strokes(&svg, &colour(0), "2")[0];
    let colour = series["stroke"].clone();
    for f in [0.25, 0.5, 0.75] {
        let (x, y) = (l + f * (r - l), b - f * (b - t));
        // Anti-aliased: the pixel nearest the line's centre (one of the 3×3 around the
        // rounded point) is the series colour, give or take the edge blending.
        let want = u32::from_str_radix(&colour[1..], 16).unwrap().to_be_bytes();
        let off = |p: [u8; 3]| {
            (0..3)
                .map(|c| (p[c] as i32 - want[c + 1] as i32).abs())
                .max()
        };
        let best = (-1i32..=1)
            .flat_map(|dy| (-1i32..=1).map(move |dx| (dx, dy)))
            .map(|(dx, dy)| {
                let (px, py) = (
                    (x.round() as i32 + dx) as u32,
                    (y.round() as i32 + dy) as u32,
                );
                off(img.get_pixel(px, py).0).unwrap()
            })
            .min()
            .unwrap();
        assert!(
            best <= 40,
            "at {f}: no pixel near the line is {colour} (off by {best})"
        );
    }
    // Off the line, inside the plot and away from grid lines: background.
    let p = img
        .get_pixel((l + 0.9 * (r - l)) as u32, (b - 0.13 * (b - t)) as u32)
        .0;
    assert_eq!(p, [255, 255, 255]);
    let bar = retrieval_chart().scene().rasterize().unwrap();
    let inked = bar.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    assert!(inked > 5000, "bar chart PNG nearly empty: {inked} pixels");
}

#[test]
fn a_chart_that_cannot_be_drawn_is_an_error_naming_its_file_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let chart = LineChart::new("empty canvas").series("a", vec![(0.0, 1.0)]);
    let e = chart.size(0, 0).scene().save(&dir.path().join("curve"));
    let e = e.unwrap_err().to_string();
    assert!(e.contains("curve.svg") && !e.contains('\n'), "{e}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
