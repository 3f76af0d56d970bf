//! The charts a reader meets in a report: text set in the embedded font in both files,
//! metric axes within their range, smoothed curves with the raw values behind, markers,
//! panels, and the demo's training curves built from metrics.jsonl records.

mod svg;

use locomotion::eval::metrics::{DirectionMetrics, RankMetrics, RetrievalMetrics};
use locomotion::experiment::figures::{
    objectives_phrase, retrieval_table, settings_table, trained_objectives, training_curves,
};
use locomotion::report::axis::Axis;
use locomotion::report::line::MARKER;
use locomotion::report::scene::{PALETTE, faint};
use locomotion::report::{BarChart, LineChart, MeanStd, Panels};
use locomotion::train::trainer::StepRecord;
use svg::{colour, hex, ink_strokes, plot_area, plot_areas, points, strokes, texts, with};

#[test]
fn labels_are_measured_in_the_embedded_font_and_drawn_in_the_png() {
    // The legend's room is measured in a real proportional font: a name of eight "m" leaves
    // a narrower plot than eight "i", by about the difference of their widths.
    let right = |name: &str| {
        let svg = LineChart::new("t")
            .series(name, vec![(0.0, 1.0)])
            .scene()
            .to_svg();
        plot_area(&svg).2
    };
    let (narrow, wide) = (right("iiiiiiii"), right("mmmmmmmm"));
    assert!(
        narrow - wide > 50.0 && narrow - wide < 120.0,
        "{narrow} vs {wide}"
    );
    // The PNG shows the title's text: ink where the SVG says it is, none above it.
    let scene = LineChart::new("Pre-training loss").series("VTC", vec![(0.0, 1.0), (1.0, 2.0)]);
    let img = scene.scene().rasterize().unwrap();
    let centre = img.width() / 2;
    let inked = |y0: u32, y1: u32| {
        (y0..y1)
            .flat_map(|y| (centre - 60..centre + 60).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&c| c < 160))
            .count()
    };
    assert!(inked(10, 27) > 40, "title not drawn: {}", inked(10, 27));
    assert_eq!(inked(0, 6), 0, "ink above the title");
}

#[test]
fn recall_bars_stay_within_zero_and_one_hundred_percent() {
    let chart = BarChart::new("R@1", &["no fine-tuning", "100 % data"])
        .y_label("R@1 (%)")
        .range(0.0, 100.0)
        .chance(2.1, "chance 2.1 %")
        .group(
            "spatial",
            vec![
                MeanStd::of(&[0.0, 3.1]),
                Some(MeanStd {
                    mean: 98.0,
                    std: 5.0,
                }),
            ],
        );
    let svg = chart.scene().to_svg();
    let (_, top, _, bottom) = plot_area(&svg);
    let bars = ink_strokes(&svg, true);
    assert_eq!(bars.len(), 2);
    for bar in &bars {
        for &(_, y) in bar {
            assert!(
                y <= bottom + 0.01 && y >= top - 0.01,
                "error bar leaves the axis: {y}"
            );
        }
    }
    // The low error bar ends at 0 % (the bottom), the high one at 100 % (the top).
    let ends: Vec<f64> = bars.iter().flatten().map(|p| p.1).collect();
    assert!(ends.iter().any(|y| (y - bottom).abs() < 0.01), "{ends:?}");
    assert!(ends.iter().any(|y| (y - top).abs() < 0.01), "{ends:?}");
    let texts = texts(&svg);
    assert!(
        !texts.iter().any(|t| t.starts_with('-')),
        "a negative tick label: recall cannot be below 0"
    );
    assert!(texts.contains(&"100".into()) && texts.contains(&"0".into()));
}

#[test]
fn axis_within_cuts_ticks_and_log_axes_get_minor_ticks() {
    let a = Axis::linear(-1.3, 3.8, 6).within(0.0, 100.0);
    assert_eq!((a.lo, a.ticks[0]), (0.0, 0.0));
    assert!(a.ticks.iter().all(|&t| t >= 0.0));
    let log = Axis::log10(0.5, 30.0);
    let minor = log.minor_ticks();
    assert!(minor.contains(&2.0) && minor.contains(&50.0) && !minor.contains(&10.0));
    assert!(Axis::linear(0.0, 1.0, 6).minor_ticks().is_empty());
    // A learning-rate axis speaks one notation: 0, 2e-4, ..., 1e-3 (not "0.0010" beside "8e-4").
    let lr = Axis::linear(0.0, 1e-3, 5);
    let labels: Vec<String> = lr.ticks.iter().map(|&t| lr.label(t)).collect();
    assert_eq!(labels, ["0", "2e-4", "4e-4", "6e-4", "8e-4", "1e-3"]);
}

#[test]
fn smoothed_curves_keep_the_raw_values_faint_behind() {
    // A noisy falling loss: the smoothed curve wiggles far less than the raw one.
    let pts: Vec<(f64, f64)> = (0..200)
        .map(|i| {
            (
                i as f64,
                3.0 - i as f64 / 100.0 + if i % 2 == 0 { 0.3 } else { -0.3 },
            )
        })
        .collect();
    let svg = LineChart::new("VTC loss")
        .smooth(true)
        .series("VTC", pts)
        .marker(50.0, "backgrounds start fading in")
        .reference("chance ln 16", 16f64.ln())
        .scene()
        .to_svg();
    let faint = hex(faint(PALETTE[0], 0.3));
    let raw_el = &strokes(&svg, &faint, "1")[0];
    let raw = points(raw_el);
    let smooth_el = &strokes(&svg, &colour(0), "2")[0];
    let smooth = points(smooth_el);
    assert_eq!((raw.len(), smooth.len()), (200, 200));
    let wiggle = |p: &[(f64, f64)]| p.windows(2).map(|w| (w[1].1 - w[0].1).abs()).sum::<f64>();
    assert!(wiggle(&smooth) < wiggle(&raw) / 5.0);
    // Raw drawn first (behind) and lighter than the smoothed stroke.
    let at = |el: &svg::Element| svg.find(&format!("points=\"{}", el["points"])).unwrap();
    assert!(at(raw_el) < at(smooth_el));
    assert_ne!(raw_el["stroke"], smooth_el["stroke"]);
    let marker = points(&with(&svg, "polyline", "stroke", &hex(MARKER))[0]);
    let (l, _, r, _) = plot_area(&svg);
    assert!(
        (marker[0].0 - (l + (r - l) * 50.0 / 199.0)).abs() < 3.0,
        "{marker:?}"
    );
    assert!(texts(&svg).contains(&"backgrounds start fading in".into()));
    // The chance level: a dashed line (many short pieces) in the next colour.
    assert!(strokes(&svg, &colour(1), "2").len() > 10);
    // Few points are drawn as they are.
    let few = LineChart::new("lr")
        .smooth(true)
        .series("lr", vec![(0.0, 1.0), (1.0, 2.0)]);
    assert!(strokes(&few.scene().to_svg(), &faint, "1").is_empty());
}

fn record(step: u64, vtc: f32, mlm: f32) -> StepRecord {
    StepRecord {
        step,
        lr: 1e-3 * step as f64 / 100.0,
        vtc,
        vtm: 0.0,
        mlm,
        total: vtc + mlm,
        grad_norm: 1.0 + step as f32 / 100.0,
        clips_per_s: 10.0,
        data_time_share: 0.1,
        truncated_share: 0.0,
    }
}

#[test]
fn training_curves_show_one_panel_per_trained_objective_with_lr_and_grad_norm() {
    let records: Vec<StepRecord> = (1..=60).map(|s| record(s * 5, 2.7, 0.5)).collect();
    assert_eq!(trained_objectives(&records), ["VTC", "MLM"]);
    assert_eq!(objectives_phrase(&records), "VTC and MLM");
    let fig = training_curves(&records, "Pre-training (VTC and MLM)", 16, 150);
    let titles: Vec<&str> = fig.charts.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "VTC loss",
            "MLM loss",
            "Weighted total loss",
            "Learning rate",
            "Gradient norm (before clipping)"
        ]
    );
    // Fade markers at a third of the fade and at its end, on the loss panels.
    let xs: Vec<f64> = fig.charts[0].markers.iter().map(|m| m.x).collect();
    assert_eq!(xs, [50.0, 150.0]);
    assert!(
        fig.charts[3].markers.is_empty(),
        "no fade marker on the lr panel"
    );
    let svg = fig.scene().to_svg();
    assert_eq!(plot_areas(&svg).len(), 5);
    assert!(svg.contains("chance ln 16") && !svg.contains("VTM"));
    let (w, h) = fig.size();
    assert_eq!((w, h), (2 * fig.panel.0, 3 * fig.panel.1 + 36));
    // One objective: no total panel, and no fade marker past the last step.
    let vtc_only: Vec<StepRecord> = (1..=10).map(|s| record(s, 2.0, 0.0)).collect();
    let fig = training_curves(&vtc_only, "t", 8, 0);
    assert_eq!(fig.charts.len(), 3);
    assert!(fig.charts[0].markers.is_empty());
    let p = Panels::new("x");
    assert_eq!(p.size(), (p.panel.0, p.panel.1 + 36));
}

fn direction(n: usize, group: usize) -> DirectionMetrics {
    let chance = |k: usize| (k as f64 / group as f64).min(1.0);
    DirectionMetrics {
        queries: n,
        model: RankMetrics {
            r1: 0.5,
            r5: 1.0,
            r10: 1.0,
            median_rank: 1.5,
            mean_rank: 1.8,
        },
        chance: RankMetrics {
            r1: chance(1),
            r5: chance(5),
            r10: chance(10),
            median_rank: 2.0,
            mean_rank: 2.5,
        },
    }
}

#[test]
fn retrieval_tables_put_chance_beside_each_number_and_dash_trivial_recall() {
    let within = RetrievalMetrics {
        text_to_video: direction(32, 4),
        video_to_text: direction(32, 4),
    };
    let t = retrieval_table(&within);
    let header = t.header_cells();
    assert_eq!(&header[1..5], ["R@1 %", "chance", "R@5 %", "chance"]);
    let row = t.row_cells(0);
    assert_eq!(&row[1..7], ["50.0", "25.0", "—", "—", "—", "—"]);
    assert!(t.is_muted(2) && !t.is_muted(1));
    let global = RetrievalMetrics {
        text_to_video: direction(32, 32),
        video_to_text: direction(32, 32),
    };
    assert_eq!(
        &retrieval_table(&global).row_cells(0)[3..5],
        ["100.0", "15.6"]
    );
    let md = {
        let mut r = locomotion::report::Report::new("t");
        r.push(locomotion::report::Element::Table(t));
        r.to_markdown()
    };
    assert!(md.contains("| 50.0 | *25.0* |"), "{md}");
}

#[test]
fn settings_table_lists_every_resolved_setting() {
    let plan = locomotion::experiment::DemoPlan::default();
    let t = settings_table(&plan);
    let rows: Vec<(String, String)> = (0..t.rows.len())
        .map(|r| (t.rows[r][0].clone(), t.rows[r][1].clone()))
        .collect();
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(rows.len(), json.as_object().unwrap().len());
    assert!(rows.contains(&("preset".into(), plan.preset.clone())));
    assert!(rows.contains(&("steps".into(), plan.steps.to_string())));
    assert!(rows.contains(&("background fade".into(), plan.background_fade.to_string())));
}
