//! Report pieces shared by demo and experiment: the loss curves of a run's metrics.jsonl,
//! retrieval tables with the chance level beside every number, and the clip gallery.

use std::path::Path;

use anyhow::{Context, Result};

use crate::caption::records::records_for;
use crate::caption::{CaptionKind, Describer, Lexicon, Paraphraser};
use crate::motion::params::ManifestEntry;
use crate::report::{Clip, LineChart, Table};
use crate::train::metrics::{DirectionMetrics, RetrievalMetrics};
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

/// VTC, VTM, MLM and total loss against the step (log scale).
pub fn loss_chart(records: &[StepRecord], title: &str, batch: usize) -> LineChart {
    let series = |f: fn(&StepRecord) -> f32| -> Vec<(f64, f64)> {
        records
            .iter()
            .map(|r| (r.step as f64, f(r) as f64))
            .collect()
    };
    // An objective weighted 0 logs 0 (it was skipped): leave it out, and the total too when
    // it is a single objective under another name.
    let used: Vec<(&str, Vec<(f64, f64)>)> = [
        ("VTC", series(|r| r.vtc)),
        ("VTM", series(|r| r.vtm)),
        ("MLM", series(|r| r.mlm)),
    ]
    .into_iter()
    .filter(|(_, pts)| pts.iter().any(|&(_, y)| y > 0.0))
    .collect();
    let vtc_used = used.iter().any(|(n, _)| *n == "VTC");
    let several = used.len() > 1;
    let mut chart = LineChart::new(title).labels("step", "loss").log_y(true);
    for (name, pts) in used {
        chart = chart.series(name, pts);
    }
    if several {
        chart = chart.series("total", series(|r| r.total));
    }
    let last = records.last().map_or(1.0, |r| r.step as f64);
    if vtc_used && batch > 1 {
        // Where VTC sits when it has learned nothing: every pair equally likely.
        let ln_b = (batch as f64).ln();
        chart = chart.series(
            &format!("VTC chance (ln {batch})"),
            vec![(0.0, ln_b), (last, ln_b)],
        );
    }
    chart
}

/// A percentage with one decimal.
pub fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

/// Both directions of `m`: R@1/5/10 (%) and median rank, chance level beside every number.
pub fn retrieval_table(m: &RetrievalMetrics) -> Table {
    let mut t = Table::new(&[
        "direction",
        "R@1 %",
        "R@5 %",
        "R@10 %",
        "median rank",
        "queries",
    ]);
    let mut chance = Vec::new();
    for (name, d) in [
        ("text→video", &m.text_to_video),
        ("video→text", &m.video_to_text),
    ] {
        t = t.row(direction_cells(name, d));
        chance.push(chance_cell(d));
    }
    t.chance_column(chance)
}

fn direction_cells(name: &str, d: &DirectionMetrics) -> Vec<String> {
    let m = &d.model;
    vec![
        name.to_string(),
        pct(m.r1),
        pct(m.r5),
        pct(m.r10),
        format!("{:.1}", m.median_rank),
        d.queries.to_string(),
    ]
}

/// The chance levels of one direction as one cell: "R@1 / R@5 / R@10 %, median rank".
pub fn chance_cell(d: &DirectionMetrics) -> String {
    let c = &d.chance;
    format!(
        "{} / {} / {} %, median {:.1}",
        pct(c.r1),
        pct(c.r5),
        pct(c.r10),
        c.median_rank
    )
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
