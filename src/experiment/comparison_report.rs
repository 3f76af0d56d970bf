//! The experiment's outputs: results.json (every run and the mean ± std table), report.html
//! and report.md with the table (chance beside every row) and grouped bar charts.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::comparison::{ExperimentPlan, NO_FINETUNE, RunResult};
use super::conditions::{PRETRAINED_TEXT, row_names};
use super::figures::{pct, settings_table};
use crate::eval::metrics::DirectionMetrics;
use crate::eval::motion_benchmark::BenchmarkCaptions;
use crate::report::{BarChart, Element, MeanStd, Report, Table};

/// Mean and standard deviation over seeds, in percent.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    /// Mean over seeds.
    pub mean: f64,
    /// Sample standard deviation (0 for one seed).
    pub std: f64,
}

impl Spread {
    fn of(values: &[f64]) -> Option<Self> {
        let m = MeanStd::of(values)?;
        Some(Self {
            mean: 100.0 * m.mean,
            std: 100.0 * m.std,
        })
    }

    fn cell(this: Option<Self>) -> String {
        this.map_or("—".into(), |s| format!("{:.1} ± {:.1}", s.mean, s.std))
    }

    fn bar(this: Option<Self>) -> Option<MeanStd> {
        this.map(|s| MeanStd {
            mean: s.mean,
            std: s.std,
        })
    }
}

/// One row of the table: a pre-training condition and a fine-tuning column.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Pre-training condition.
    pub pretrain: String,
    /// Fine-tuning column.
    pub finetune: String,
    /// Seeds that ran.
    pub seeds: usize,
    /// Global text→video R@1, R@5, R@10 (%).
    pub r1: Option<Spread>,
    /// …
    pub r5: Option<Spread>,
    /// …
    pub r10: Option<Spread>,
    /// Within-group text→video R@1 (%).
    pub within_r1: Option<Spread>,
    /// Within-group text→video R@1 with `verbs` captions (%).
    pub within_r1_verbs: Option<Spread>,
    /// Within-group text→video R@1 with `verbs-heldout` captions (%).
    pub within_r1_verbs_heldout: Option<Spread>,
    /// Chance level of the global text→video R@1 (%).
    pub chance_r1: f64,
    /// Chance level of the within-group text→video R@1 (%).
    pub chance_within_r1: f64,
}

/// results.json.
#[derive(Debug, Clone, Serialize)]
pub struct Results<'a> {
    /// The plan.
    pub plan: &'a ExperimentPlan,
    /// The adapter.
    pub adapter: &'a str,
    /// The table.
    pub table: Vec<Row>,
    /// Every run.
    pub runs: &'a [RunResult],
}

/// The table's rows, in reading order.
pub fn rows(plan: &ExperimentPlan, results: &[RunResult]) -> Vec<Row> {
    let cols: Vec<String> = std::iter::once(NO_FINETUNE.to_string())
        .chain(
            plan.fractions
                .iter()
                .map(|&f| ExperimentPlan::fraction_name(f)),
        )
        .collect();
    let mut out = Vec::new();
    for pre in row_names(plan) {
        for col in &cols {
            let runs: Vec<&RunResult> = results
                .iter()
                .filter(|r| r.pretrain == *pre && r.finetune == *col)
                .collect();
            if runs.is_empty() {
                continue;
            }
            let of = |f: fn(&RunResult) -> f64| {
                Spread::of(&runs.iter().map(|r| f(r)).collect::<Vec<_>>())
            };
            let verbs = |kind: BenchmarkCaptions| {
                let v: Option<Vec<f64>> = runs
                    .iter()
                    .map(|r| {
                        let m = r.verbs.iter().find(|v| v.captions == kind)?;
                        Some(m.metrics.within_group.text_to_video.model.r1)
                    })
                    .collect();
                Spread::of(&v?)
            };
            out.push(Row {
                pretrain: pre.clone(),
                finetune: col.clone(),
                seeds: runs.len(),
                r1: of(|r| r.metrics.global.text_to_video.model.r1),
                r5: of(|r| r.metrics.global.text_to_video.model.r5),
                r10: of(|r| r.metrics.global.text_to_video.model.r10),
                within_r1: of(|r| r.metrics.within_group.text_to_video.model.r1),
                within_r1_verbs: verbs(BenchmarkCaptions::Verbs),
                within_r1_verbs_heldout: verbs(BenchmarkCaptions::VerbsHeldout),
                chance_r1: 100.0 * runs[0].metrics.global.text_to_video.chance.r1,
                chance_within_r1: 100.0 * runs[0].metrics.within_group.text_to_video.chance.r1,
            });
        }
    }
    out
}

/// Write results.json, the charts and report.html / report.md into `out`.
pub fn write(
    out: &Path,
    plan: &ExperimentPlan,
    adapter: &str,
    results: &[RunResult],
) -> Result<()> {
    let table = rows(plan, results);
    let json = Results {
        plan,
        adapter,
        table: table.clone(),
        runs: results,
    };
    crate::util::fs::write_atomic(
        out.join("results.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    // Every run is scored on the same benchmark, so one run's chance levels are everyone's.
    let Some(first) = results.first() else {
        anyhow::bail!("the experiment has no results to report");
    };
    let (global, within) = (
        first.metrics.global.text_to_video,
        first.metrics.within_group.text_to_video,
    );
    let mut r = Report::new("LocoMotion experiment: which captions teach motion?");
    r.paragraph(&format!(
        "The {} preset{}, {} pre-training steps and {} fine-tuning steps at batch {}, {} \
         seed(s), pre-training backgrounds: {}{}. Fine-tuning uses a downstream set of {} \
         clips of held-out objects with {} captions (everyday verbs). Every model is scored \
         on the motion benchmark ({} clips in {} groups of held-out objects on held-out \
         backgrounds, template captions, benchmark seed {}) on {}.",
        plan.preset,
        plan.frames
            .map_or(String::new(), |f| format!(" at {f} frames")),
        plan.steps,
        plan.finetune_steps,
        plan.batch,
        plan.seeds,
        plan.backgrounds,
        if plan.nonlinear { ", curved paths" } else { "" },
        plan.downstream_clips,
        plan.downstream_captions,
        first.metrics.clips,
        first.metrics.groups,
        plan.bench_seed,
        adapter
    ));
    r.paragraph(&verdict(&table));
    r.paragraph(&paraphrase_verdict(&table, ""));
    if let Some(t) = &plan.text_init {
        r.paragraph(&format!(
            "With a pretrained text encoder ({}, frozen, its first {} layer(s)): {}",
            t.dir.display(),
            t.layers,
            paraphrase_verdict(&table, PRETRAINED_TEXT)
        ));
    }
    r.heading(2, "Motion benchmark, text→video (mean ± std over seeds, %)");
    r.push(Element::Table(results_table(&table, &global, &within)));
    let bars: Vec<String> = std::iter::once(NO_FINETUNE.to_string())
        .chain(
            plan.fractions
                .iter()
                .map(|&f| ExperimentPlan::fraction_name(f)),
        )
        .collect();
    for (stem, title, chance, pick) in [
        (
            "r1",
            "Motion benchmark text-to-video R@1 (global)",
            &global,
            (|row: &Row| row.r1) as fn(&Row) -> Option<Spread>,
        ),
        (
            "within_r1",
            "Motion benchmark text-to-video R@1 (within group)",
            &within,
            |row: &Row| row.within_r1,
        ),
    ] {
        let names: Vec<&str> = bars.iter().map(String::as_str).collect();
        let mut chart = BarChart::new(title, &names)
            .y_label("R@1 (%)")
            .range(0.0, 100.0)
            .chance(
                100.0 * chance.chance.r1,
                &format!("chance {} %", pct(chance.chance.r1)),
            );
        for pre in row_names(plan) {
            let values: Vec<Option<MeanStd>> = bars
                .iter()
                .map(|b| {
                    table
                        .iter()
                        .find(|row| row.pretrain == pre && row.finetune == *b)
                        .and_then(|row| Spread::bar(pick(row)))
                })
                .collect();
            chart = chart.group(&pre, values);
        }
        r.chart(
            out,
            stem,
            &chart.scene(),
            &format!("{title}: mean ± std over seeds (error bars cut at 0 %), chance dashed"),
        )?;
    }
    r.heading(2, "Settings of this run");
    r.paragraph("Every setting the experiment ran with, as resolved from the command line and the defaults (also in plan.json).");
    r.push(Element::Table(settings_table(plan)));
    r.paragraph(
        "Raw numbers per run: results.json; each run's checkpoint, metrics.jsonl and \
         benchmark.json are under runs/. Re-running the same command skips finished runs.",
    );
    r.write(out)?;
    Ok(())
}

fn results_table(rows: &[Row], global: &DirectionMetrics, within: &DirectionMetrics) -> Table {
    // Every run is scored on one benchmark, so the chance levels are the same on every row;
    // they sit beside each number all the same, where a reader compares them.
    let mut t = Table::new(&[
        "pre-training",
        "fine-tuning",
        "seeds",
        "R@1",
        "chance",
        "R@5",
        "chance",
        "R@10",
        "chance",
        "within-group R@1",
        "verbs",
        "verbs held out",
        "chance",
    ])
    .muted(&[4, 6, 8, 12]);
    let c = &global.chance;
    for row in rows {
        t = t.row(vec![
            row.pretrain.clone(),
            row.finetune.clone(),
            row.seeds.to_string(),
            Spread::cell(row.r1),
            pct(c.r1),
            Spread::cell(row.r5),
            pct(c.r5),
            Spread::cell(row.r10),
            pct(c.r10),
            Spread::cell(row.within_r1),
            Spread::cell(row.within_r1_verbs),
            Spread::cell(row.within_r1_verbs_heldout),
            pct(within.chance.r1),
        ]);
    }
    t
}

/// How mean ± std `a` compares with `b` over seeds: "beats" when the difference is more than
/// twice the larger spread (the criterion), "is above" / "is below" beyond one spread,
/// else "is within the seeds' spread of".
fn compare(a: Spread, b: Spread) -> &'static str {
    let (d, noise) = (a.mean - b.mean, a.std.max(b.std));
    if d > 2.0 * noise {
        "beats"
    } else if d > noise {
        "is above (by less than twice the seeds' spread)"
    } else if d < -noise {
        "is below"
    } else {
        "is within the seeds' spread of"
    }
}

/// The verdict, computed from the table: per fine-tuning column, motion against spatial
/// captions on the within-group R@1 (the benchmark's motion measure), then on global R@1.
pub fn verdict(rows: &[Row]) -> String {
    let pairs: Vec<(&Row, &Row)> = rows
        .iter()
        .filter(|r| r.pretrain == "motion")
        .filter_map(|m| {
            rows.iter()
                .find(|r| r.pretrain == "spatial" && r.finetune == m.finetune)
                .map(|s| (m, s))
        })
        .collect();
    if pairs.is_empty() {
        return "No motion-vs-spatial comparison ran.".into();
    }
    let part = |m: &Row, s: &Row, pick: fn(&Row) -> Option<Spread>| -> Option<String> {
        let (a, b) = (pick(m)?, pick(s)?);
        Some(if m.seeds < 2 || s.seeds < 2 {
            format!(
                "{}: motion {:.1} % vs spatial {:.1} % (one seed: no spread to judge by)",
                m.finetune, a.mean, b.mean
            )
        } else {
            format!(
                "{}: motion {:.1} ± {:.1} % {} spatial {:.1} ± {:.1} %",
                m.finetune,
                a.mean,
                a.std,
                compare(a, b),
                b.mean,
                b.std
            )
        })
    };
    let within: Vec<String> = pairs
        .iter()
        .filter_map(|(m, s)| part(m, s, |r| r.within_r1))
        .collect();
    let global: Vec<String> = pairs
        .iter()
        .filter_map(|(m, s)| part(m, s, |r| r.r1))
        .collect();
    format!(
        "Do motion captions beat spatial captions on the motion benchmark? Within-group \
         text→video R@1 (chance {:.1} %), mean ± std over seeds: {}. Global text→video R@1 \
         (chance {:.1} %): {}.",
        pairs[0].0.chance_within_r1,
        within.join("; "),
        pairs[0].0.chance_r1,
        global.join("; ")
    )
}

/// A column of the table.
type Pick = fn(&Row) -> Option<Spread>;

/// The paraphrase verdict, computed from the table (no fine-tuning): motion + paraphrase
/// against plain motion pre-training on each benchmark caption kind, within groups. The
/// paper reports +5.7 R@1 for verb-variation paraphrases. `suffix` picks the pair:
/// "" for the preset's text encoder, [`PRETRAINED_TEXT`] for the pretrained one.
pub fn paraphrase_verdict(rows: &[Row], suffix: &str) -> String {
    let find = |pre: &str| {
        rows.iter()
            .find(|r| r.pretrain == format!("{pre}{suffix}") && r.finetune == NO_FINETUNE)
    };
    let (Some(para), Some(motion)) = (find("motion + paraphrase"), find("motion")) else {
        return "No paraphrase-vs-motion comparison ran.".into();
    };
    let kinds: [(&str, Pick); 3] = [
        ("template", |r| r.within_r1),
        ("verbs", |r| r.within_r1_verbs),
        ("verbs held out", |r| r.within_r1_verbs_heldout),
    ];
    let parts: Vec<String> = kinds
        .iter()
        .filter_map(|(name, pick)| {
            let (a, b) = (pick(para)?, pick(motion)?);
            let judged = if para.seeds < 2 || motion.seeds < 2 {
                "(one seed: no spread to judge by)"
            } else {
                compare(a, b)
            };
            Some(format!(
                "{name} captions: motion + paraphrase {:.1} ± {:.1} % {judged} motion {:.1} ± \
                 {:.1} % ({:+.1} points)",
                a.mean,
                a.std,
                b.mean,
                b.std,
                a.mean - b.mean
            ))
        })
        .collect();
    format!(
        "Do verb paraphrases help (the paper: +5.7 R@1)? Without fine-tuning, within-group \
         text→video R@1 (chance {:.1} %), mean ± std over seeds: {}.",
        motion.chance_within_r1,
        parts.join("; ")
    )
}
