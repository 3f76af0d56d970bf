//! Report pieces shared by demo and experiment: the training curves of a run's
//! metrics.jsonl, retrieval tables with the chance level beside every number, the resolved
//! settings and the clip gallery.

use std::path::Path;

use anyhow::{Context, Result};

use crate::caption::records::records_for;
use crate::caption::{CaptionKind, Describer, Lexicon, Paraphraser};
use crate::eval::metrics::{DirectionMetrics, RetrievalMetrics};
use crate::motion::params::ManifestEntry;
use crate::report::{Clip, LineChart, Panels, Table};
use crate::train::trainer::StepRecord;

/// The records of a run's metrics.jsonl; errors name the file and line.
pub fn read_metrics(path: &Path) -> Result<Vec<StepRecord>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read metrics log {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("{}:{}: not a metrics record", path.display(), i + 1))
        })
        .collect()
}

/// The objectives a run trained, from its records: an objective weighted 0 is skipped and
/// logs 0 at every step.
pub fn trained_objectives(records: &[StepRecord]) -> Vec<&'static str> {
    [
        ("VTC", (|r: &StepRecord| r.vtc) as fn(&StepRecord) -> f32),
        ("VTM", |r| r.vtm),
        ("MLM", |r| r.mlm),
    ]
    .into_iter()
    .filter(|(_, f)| records.iter().any(|r| f(r) > 0.0))
    .map(|(name, _)| name)
    .collect()
}

/// The training curves of a run: one panel per trained objective (linear axis, smoothed with
/// the raw values faint behind; VTC with its chance level ln B), the weighted total when
/// several were trained, the learning rate and the gradient norm. `fade` (the
/// background fade-in steps, 0 for none) is marked where the backgrounds start to show and
/// where they are at full strength: a loss bump there is the scene getting harder.
pub fn training_curves(records: &[StepRecord], title: &str, batch: usize, fade: u64) -> Panels {
    let series = |f: &dyn Fn(&StepRecord) -> f64| -> Vec<(f64, f64)> {
        records.iter().map(|r| (r.step as f64, f(r))).collect()
    };
    let last = records.last().map_or(0, |r| r.step);
    let marked = |chart: LineChart| {
        if fade == 0 || fade / 3 >= last {
            return chart;
        }
        let chart = chart.marker((fade / 3) as f64, "backgrounds start fading in");
        if fade < last {
            chart.marker(fade as f64, "backgrounds at full strength")
        } else {
            chart
        }
    };
    let trained = trained_objectives(records);
    let mut fig = Panels::new(title);
    for name in &trained {
        let pick: fn(&StepRecord) -> f32 = match *name {
            "VTC" => |r| r.vtc,
            "VTM" => |r| r.vtm,
            _ => |r| r.mlm,
        };
        let mut chart = LineChart::new(&format!("{name} loss"))
            .labels("step", "loss")
            .smooth(true)
            .series(name, series(&|r| pick(r) as f64));
        if *name == "VTC" && batch > 1 {
            // Where VTC sits when it has learned nothing: every pair equally likely.
            chart = chart.reference(&format!("chance ln {batch}"), (batch as f64).ln());
        }
        fig = fig.chart(marked(chart));
    }
    if trained.len() > 1 {
        let total = LineChart::new("Weighted total loss")
            .labels("step", "loss")
            .smooth(true)
            .series("total", series(&|r| r.total as f64));
        fig = fig.chart(marked(total));
    }
    fig = fig.chart(
        LineChart::new("Learning rate")
            .labels("step", "learning rate")
            .series("lr", series(&|r| r.lr)),
    );
    fig.chart(marked(
        LineChart::new("Gradient norm (before clipping)")
            .labels("step", "global L2 norm")
            .smooth(true)
            .series("grad norm", series(&|r| r.grad_norm as f64)),
    ))
}

/// "VTC", "VTC and MLM", ...: the caption's words for what was trained.
pub fn objectives_phrase(records: &[StepRecord]) -> String {
    let names: Vec<String> = trained_objectives(records)
        .iter()
        .map(|n| n.to_string())
        .collect();
    if names.is_empty() {
        "no objective (every loss logged 0)".into()
    } else {
        crate::caption::describe::join_and(&names)
    }
}

/// A percentage with one decimal.
pub fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

/// A recall (0–1) as a percentage, or "—" when it is trivially 100 % because chance is
/// (every candidate of a small group is within the top k).
fn recall_cell(model: f64, chance: f64) -> String {
    if chance >= 1.0 - 1e-9 {
        "—".into()
    } else {
        pct(model)
    }
}

/// Both directions of `m`: R@1/5/10 (%) and median rank, each with its chance level in the
/// column beside it (muted). R@k that every model scores 100 % (chance 100 %) shows "—".
pub fn retrieval_table(m: &RetrievalMetrics) -> Table {
    let mut t = Table::new(&[
        "direction",
        "R@1 %",
        "chance",
        "R@5 %",
        "chance",
        "R@10 %",
        "chance",
        "median rank",
        "chance",
        "queries",
    ])
    .muted(&[2, 4, 6, 8]);
    for (name, d) in [
        ("text→video", &m.text_to_video),
        ("video→text", &m.video_to_text),
    ] {
        t = t.row(direction_cells(name, d));
    }
    t
}

/// True when R@5 and R@10 are 100 % for any model (groups of at most 5 candidates).
pub fn trivial_recall(m: &RetrievalMetrics) -> bool {
    [m.text_to_video, m.video_to_text]
        .iter()
        .any(|d| d.chance.r5 >= 1.0 - 1e-9)
}

fn direction_cells(name: &str, d: &DirectionMetrics) -> Vec<String> {
    let (m, c) = (&d.model, &d.chance);
    vec![
        name.to_string(),
        pct(m.r1),
        pct(c.r1),
        recall_cell(m.r5, c.r5),
        recall_cell(c.r5, c.r5),
        recall_cell(m.r10, c.r10),
        recall_cell(c.r10, c.r10),
        format!("{:.1}", m.median_rank),
        format!("{:.1}", c.median_rank),
        d.queries.to_string(),
    ]
}

/// The resolved settings of a run (a plan serialised to JSON) as a setting | value table.
pub fn settings_table(plan: &impl serde::Serialize) -> Table {
    let mut t = Table::new(&["setting", "value"]);
    if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(plan) {
        for (key, value) in map {
            let value = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => "—".into(),
                v => v.to_string(),
            };
            t = t.row(vec![key.replace('_', " "), value]);
        }
    }
    t
}

/// Gallery entries for `entries` (GIFs under `prefix`): motion, spatial and template
/// captions and `k` lexicon paraphrases, exactly as `generate --captions` writes them.
pub fn gallery(entries: &[ManifestEntry], prefix: &str, k: usize, seed: u64) -> Vec<Clip> {
    let lex = Lexicon::builtin();
    let (describer, paraphraser) = (Describer::new(lex.clone()), Paraphraser::new(lex));
    entries
        .iter()
        .map(|e| {
            let recs = records_for(
                &e.params,
                &CaptionKind::ALL,
                k,
                seed,
                &describer,
                &paraphraser,
            );
            let paraphrases = recs
                .iter()
                .find(|r| r.kind == CaptionKind::Motion)
                .map(|r| r.paraphrases.clone())
                .unwrap_or_default();
            Clip {
                name: e.id.clone(),
                gif: format!("{prefix}/{}", e.gif.as_deref().unwrap_or_default()),
                captions: recs
                    .into_iter()
                    .map(|r| (r.kind.name().to_string(), r.caption))
                    .collect(),
                paraphrases,
            }
        })
        .collect()
}
