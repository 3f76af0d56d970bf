//! `eval` beyond held-out clips: ranking a `generate --captions` folder, and re-ranking each
//! query's top K by the VTM head (`--rerank-vtm K`).

mod common;

use std::path::Path;
use std::process::Command;

use locomotion::eval::metrics::retrieval_metrics;
use locomotion::eval::rerank::vtm_pair_scores;
use locomotion::eval::retrieval::{EvalConfig, encode_set, load_run, report_model};
use locomotion::train::trainer::train;

/// A tiny checkpoint after two steps (enough for the heads to be trained parameters).
fn pretrain(out: &Path) {
    let cfg = common::tiny_run(out);
    train(&common::gpu(), &cfg).unwrap();
}

fn locomotion(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_locomotion"))
        .args(args)
        .output()
        .unwrap()
}

fn generate(dir: &Path, captions: bool) {
    let mut args = vec!["generate", "--clips", "6", "--size", "32", "--frames", "8"];
    if captions {
        args.push("--captions");
    }
    args.extend(["--out", dir.to_str().unwrap()]);
    let out = locomotion(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn eval_ranks_a_generate_folder_and_rejects_one_without_captions() {
    let (run, data, bare, json) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    pretrain(run.path());
    generate(data.path(), true);
    let json = json.path().join("m.json");
    let out = locomotion(&[
        "eval",
        "--checkpoint",
        run.path().to_str().unwrap(),
        "--data",
        data.path().to_str().unwrap(),
        "--batch",
        "4",
        "--rerank-vtm",
        "3",
        "--json",
        json.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("text→video") && stdout.contains("R@1 % (chance)"),
        "{stdout}"
    );
    assert!(stdout.contains("re-ranked by VTM (top 3"), "{stdout}");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    // Every clip of the folder is a query (6 clips, none capped by a --clips default).
    assert_eq!(m["text_to_video"]["queries"], 6, "{m}");
    let chance = m["text_to_video"]["chance"]["r1"].as_f64().unwrap();
    let want = motion_caption_chance_r1(data.path());
    assert!(
        (chance - want).abs() < 1e-12,
        "chance R@1 {chance}, expected {want}: {m}"
    );
    assert_eq!(m["rerank_vtm"]["k"], 3, "{m}");
    assert_eq!(m["rerank_vtm"]["video_to_text"]["queries"], 6, "{m}");

    // Without captions.jsonl: a one-line error naming the file.
    generate(bare.path(), false);
    let out = locomotion(&[
        "eval",
        "--checkpoint",
        run.path().to_str().unwrap(),
        "--data",
        bare.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("captions.jsonl"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn vtm_reranking_keeps_top_one_and_orders_everything_by_vtm_when_k_is_all() {
    let gpu = common::gpu();
    let run = tempfile::tempdir().unwrap();
    pretrain(run.path());
    let (model, tok) = load_run(&gpu, run.path()).unwrap();
    let n = 6;
    let cfg = |k: usize| EvalConfig {
        clips: n,
        batch: 4,
        captions: "motion".into(),
        seed: 2,
        progress: false,
        data: None,
        rerank_vtm: k,
    };
    // Re-ranking a single candidate cannot move anything.
    let one = report_model(&gpu, &model, tok.clone(), &cfg(1)).unwrap();
    let rr = one.rerank_vtm.as_ref().expect("re-ranked metrics");
    assert_eq!(rr.k, 1);
    assert_eq!(rr.metrics, one.vtc);

    // With K = all, the ranks are VTM's: score every pair through the same method.
    let all = report_model(&gpu, &model, tok.clone(), &cfg(n)).unwrap();
    let set = encode_set(&gpu, &model, tok, &cfg(n)).unwrap();
    assert_eq!(set.sim.len(), n * n);
    let pairs: Vec<(usize, usize)> = (0..n).flat_map(|t| (0..n).map(move |v| (t, v))).collect();
    let hidden = indicatif::ProgressBar::hidden();
    let states = set.states.as_ref().unwrap();
    let p = vtm_pair_scores(&gpu, &model, states, &pairs, 4, &hidden).unwrap();
    assert!(p.iter().all(|x| (0.0..=1.0).contains(x)), "{p:?}");
    assert!(
        p.iter().any(|&x| x != p[0]),
        "VTM scores differ between pairs: {p:?}"
    );
    let want = retrieval_metrics(&p, n, n, &set.targets).unwrap();
    // On this seed VTM orders differently from VTC, so a no-op re-ranker would fail here.
    assert_ne!(want, all.vtc, "pick a seed where VTM and VTC disagree");
    assert_eq!(all.rerank_vtm.unwrap().metrics, want);
}

/// Chance R@1 of ranking `dir`'s clips by their motion captions (captions.jsonl): a random
/// ranking puts one of the clips that share a query's caption first with probability
/// (clips with it) / N; the figure is the mean over queries.
fn motion_caption_chance_r1(dir: &Path) -> f64 {
    let captions: Vec<String> = std::fs::read_to_string(dir.join("captions.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["kind"] == "motion")
        .map(|r| r["caption"].as_str().unwrap().to_string())
        .collect();
    let n = captions.len() as f64;
    let share = |c: &String| captions.iter().filter(|d| *d == c).count() as f64 / n;
    captions.iter().map(share).sum::<f64>() / n
}
