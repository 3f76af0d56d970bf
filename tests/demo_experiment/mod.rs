//! `locomotion experiment`: every condition tabled and charted with chance, the verb caption
//! columns and verdicts, finished runs skipped, other settings refused.

use super::{eval_benchmark, fails_with, json, locomotion, read};

#[test]
fn experiment_tables_every_condition_charts_them_and_skips_finished_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("exp");
    let args = [
        "experiment",
        "--seeds",
        "1",
        "--steps",
        "2",
        "--finetune-steps",
        "2",
        "--batch",
        "4",
        "--downstream-clips",
        "6",
        "--groups",
        "2",
        "--per-group",
        "3",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--bench-seed",
        "5",
        "--finetune-lr",
        "7e-4",
        "--nonlinear",
    ];
    let (ok, stdout, err) = locomotion(&args);
    assert!(ok, "{err}");
    assert!(
        stdout.contains("motion") && stdout.contains("spatial"),
        "{stdout}"
    );
    let r = json(&out.join("results.json"));
    // The flags reach the plan, and fine-tuning steps at --finetune-lr (its last logged rate:
    // one warm-up step, then the peak).
    let plan = &r["plan"];
    assert_eq!(
        (&plan["bench_seed"], &plan["nonlinear"]),
        (&5.into(), &true.into())
    );
    // --nonlinear reaches the pre-training runs' data (the trainer stores what it generated
    // with), not the fine-tuning runs on the downstream folder.
    let nonlinear = |run: &str| {
        let c = json(&out.join(format!("runs/seed-0/{run}/checkpoint/config.json")));
        c["state"]["extra"]["nonlinear"].clone()
    };
    assert_eq!(nonlinear("pretrain-motion"), true);
    assert_eq!(nonlinear("motion-ft100"), false);
    // --bench-seed: the benchmark each run scored is seed 5's, not the default seed's.
    let pre = out.join("runs/seed-0/pretrain-motion");
    let scored = json(&pre.join("benchmark.json"));
    assert_eq!(
        eval_benchmark(&pre, Some(5)),
        scored,
        "--bench-seed 5 ignored"
    );
    let default = locomotion::train::recipe::BENCHMARK_SEED;
    assert_ne!(
        eval_benchmark(&pre, Some(default)),
        scored,
        "seeds 5 and {default} score alike"
    );
    let ft = read(&out.join("runs/seed-0/motion-ft100/metrics.jsonl"));
    let last: serde_json::Value = serde_json::from_str(ft.lines().last().unwrap()).unwrap();
    assert_eq!(last["lr"].as_f64(), Some(7e-4), "{last}");
    let rows: Vec<(String, String)> = r["table"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["pretrain"].as_str().unwrap().to_string(),
                row["finetune"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for pre in ["spatial", "motion", "motion + paraphrase", "scratch"] {
        for ft in ["no fine-tuning", "100 % data", "20 % data"] {
            let want = !(pre == "scratch" && ft == "no fine-tuning");
            let has = rows.iter().any(|(p, f)| p == pre && f == ft);
            assert_eq!(has, want, "row {pre} / {ft} in {rows:?}");
        }
    }
    for row in r["table"].as_array().unwrap() {
        for k in ["r1", "within_r1_verbs", "within_r1_verbs_heldout"] {
            let v = row[k]["mean"]
                .as_f64()
                .unwrap_or_else(|| panic!("{k} in {row}"));
            assert!((0.0..=100.0).contains(&v), "{row}");
        }
        // Groups of 3 motions: a caption matches one clip of its group, chance 1/3 exactly.
        let within = row["chance_within_r1"].as_f64().unwrap();
        assert!((within - 100.0 / 3.0).abs() < 1e-9, "{row}");
    }
    let md = read(&out.join("report.md"));
    for needle in [
        "motion + paraphrase",
        "scratch",
        "| chance |",
        "r1.png",
        "within_r1.png",
        "| verbs held out |",
        "Do verb paraphrases help",
    ] {
        assert!(md.contains(needle), "{needle} not in report.md");
    }
    for f in [
        "r1.svg",
        "r1.png",
        "within_r1.svg",
        "report.html",
        "downstream/manifest.jsonl",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // The same command again: every run is finished, nothing retrains.
    let log = out.join("runs/seed-0/pretrain-motion/metrics.jsonl");
    let before = std::fs::metadata(&log).unwrap().modified().unwrap();
    let (ok, _, err) = locomotion(&args);
    assert!(ok, "{err}");
    assert_eq!(std::fs::metadata(&log).unwrap().modified().unwrap(), before);
    // Other settings in the same folder are refused.
    let mut other = args.to_vec();
    other[4] = "3";
    fails_with(&other, "other settings");

    // --init-text adds the pretrained-text pair to the finished experiment: only those two
    // runs train (frozen, cut to --text-layers), tabled without fine-tuning, with a verdict.
    let Some(minilm) = crate::common::minilm::model_dir() else {
        return;
    };
    let mut with_text = args.to_vec();
    with_text.extend([
        "--init-text",
        minilm.to_str().unwrap(),
        "--text-layers",
        "1",
    ]);
    let (ok, stdout, err) = locomotion(&with_text);
    assert!(ok, "{err}");
    assert!(
        stdout.contains("With the pretrained text encoder: Do verb paraphrases help"),
        "{stdout}"
    );
    assert_eq!(std::fs::metadata(&log).unwrap().modified().unwrap(), before);
    let r = json(&out.join("results.json"));
    let text_rows: Vec<(String, String)> = r["table"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| {
            row["pretrain"]
                .as_str()
                .unwrap()
                .ends_with("(pretrained text)")
        })
        .map(|row| {
            (
                row["pretrain"].as_str().unwrap().to_string(),
                row["finetune"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = ["motion", "motion + paraphrase"].map(|p| {
        (
            format!("{p} (pretrained text)"),
            "no fine-tuning".to_string(),
        )
    });
    assert_eq!(text_rows, want.to_vec());
    for run in [
        "pretrain-motion-pretrained-text",
        "pretrain-motion-paraphrase-pretrained-text",
    ] {
        let c = json(&out.join(format!("runs/seed-0/{run}/checkpoint/config.json")));
        assert_eq!(c["model"]["text"]["num_hidden_layers"], 1, "{run}: {c}");
        assert_eq!(c["state"]["extra"]["freeze_text"], true, "{run}");
    }
    assert!(read(&out.join("report.md")).contains("With a pretrained text encoder"));
    // Another text model (or depth) in the same folder is refused while its runs are there,
    // naming them; once they are removed, only they train again, with the new one.
    let mut other_text = args.to_vec();
    other_text.extend([
        "--init-text",
        minilm.to_str().unwrap(),
        "--text-layers",
        "2",
    ]);
    fails_with(&other_text, "2 pretrained-text runs of --init-text");
    fails_with(&other_text, "--text-layers 1");
    for run in [
        "pretrain-motion-pretrained-text",
        "pretrain-motion-paraphrase-pretrained-text",
    ] {
        std::fs::remove_dir_all(out.join(format!("runs/seed-0/{run}"))).unwrap();
    }
    let (ok, _, err) = locomotion(&other_text);
    assert!(ok, "{err}");
    assert_eq!(std::fs::metadata(&log).unwrap().modified().unwrap(), before);
    for run in [
        "pretrain-motion-pretrained-text",
        "pretrain-motion-paraphrase-pretrained-text",
    ] {
        let c = json(&out.join(format!("runs/seed-0/{run}/checkpoint/config.json")));
        assert_eq!(c["model"]["text"]["num_hidden_layers"], 2, "{run}: {c}");
    }
    assert_eq!(json(&out.join("plan.json"))["text_init"]["layers"], 2);
}
