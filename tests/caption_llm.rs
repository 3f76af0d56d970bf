//! The LLM paraphraser against a small OpenAI-compatible server that the test starts on
//! 127.0.0.1: success, the cache, batching, fact-check rejections, retry after a 500, a
//! refused request, an unreachable endpoint and a silent one within the timeout, and the
//! `describe --llm-url … --llm-fallback` command line.

mod caption_gen;
mod common;
mod llm_server;

use std::collections::HashMap;
use std::io::Read;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use caption_gen::random_clip;
use common::read_jsonl;
use llm_server::{Reply, Seen, serve};
use locomotion::caption::llm::{LlmConfig, LlmParaphraser};
use locomotion::caption::{CaptionKind, Paraphraser, Paraphrases, describe};
use locomotion::motion::params::{ClipParams, ManifestEntry};

/// An LLM that answers each caption with two true paraphrases (from the lexicon) and one
/// that turns "left" into "right" or "quickly" into "slowly" — a changed motion fact.
fn honest_but_sloppy(clips: &[ClipParams]) -> Arc<Reply> {
    let p = Paraphraser::default();
    let mut answers: HashMap<String, Vec<String>> = HashMap::new();
    for (i, c) in clips.iter().enumerate() {
        let caption = describe(c, CaptionKind::Motion);
        let mut good = p.paraphrase(c, 2, i as u64);
        let bad = if caption.contains(" to the left") {
            caption.replacen(" to the left", " to the right", 1)
        } else if caption.contains("quickly") {
            caption.replacen("quickly", "slowly", 1)
        } else {
            format!("{} Then it zooms up.", caption.trim_end_matches('.'))
        };
        good.push(bad);
        answers.insert(caption, good);
    }
    Arc::new(move |_, caps: &[String]| {
        let a: Vec<&Vec<String>> = caps.iter().map(|c| &answers[c]).collect();
        (
            200,
            format!("Here you are:\n{}", serde_json::to_string(&a).unwrap()),
        )
    })
}

fn config(url: &str, cache: Option<std::path::PathBuf>) -> LlmConfig {
    let mut cfg = LlmConfig::new(url, "tiny-model");
    cfg.api_key = Some("secret".into());
    cfg.timeout = Duration::from_secs(5);
    cfg.backoff = Duration::from_millis(50);
    cfg.cache = cache;
    cfg
}

fn captions(clips: &[ClipParams]) -> Vec<String> {
    clips
        .iter()
        .map(|c| describe(c, CaptionKind::Motion))
        .collect()
}

#[test]
fn paraphrases_are_fact_checked_cached_and_batched() {
    let clips: Vec<ClipParams> = (0..5).map(random_clip).collect();
    let (url, seen) = serve(honest_but_sloppy(&clips));
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache.jsonl");
    let refs: Vec<&ClipParams> = clips.iter().collect();
    let caps = captions(&clips);
    let caps: Vec<&str> = caps.iter().map(String::as_str).collect();

    let mut cfg = config(&url, Some(cache.clone()));
    cfg.batch = 2;
    let parser = Paraphraser::default().parser().clone();
    let mut llm = LlmParaphraser::new(cfg.clone(), parser.clone()).unwrap();
    let out = llm.paraphrase(&refs, &caps, 4).unwrap();
    for (i, p) in out.iter().enumerate() {
        assert_eq!(p.texts.len(), 2, "clip {i}: {:?}", p.texts);
        assert_eq!(p.rejected, 1, "clip {i}: the changed fact must be rejected");
    }
    assert_eq!((llm.stats.accepted, llm.stats.rejected), (10, 5));
    {
        let s = seen.lock().unwrap();
        assert_eq!(s.captions_per_request, vec![2, 2, 1], "batches of 2");
        assert!(s.auth.iter().all(|a| a == "Bearer secret"), "{:?}", s.auth);
    }

    // A rerun asks nothing: every caption is in the cache.
    let mut again = LlmParaphraser::new(cfg, parser).unwrap();
    let out2 = again.paraphrase(&refs, &caps, 4).unwrap();
    assert_eq!(out2, out);
    assert_eq!(seen.lock().unwrap().requests, 3);
    assert_eq!((again.stats.cache_hits, again.stats.requests), (5, 0));
}

/// The clip of `seed` paraphrased through a server whose first answer is `first` (status,
/// content) and whose later ones are [`honest_but_sloppy`]: the paraphrases and what the
/// server saw.
fn after_first_answer(seed: u64, first: (u16, &'static str)) -> (Paraphrases, Seen) {
    let clips = vec![random_clip(seed)];
    let good = honest_but_sloppy(&clips);
    let reply: Arc<Reply> = Arc::new(move |i, caps: &[String]| {
        if i == 0 {
            (first.0, first.1.into())
        } else {
            good(i, caps)
        }
    });
    let (url, seen) = serve(reply);
    let mut llm =
        LlmParaphraser::new(config(&url, None), Paraphraser::default().parser().clone()).unwrap();
    let caps = captions(&clips);
    let mut out = llm
        .paraphrase(&[&clips[0]], &[caps[0].as_str()], 4)
        .unwrap();
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    (out.remove(0), seen)
}

#[test]
fn a_500_is_retried_and_then_succeeds() {
    let (out, seen) = after_first_answer(1, (500, "{\"error\":\"overloaded\"}"));
    assert_eq!(out.texts.len(), 2);
    assert_eq!(seen.captions_per_request, vec![1, 1]);
}

#[test]
fn an_off_format_answer_is_asked_again() {
    let (out, seen) = after_first_answer(4, (200, "Sorry, I cannot do that."));
    assert_eq!((out.texts.len(), out.rejected), (2, 1));
    assert_eq!(seen.requests, 2);
}

#[test]
fn a_refused_request_fails_at_once_and_names_the_fix() {
    let reply: Arc<Reply> = Arc::new(|_, _: &[String]| (401, "{\"error\":\"bad key\"}".into()));
    let (url, seen) = serve(reply);
    let clip = random_clip(2);
    let caption = describe(&clip, CaptionKind::Motion);
    let mut llm =
        LlmParaphraser::new(config(&url, None), Paraphraser::default().parser().clone()).unwrap();
    let e = llm
        .paraphrase(&[&clip], &[caption.as_str()], 4)
        .unwrap_err();
    let msg = format!("{e:#}");
    assert!(
        msg.contains("HTTP 401") && msg.contains("LOCOMOTION_LLM_API_KEY"),
        "{msg}"
    );
    assert_eq!(seen.lock().unwrap().requests, 1, "no retry on a 4xx");
}

fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    url
}

/// How far past its own deadline a call may return on a machine loaded 8-deep on 2 cores: a
/// bound that only a call ignoring its deadline (hanging on a silent server) exceeds.
const LOADED: Duration = Duration::from_secs(20);

#[test]
fn unreachable_and_silent_endpoints_fail_within_the_timeout() {
    let clip = random_clip(3);
    let caption = describe(&clip, CaptionKind::Motion);
    let parser = Paraphraser::default().parser().clone();

    let url = closed_port();
    let mut cfg = config(&url, None);
    cfg.timeout = Duration::from_secs(2);
    let t = Instant::now();
    let e = LlmParaphraser::new(cfg, parser.clone())
        .unwrap()
        .paraphrase(&[&clip], &[caption.as_str()], 4)
        .unwrap_err();
    let msg = format!("{e:#}");
    assert!(
        t.elapsed() < Duration::from_secs(2) + LOADED,
        "{:?}",
        t.elapsed()
    );
    assert!(
        msg.contains(&url) && msg.contains("--llm-fallback"),
        "{msg}"
    );

    // A server that accepts and never answers: it notes when the client hangs up.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (hung_up, closes) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().filter_map(Result::ok) {
            let hung_up = hung_up.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while stream.read(&mut buf).is_ok_and(|n| n > 0) {}
                let _ = hung_up.send(Instant::now());
            });
        }
    });
    let mut cfg = config(&url, None);
    cfg.timeout = Duration::from_millis(800);
    let t = Instant::now();
    let e = LlmParaphraser::new(cfg, parser)
        .unwrap()
        .paraphrase(&[&clip], &[caption.as_str()], 4)
        .unwrap_err();
    assert!(
        t.elapsed() < Duration::from_millis(800) + LOADED,
        "{:?}",
        t.elapsed()
    );
    assert!(format!("{e:#}").contains("failed after"), "{e:#}");
    // The request was abandoned, and not before its deadline: the client hung up on the
    // silent server at 0.8 s or later (the connection is closed by then: the call returned).
    let closed = closes
        .recv_timeout(LOADED)
        .expect("the client never hung up on the silent server");
    let held = closed - t;
    assert!(held >= Duration::from_millis(750), "hung up after {held:?}");
}

// --- the command line ---------------------------------------------------------------------

fn write_manifest(dir: &std::path::Path, clips: &[ClipParams]) -> std::path::PathBuf {
    let path = dir.join("manifest.jsonl");
    let lines: Vec<String> = clips
        .iter()
        .map(|c| {
            serde_json::to_string(&ManifestEntry {
                id: c.id.clone(),
                gif: None,
                frames_dir: None,
                params: c.clone(),
            })
            .unwrap()
        })
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn locomotion(args: &[&str], key: Option<&str>) -> (bool, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_locomotion"));
    cmd.args(args).env_remove("LOCOMOTION_LLM_API_KEY");
    if let Some(k) = key {
        cmd.env("LOCOMOTION_LLM_API_KEY", k);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn describe_with_an_llm_counts_rejections_in_the_output() {
    let clips: Vec<ClipParams> = (10..13).map(random_clip).collect();
    let (url, seen) = serve(honest_but_sloppy(&clips));
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(dir.path(), &clips);
    let m = manifest.to_str().unwrap();
    let (ok, err) = locomotion(
        &[
            "describe",
            m,
            "--kind",
            "motion",
            "--llm-url",
            &url,
            "--llm-model",
            "tiny",
        ],
        Some("k-123"),
    );
    assert!(ok, "{err}");
    assert!(err.contains("6 accepted, 3 rejected"), "{err}");
    assert_eq!(
        seen.lock().unwrap().auth,
        vec!["Bearer k-123"],
        "the key comes from the environment"
    );
    let recs: Vec<serde_json::Value> = read_jsonl(dir.path().join("captions.jsonl"));
    assert_eq!(recs.len(), 3);
    for r in &recs {
        assert_eq!(r["kind"], "motion");
        assert_eq!(r["rejected"], 1);
        assert_eq!(r["paraphrases"].as_array().unwrap().len(), 2);
    }
    assert!(dir.path().join("llm-cache.jsonl").exists());

    // --llm-batch 2 splits the 3 captions 2 + 1; --llm-cache puts the cache where it says,
    // and a second run answers from it without a request.
    let cache = dir.path().join("elsewhere.jsonl");
    let mut args = vec!["describe", m, "--kind", "motion", "--llm-url", &url];
    args.extend(["--llm-model", "tiny", "--llm-batch", "2", "--llm-cache"]);
    args.push(cache.to_str().unwrap());
    for _ in 0..2 {
        let (ok, err) = locomotion(&args, None);
        assert!(ok, "{err}");
    }
    assert_eq!(seen.lock().unwrap().captions_per_request, [3, 2, 1]);
    assert!(cache.is_file(), "--llm-cache ignored");
}

#[test]
fn describe_asks_a_failing_endpoint_llm_retries_more_times() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(dir.path(), &[random_clip(30)]);
    for (retries, requests) in [("0", 1), ("2", 3)] {
        let (url, seen) = serve(Arc::new(|_, _| (500, "{}".into())));
        let m = manifest.to_str().unwrap();
        let mut args = vec!["describe", m, "--llm-url", &url, "--llm-model", "tiny"];
        args.extend(["--llm-timeout", "20", "--llm-retries", retries]);
        let (ok, err) = locomotion(&args, None);
        assert!(!ok && err.contains("failed after"), "{err}");
        assert_eq!(
            seen.lock().unwrap().requests,
            requests,
            "--llm-retries {retries}"
        );
    }
}

#[test]
fn describe_falls_back_to_the_lexicon_only_when_asked() {
    let clips: Vec<ClipParams> = (20..22).map(random_clip).collect();
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(dir.path(), &clips);
    let m = manifest.to_str().unwrap();
    let url = closed_port();
    let base = [
        "describe",
        m,
        "--llm-url",
        &url,
        "--llm-model",
        "tiny",
        "--llm-timeout",
        "1",
    ];
    let t = Instant::now();
    let (ok, err) = locomotion(&base, None);
    assert!(
        !ok && err.starts_with("error: LLM endpoint") && err.contains("--llm-fallback"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    // --llm-timeout 1 against a closed port: a refusal, never a hang.
    assert!(
        t.elapsed() < Duration::from_secs(1) + LOADED,
        "{:?}",
        t.elapsed()
    );
    assert!(
        !dir.path().join("captions.jsonl").exists(),
        "nothing written on failure"
    );

    let (ok, err) = locomotion(&[&base[..], &["--llm-fallback"]].concat(), None);
    assert!(ok, "{err}");
    assert!(err.contains("falling back to the lexicon"), "{err}");
    let recs: Vec<serde_json::Value> = read_jsonl(dir.path().join("captions.jsonl"));
    let motion: Vec<_> = recs.iter().filter(|r| r["kind"] == "motion").collect();
    assert_eq!(motion.len(), 2);
    assert!(
        motion
            .iter()
            .all(|r| r["paraphrases"].as_array().unwrap().len() == 4)
    );
}
