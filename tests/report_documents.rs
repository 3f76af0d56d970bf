//! Report documents: HTML and Markdown escaping, chart files written beside them, and
//! atomic writes that never leave half a file.

use std::fs;

use locomotion::report::markdown::escape_md;
use locomotion::report::{Clip, Element, LineChart, Report, Table};
use locomotion::util::fs::write_atomic;

// ---------------------------------------------------------------- documents

fn sample_report() -> Report {
    let mut report = Report::new("Demo & <test>");
    report.heading(2, "Clips").push(Element::Gallery(vec![Clip {
        name: "clip 0".into(),
        gif: "clips/clip 0.gif".into(),
        captions: vec![
            (
                "motion".into(),
                "<script>alert(1)</script> moves left & up".into(),
            ),
            ("spatial".into(), "a ball | on grass".into()),
        ],
        paraphrases: vec!["the ball rolls *quickly* left".into()],
    }]));
    report.push(Element::Table(
        Table::new(&["pre-training", "R@1"])
            .row(vec!["motion|para".into(), "40.0 ± 4.0".into()])
            .chance_column(vec!["2.5".into()]),
    ));
    report
}

#[test]
fn html_escapes_every_text() {
    let html = sample_report().to_html();
    assert!(!html.contains("<script>"), "script tag not escaped");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; moves left &amp; up"));
    assert!(html.contains("<title>Demo &amp; &lt;test&gt;</title>"));
    assert!(html.contains("src=\"clips/clip%200.gif\""));
    assert!(html.contains("<th class=\"chance\">chance</th>"));
    assert!(html.contains("<li>the ball rolls *quickly* left</li>"));
    // The paraphrase list is labelled, inside the clip's caption list.
    assert!(html.contains("<dt>paraphrases (of the motion caption)</dt><dd><ul"));
}

#[test]
fn markdown_table_escapes_pipes() {
    let md = sample_report().to_markdown();
    let row = md.lines().find(|l| l.starts_with("| motion")).unwrap();
    assert_eq!(
        row, "| motion\\|para | 40.0 ± 4.0 | *2.5* |",
        "chance in italics"
    );
    let unescaped = (row.match_indices('|')).filter(|&(i, _)| i == 0 || &row[i - 1..i] != "\\");
    assert_eq!(unescaped.count(), 4, "3 columns need 4 separators");
    assert!(md.contains("| pre-training | R@1 | chance |\n| --- | --- | --- |"));
    assert!(md.contains("\\<script\\>"));
    assert!(md.contains("![clip 0](clips/clip%200.gif)"));
    assert_eq!(escape_md("a\nb_c"), "a b\\_c");
}

#[test]
fn report_write_produces_both_documents_and_chart_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut report = sample_report();
    let scene = LineChart::new("R@1")
        .series("motion", vec![(0.0, 10.0), (1.0, 20.0)])
        .scene();
    report
        .chart(dir.path(), "retrieval", &scene, "R@1")
        .unwrap();
    let written = report.write(dir.path()).unwrap();
    let html = fs::read_to_string(&written.html).unwrap();
    assert!(html.contains("srcset=\"retrieval.svg\"") && html.contains("src=\"retrieval.png\""));
    assert!(
        fs::read_to_string(&written.markdown)
            .unwrap()
            .contains("(retrieval.png)")
    );
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["report.html", "report.md", "retrieval.png", "retrieval.svg"]
    );
}

// ---------------------------------------------------------------- atomic writes

#[test]
fn write_atomic_replaces_whole_file_and_leaves_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.jsonl");
    write_atomic(&path, b"first version, longer").unwrap();
    write_atomic(&path, b"second").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"second");
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "temp file left behind"
    );
}

#[test]
fn write_atomic_refuses_missing_folder_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-folder");
    let err = write_atomic(missing.join("report.html"), b"x").unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains(&missing.display().to_string()), "{msg}");
    assert!(!msg.contains('\n'), "one-line error: {msg}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn write_atomic_cleans_up_when_the_rename_fails() {
    let dir = tempfile::tempdir().unwrap();
    let taken = dir.path().join("report.html");
    fs::create_dir(taken.join("")).unwrap();
    fs::write(taken.join("keep"), b"x").unwrap();
    let err = write_atomic(&taken, b"<html>").unwrap_err();
    assert!(format!("{err:#}").contains(&taken.display().to_string()));
    let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "temp file left behind after a failed rename");
}

#[test]
fn report_write_into_missing_folder_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("demo-out");
    let err = sample_report().write(&missing).unwrap_err();
    assert!(format!("{err:#}").contains(&missing.display().to_string()));
}

#[test]
fn the_experiment_verdict_follows_the_numbers() {
    use locomotion::experiment::comparison_report::{Row, Spread, paraphrase_verdict, verdict};
    let row = |pre: &str, ft: &str, within: (f64, f64), global: (f64, f64)| Row {
        pretrain: pre.into(),
        finetune: ft.into(),
        seeds: 3,
        r1: Some(Spread {
            mean: global.0,
            std: global.1,
        }),
        r5: None,
        r10: None,
        within_r1: Some(Spread {
            mean: within.0,
            std: within.1,
        }),
        within_r1_verbs: None,
        within_r1_verbs_heldout: None,
        chance_r1: 2.0,
        chance_within_r1: 25.0,
    };
    let rows = [
        row("spatial", "no fine-tuning", (24.7, 4.5), (2.1, 1.8)),
        row("spatial", "20 % data", (25.0, 2.1), (3.0, 0.2)),
        row("motion", "no fine-tuning", (54.9, 5.2), (3.6, 1.8)),
        // Above by more than one spread but less than two: not "beats".
        row("motion", "20 % data", (28.0, 2.1), (1.0, 0.1)),
    ];
    let v = verdict(&rows);
    assert!(
        v.contains("no fine-tuning: motion 54.9 ± 5.2 % beats spatial 24.7 ± 4.5 %"),
        "{v}"
    );
    assert!(
        v.contains("20 % data: motion 28.0 ± 2.1 % is above (by less than twice"),
        "{v}"
    );
    assert!(
        v.contains("chance 25.0 %") && v.contains("chance 2.0 %"),
        "{v}"
    );
    assert!(
        v.contains("no fine-tuning: motion 3.6 ± 1.8 % is within the seeds' spread of spatial"),
        "{v}"
    );
    assert!(
        v.contains("20 % data: motion 1.0 ± 0.1 % is below spatial"),
        "{v}"
    );
    assert_eq!(verdict(&rows[..2]), "No motion-vs-spatial comparison ran.");
    // The paraphrase verdict: each caption kind's gap in points, judged by the spread.
    let spread = |mean, std| Some(Spread { mean, std });
    let mut para = row(
        "motion + paraphrase",
        "no fine-tuning",
        (50.0, 2.0),
        (3.0, 1.0),
    );
    (para.within_r1_verbs, para.within_r1_verbs_heldout) = (spread(40.0, 1.0), spread(30.0, 3.0));
    let mut motion = rows[2].clone();
    (motion.within_r1_verbs, motion.within_r1_verbs_heldout) =
        (spread(30.0, 2.0), spread(29.0, 2.0));
    let v = paraphrase_verdict(&[motion.clone(), para], "");
    assert!(
        v.contains("template captions: motion + paraphrase 50.0 ± 2.0 % is within the seeds' spread of motion 54.9 ± 5.2 % (-4.9 points)"),
        "{v}"
    );
    assert!(v.contains("verbs captions: motion + paraphrase 40.0 ± 1.0 % beats motion 30.0 ± 2.0 % (+10.0 points)"), "{v}");
    assert!(
        v.contains("verbs held out captions: motion + paraphrase 30.0 ± 3.0 % is within"),
        "{v}"
    );
    assert!(v.contains("+5.7") && v.contains("chance 25.0 %"), "{v}");
    assert_eq!(
        paraphrase_verdict(&[motion], ""),
        "No paraphrase-vs-motion comparison ran."
    );
}
