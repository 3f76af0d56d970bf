//! Write a sample report (loss curves, retrieval bars, a retrieval table and a clip gallery)
//! from fake data, to show what `locomotion demo` / `experiment` reports look like.
//!
//! `cargo run --release --example report_demo -- [OUT_DIR]` (default: `locomotion-report-demo` in the temp folder).

use std::path::PathBuf;

use anyhow::{Context, Result};
use locomotion::report::{BarChart, Clip, Element, LineChart, MeanStd, Report, Table};
use locomotion::util::fs::write_atomic;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() -> Result<()> {
    let out = (std::env::args().nth(1).map(PathBuf::from))
        .unwrap_or_else(|| std::env::temp_dir().join("locomotion-report-demo"));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(7);

    // Fake losses: exponential decay plus noise, one NaN step to show it is skipped.
    let mut curve = |start: f64, rate: f64| -> Vec<(f64, f64)> {
        (0..200)
            .map(|s| {
                let noise = 1.0 + 0.08 * rng.random_range(-1.0..1.0);
                (s as f64, start * (-rate * s as f64).exp() * noise + 0.05)
            })
            .collect()
    };
    let (vtc, vtm, mut mlm) = (curve(4.2, 0.02), curve(0.69, 0.01), curve(9.5, 0.015));
    mlm[120].1 = f64::NAN;
    let total: Vec<(f64, f64)> = (0..200)
        .map(|i| (i as f64, vtc[i].1 + vtm[i].1 + mlm[i].1))
        .collect();
    let losses = LineChart::new("Pre-training losses")
        .labels("step", "loss")
        .log_y(true)
        .series("VTC", vtc)
        .series("VTM", vtm)
        .series("MLM", mlm)
        .series("total", total);

    // Fake retrieval over 3 seeds: R@1 per caption kind at 100 % and 20 % fine-tuning data.
    let kinds = [
        ("spatial", 18.0),
        ("motion", 31.0),
        ("motion+paraphrase", 36.0),
    ];
    let mut runs =
        |mean: f64| -> Vec<f64> { (0..3).map(|_| mean + rng.random_range(-2.5..2.5)).collect() };
    let mut bars = BarChart::new("Text-to-video R@1", &["100 % data", "20 % data"])
        .y_label("R@1 (%)")
        .chance(1.0, "chance 1.0 %");
    let mut table = Table::new(&["pre-training captions", "R@1 100 %", "R@1 20 %"]);
    let mut chance = Vec::new();
    for (kind, base) in kinds.iter().chain([&("scratch", 6.0)]) {
        let full = MeanStd::of(&runs(*base)).expect("3 runs");
        let few = MeanStd::of(&runs(base * 0.6)).expect("3 runs");
        bars = bars.group(kind, vec![Some(full), Some(few)]);
        let cell = |m: MeanStd| format!("{:.1} ± {:.1}", m.mean, m.std);
        table = table.row(vec![kind.to_string(), cell(full), cell(few)]);
        chance.push("1.0".to_string());
    }

    let mut report = Report::new("LocoMotion sample report (fake data)");
    report.paragraph(
        "Every number here is made up by examples/report_demo.rs; the layout is what the \
         demo and experiment commands write.",
    );
    report.heading(2, "Training curves");
    report.chart(
        &out,
        "losses",
        &losses.scene(),
        "Losses per objective (log scale)",
    )?;
    report.heading(2, "Retrieval");
    report.chart(
        &out,
        "retrieval",
        &bars.scene(),
        "R@1, mean ± std over 3 seeds",
    )?;
    report.push(Element::Table(table.chance_column(chance)));
    report.heading(2, "Clips");
    report.push(Element::Gallery(vec![Clip {
        name: "clip_0000".into(),
        gif: "clips/clip_0000.gif".into(),
        captions: vec![
            (
                "motion".into(),
                "The ball moves left quickly, then up slowly.".into(),
            ),
            ("spatial".into(), "A ball on the left of the frame.".into()),
        ],
        paraphrases: vec![
            "The ball rolls quickly to the left, then floats up.".into(),
            "The ball zooms left and drifts upward.".into(),
        ],
    }]));
    std::fs::create_dir_all(out.join("clips")).context("cannot create the clips folder")?;
    write_atomic(out.join("clips/clip_0000.gif"), &moving_ball_gif()?)?;
    let written = report.write(&out)?;
    println!(
        "wrote {} and {}",
        written.html.display(),
        written.markdown.display()
    );
    Ok(())
}

/// A stand-in preview (the real ones come from `generate`): a ball moving left, then up.
fn moving_ball_gif() -> Result<Vec<u8>> {
    let (w, h) = (96u16, 64u16);
    let mut bytes = Vec::new();
    {
        let mut gif = gif::Encoder::new(&mut bytes, w, h, &[])?;
        gif.set_repeat(gif::Repeat::Infinite)?;
        for f in 0..16 {
            // Left at 5 px per frame for 10 frames, then up at 3 px per frame.
            let (cx, cy) = if f < 10 {
                (80.0 - 5.0 * f as f64, 48.0)
            } else {
                (35.0, 48.0 - 3.0 * (f - 9) as f64)
            };
            let mut rgb = Vec::with_capacity(w as usize * h as usize * 3);
            for y in 0..h {
                for x in 0..w {
                    let d = (x as f64 - cx).hypot(y as f64 - cy);
                    rgb.extend(if d < 7.0 {
                        [230, 80, 40]
                    } else {
                        [90, 150, 90]
                    });
                }
            }
            let mut frame = gif::Frame::from_rgb(w, h, &rgb);
            frame.delay = 8;
            gif.write_frame(&frame)?;
        }
    }
    Ok(bytes)
}
