//! `locomotion demo`, the motion benchmark (`eval --benchmark motion`) and `locomotion
//! experiment` as a user meets them: the files they write, what the reports show, chance
//! levels, resuming, and one-line errors. Every run is tiny (2 steps, a handful of clips).

mod common;
mod demo_experiment;
mod demo_probe;

use std::path::Path;
use std::process::Command;

use locomotion::eval::motion_benchmark::{
    BenchmarkCaptions, BenchmarkConfig, benchmark_captions, benchmark_model,
};
use locomotion::eval::retrieval::caption_groups;
use locomotion::model::config::ModelConfig;
use locomotion::model::locomotion::LocoModel;
use locomotion::train::data::{EvalSet, LibrarySplit};
use locomotion::train::motion_options::generation;
use locomotion::train::motion_options::{BackgroundChoice, MotionOptions};
use locomotion::train::setup::train_tokenizer;

fn locomotion(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_locomotion"))
        .args(args)
        .output()
        .expect("run locomotion");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fails_with(args: &[&str], needle: &str) {
    let (ok, out, err) = locomotion(args);
    assert!(!ok, "{args:?} succeeded: {out}");
    assert!(err.contains(needle), "{args:?}: {err}");
    assert_eq!(
        err.trim().lines().count(),
        1,
        "{args:?}: one line, got {err}"
    );
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&read(path)).unwrap()
}

/// `eval --benchmark motion` of the run in `run` on a benchmark of 2 groups of 3 (seed
/// `seed`, or eval's default): the report its --json writes.
fn eval_benchmark(run: &Path, seed: Option<u64>) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let bench = dir.path().join("bench.json");
    let (run, seed) = (run.to_str().unwrap(), seed.map(|s| s.to_string()));
    let mut args = vec!["eval", "--checkpoint", run, "--benchmark", "motion"];
    args.extend([
        "--groups",
        "2",
        "--per-group",
        "3",
        "--json",
        bench.to_str().unwrap(),
    ]);
    if let Some(s) = &seed {
        args.extend(["--bench-seed", s]);
    }
    let (ok, _, err) = locomotion(&args);
    assert!(ok, "{err}");
    json(&bench)
}

const DEMO: &[&str] = &[
    "demo",
    "--steps",
    "2",
    "--batch",
    "4",
    "--clips",
    "3",
    "--size",
    "48",
    "--eval-clips",
    "8",
    "--groups",
    "2",
    "--per-group",
    "3",
    "--quiet",
];

#[test]
fn demo_writes_a_report_with_gifs_captions_loss_curves_and_chance() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo-out");
    let mut args = DEMO.to_vec();
    args.extend(["--out", out.to_str().unwrap()]);
    let (ok, stdout, err) = locomotion(&args);
    assert!(ok, "{err}");
    assert!(stdout.contains("report.html"), "{stdout}");
    // The closing summary line: held-out R@1 and the benchmark's within-group and global R@1,
    // each beside its chance level.
    let line = stdout
        .lines()
        .find(|l| l.starts_with("held-out text→video R@1"))
        .unwrap_or_else(|| panic!("no summary line in {stdout}"));
    assert!(
        line.contains("within-group R@1") && line.contains("global R@1"),
        "{line}"
    );
    assert_eq!(line.matches("(chance ").count(), 3, "{line}");
    // Then the same benchmark with verb captions, chance beside each.
    for kind in ["verbs", "verbs-heldout"] {
        let l = stdout
            .lines()
            .find(|l| l.contains(&format!("with {kind} captions: within-group R@1")))
            .unwrap_or_else(|| panic!("no {kind} line in {stdout}"));
        assert!(l.contains("(chance 33.3 %)"), "{l}");
    }
    let (html, md) = (read(&out.join("report.html")), read(&out.join("report.md")));
    // Every preview clip: its GIF exists and both reports show it beside its captions.
    let captions: Vec<serde_json::Value> = read(&out.join("data/captions.jsonl"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let manifest = read(&out.join("data/manifest.jsonl"));
    assert_eq!(manifest.lines().count(), 3);
    for line in manifest.lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        let gif = format!("data/{}", e["gif"].as_str().unwrap());
        assert!(out.join(&gif).is_file(), "{gif} missing");
        assert!(
            html.contains(&gif) && md.contains(&gif),
            "{gif} not in the reports"
        );
        let id = e["id"].as_str().unwrap();
        let motion = captions
            .iter()
            .find(|c| c["id"] == id && c["kind"] == "motion")
            .expect("a motion caption per clip");
        assert!(md.contains(motion["caption"].as_str().unwrap()));
        let para = motion["paraphrases"][0].as_str().expect("paraphrases");
        assert!(md.contains(para), "paraphrase {para:?} not in report.md");
    }
    // The loss curves as images, from the run's metrics.
    for f in [
        "losses.svg",
        "losses.png",
        "run/metrics.jsonl",
        "run/checkpoint/config.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    assert!(html.contains("losses.svg") && md.contains("losses.png"));
    // Retrieval tables with a chance column; held-out chance R@1 is 1/8 (captions distinct).
    assert!(md.contains("| chance |"), "{md}");
    assert!(md.contains("Motion benchmark") && md.contains("Within group"));
    assert!(
        md.contains("Verb captions") && md.contains("| verbs-heldout |"),
        "{md}"
    );
    let r = json(&out.join("results.json"));
    let c = r["heldout"]["text_to_video"]["chance"]["r1"]
        .as_f64()
        .unwrap();
    assert!((c - 1.0 / 8.0).abs() < 1e-12, "chance R@1 {c}");
    assert_eq!(r["plan"]["steps"], 2);
    // The benchmark is drawn from the held-out seed of the training seed, and says so.
    let seed = r["plan"]["seed"].as_u64().unwrap();
    assert_eq!(
        r["plan"]["bench_seed"].as_u64(),
        Some(locomotion::train::recipe::benchmark_seed(seed))
    );
    assert_ne!(r["plan"]["bench_seed"].as_u64(), Some(seed));
    assert!(
        md.contains(&format!("benchmark seed {}", 1000 + seed)),
        "{md}"
    );
    // `eval --benchmark motion` with its default --bench-seed scores the very benchmark the
    // demo scored (docs/evaluation.md's "Reproduce it" relies on it).
    let run = out.join("run");
    assert_eq!(
        eval_benchmark(&run, None),
        r["benchmark"],
        "eval's benchmark is not the demo's"
    );
    // A second demo into the same folder is refused, with --force it runs; here with
    // another benchmark seed and a longer background fade.
    fails_with(&args, "--force");
    let last_vtc = |out: &Path| {
        let log = read(&out.join("run/metrics.jsonl"));
        let last: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
        last["vtc"].as_f64().unwrap()
    };
    let faded = last_vtc(&out);
    args.extend(["--force", "--bench-seed", "77", "--background-fade", "4"]);
    let (ok, _, err) = locomotion(&args);
    assert!(ok, "{err}");
    let r = json(&out.join("results.json"));
    assert_eq!(r["plan"]["bench_seed"], 77);
    // The benchmark it scored is seed 77's, not the default seed's.
    assert_eq!(
        eval_benchmark(&run, Some(77)),
        r["benchmark"],
        "--bench-seed 77 ignored"
    );
    assert_ne!(
        eval_benchmark(&run, Some(1000 + seed)),
        r["benchmark"],
        "seeds 77 and {} score alike",
        1000 + seed
    );
    // Step 2 (the one logged; step 1 trains nothing in warm-up) has its full backgrounds with
    // the default fade (half of --steps) and none over 4 steps: the losses differ, and the
    // trainer was given 4 fade steps.
    assert_ne!(last_vtc(&out), faded, "--background-fade 4 ignored");
    let ckpt = json(&out.join("run/checkpoint/config.json"));
    assert_eq!(ckpt["state"]["extra"]["background_fade"], 4, "{ckpt}");
}

#[test]
fn motion_benchmark_chance_is_one_over_the_candidates_and_metrics_are_shares() {
    let gpu = common::gpu();
    let mut cfg = ModelConfig::preset("tiny").unwrap();
    let tok = train_tokenizer(&cfg, 3).unwrap();
    cfg.text.vocab_size = tok.vocab_size();
    let model = LocoModel::random(&gpu, &cfg, 3, None).unwrap();
    let bench = BenchmarkConfig {
        groups: 3,
        per_group: 4,
        batch: 5,
        seed: 11,
        captions: BenchmarkCaptions::Template,
        progress: false,
    };
    let m = benchmark_model(&gpu, &model, tok.clone(), &bench).unwrap();
    let g = generation(&cfg);
    let set = EvalSet::motion_benchmark(11, 3, 4, &g, &LibrarySplit::builtin(&g));
    let n = set.clips.len();
    assert_eq!((m.clips, m.groups), (n, 3));
    assert_eq!(n, 12, "three full groups of four motions");
    // Within a group a caption has one match among 4 clips; globally a template caption
    // matches every clip with the same text, so chance R@1 is the mean of m/N.
    let within = m.within_group.text_to_video.chance.r1;
    assert!(
        (within - 0.25).abs() < 1e-12,
        "within-group chance {within}"
    );
    let groups = caption_groups(&set.captions);
    let expected: f64 = (0..n)
        .map(|i| groups.iter().filter(|&&g| g == groups[i]).count() as f64 / n as f64)
        .sum::<f64>()
        / n as f64;
    let global = m.global.text_to_video.chance.r1;
    assert!((global - expected).abs() < 1e-12, "{global} vs {expected}");
    assert!(global >= 1.0 / n as f64);
    for d in [
        m.global.text_to_video,
        m.global.video_to_text,
        m.within_group.text_to_video,
        m.within_group.video_to_text,
    ] {
        for x in [d.model.r1, d.model.r5, d.model.r10] {
            assert!((0.0..=1.0).contains(&x), "{d:?}");
        }
        assert!(d.model.r1 <= d.model.r5 && d.model.r5 <= d.model.r10);
        assert!(d.model.median_rank >= 1.0 && d.model.median_rank <= n as f64);
    }
    // The verb captions score the same clips: their own captions, the same within-group
    // chance (one match among 4), a global chance from their own caption texts.
    for kind in [BenchmarkCaptions::Verbs, BenchmarkCaptions::VerbsHeldout] {
        let caps = benchmark_captions(&set.clips, &set.captions, kind, 11);
        assert_eq!(caps.len(), n);
        assert!(
            caps.iter().zip(&set.captions).all(|(v, t)| v != t),
            "{caps:?}"
        );
        let cfg = BenchmarkConfig {
            captions: kind,
            ..bench.clone()
        };
        let v = benchmark_model(&gpu, &model, tok.clone(), &cfg).unwrap();
        assert_eq!((v.clips, v.groups), (n, 3));
        assert!((v.within_group.text_to_video.chance.r1 - 0.25).abs() < 1e-12);
        let groups = caption_groups(&caps);
        let expected: f64 = (0..n)
            .map(|i| groups.iter().filter(|&&g| g == groups[i]).count() as f64 / n as f64)
            .sum::<f64>()
            / n as f64;
        assert!((v.global.text_to_video.chance.r1 - expected).abs() < 1e-12);
        assert_ne!(v, m, "{kind:?} scored exactly as the template captions");
    }
}

#[test]
fn eval_benchmark_motion_prints_chance_beside_every_figure() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let run_s = run.to_str().unwrap();
    let (ok, _, err) = locomotion(&[
        "pretrain", "--steps", "1", "--batch", "2", "--quiet", "--out", run_s,
    ]);
    assert!(ok, "{err}");
    let js = dir.path().join("bench.json");
    let bench = |extra: &[&str]| {
        let mut args = vec![
            "eval",
            "--checkpoint",
            run_s,
            "--benchmark",
            "motion",
            "--groups",
            "2",
            "--per-group",
            "5",
        ];
        args.extend(extra);
        locomotion(&args)
    };
    let (ok, out, err) = bench(&["--json", js.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("within group"), "{out}");
    // 5 clips per group: within-group chance R@1 is 20.0 %, printed in every direction row.
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("text→video"))
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows[1].contains("( 20.0)"), "{out}");
    let v = json(&js);
    let c = v["within_group"]["text_to_video"]["chance"]["r1"]
        .as_f64()
        .unwrap();
    assert!((c - 0.2).abs() < 1e-12, "within-group chance {c}");
    let (ok, out, err) = bench(&["--benchmark-captions", "verbs-heldout"]);
    assert!(ok, "{err}");
    assert!(out.contains("(verbs-heldout captions)"), "{out}");
    fails_with(
        &["eval", "--checkpoint", run_s, "--benchmark", "ssv2"],
        "--benchmark",
    );
    fails_with(
        &[
            "eval",
            "--checkpoint",
            run_s,
            "--benchmark",
            "motion",
            "--per-group",
            "1",
        ],
        "--per-group",
    );
}

#[test]
fn bad_flags_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o = out.to_str().unwrap();
    fails_with(&["demo", "--out", o, "--steps", "0"], "--steps");
    fails_with(&["demo", "--out", o, "--batch", "1"], "--batch");
    fails_with(&["demo", "--out", o, "--preset", "huge"], "huge");
    fails_with(&["demo", "--out", o, "--size", "8"], "--size");
    fails_with(&["demo", "--out", o, "--captions", "poetry"], "--captions");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    fails_with(&["demo", "--out", o, "--steps", "1"], "not empty");
    fails_with(&["experiment", "--out", o, "--steps", "1"], "not empty");
    assert_eq!(read(&out.join("keep.txt")), "mine");
    let e = dir.path().join("e");
    let e = e.to_str().unwrap();
    fails_with(
        &["experiment", "--out", e, "--fractions", "1,2"],
        "--fractions",
    );
    fails_with(
        &["experiment", "--out", e, "--fractions", "all"],
        "--fractions",
    );
    fails_with(
        &["experiment", "--out", e, "--backgrounds", "/no/such/dir"],
        "--backgrounds",
    );
    fails_with(&["experiment", "--out", e, "--frames", "3"], "--frames");
    fails_with(&["experiment", "--out", e, "--seeds", "0"], "--seeds");
    assert!(
        !Path::new(e).exists(),
        "a refused experiment writes nothing"
    );
}

#[test]
fn black_backgrounds_replace_the_training_scenes_only() {
    let g = generation(&ModelConfig::preset("tiny").unwrap());
    let builtin = LibrarySplit::builtin(&g);
    let black = MotionOptions {
        backgrounds: BackgroundChoice::Black,
        nonlinear: true,
        objects: None,
    };
    let split = black.split(&g).unwrap();
    assert_eq!(split.train_backgrounds.len(), 1);
    let px = &split.train_backgrounds.videos[0].frames[0];
    assert_eq!(px.len(), (g.height * g.width * 4) as usize);
    assert!(px.chunks(4).all(|p| p == [0, 0, 0, 255]));
    // Evaluation keeps the built-in held-out scenes whatever training uses.
    assert_eq!(
        split.heldout_backgrounds.len(),
        builtin.heldout_backgrounds.len()
    );
    assert!(
        black
            .generation(&ModelConfig::preset("tiny").unwrap())
            .nonlinear
    );
    assert!(BackgroundChoice::parse("procedural").unwrap() == BackgroundChoice::Procedural);
    assert!(BackgroundChoice::parse("/no/such/dir").is_err());
}
