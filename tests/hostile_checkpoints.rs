//! Hostile checkpoints, round 3: a `config.json` whose sizes are raised past any model (or
//! changed so they no longer describe the weights), Hugging Face configs and stored run
//! settings out of range, and the leftovers of a save killed between its renames, which
//! every reader (not only `--resume`) must find.

mod hostile;

use std::fs;
use std::path::Path;
use std::process::Output;

use hostile::{assert_error, bin, err_text, model_checkpoint, peak_rss, tiny_checkpoint};
use locomotion::model::checkpoint::{Checkpoint, SaveStep, abort_save_after};
use locomotion::model::config::ModelConfig;
use locomotion::model::hf_bert::HfBert;
use locomotion::train::setup::train_tokenizer;

/// Held by every test that saves: the save-abort hook is global to this process.
static SAVES: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn saves() -> std::sync::MutexGuard<'static, ()> {
    SAVES.lock().unwrap_or_else(|e| e.into_inner())
}

/// A tiny model's whole checkpoint (every parameter, small values) and the tokenizer its
/// run would hold beside it, in `run/`; no training needed.
fn model_run(run: &Path, step: u64) {
    fs::create_dir_all(run).unwrap();
    let mut model = ModelConfig::preset("tiny").unwrap();
    let tok = train_tokenizer(&model, 0).unwrap();
    tok.save(&run.join("tokenizer.json")).unwrap();
    model.text.vocab_size = tok.vocab_size();
    let ck = model_checkpoint(model, step);
    let _saving = saves();
    ck.save(&run.join("checkpoint")).unwrap();
}

/// Set `path` (e.g. ["model", "video", "num_layers"]) in `dir/config.json` to `v`.
fn edit_config(dir: &Path, path: &[&str], v: serde_json::Value) {
    let file = dir.join("config.json");
    let mut j: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    let mut at = &mut j;
    for k in path {
        at = match k.parse::<usize>() {
            Ok(i) => &mut at[i],
            Err(_) => &mut at[*k],
        };
    }
    *at = v;
    fs::write(&file, serde_json::to_string_pretty(&j).unwrap()).unwrap();
}

/// `eval` of `target` on 4 held-out clips.
fn eval(target: &Path) -> Output {
    bin()
        .args(["eval", "--clips", "4", "--batch", "2", "--checkpoint"])
        .arg(target)
        .output()
        .unwrap()
}

/// A one-step VTC fine-tuning of `run` into `out`.
fn finetune(run: &Path, out: &Path, extra: &[&str]) -> Output {
    bin()
        .args([
            "finetune",
            "--steps",
            "1",
            "--batch",
            "2",
            "--weights",
            "1,0,0",
        ])
        .args(["--quiet", "--checkpoint"])
        .arg(run)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

const SIZES: [&[&str]; 19] = [
    &["model", "video", "frames"],
    &["model", "video", "height"],
    &["model", "video", "width"],
    &["model", "video", "channels"],
    &["model", "video", "hidden_size"],
    &["model", "video", "num_layers"],
    &["model", "video", "num_heads"],
    &["model", "video", "mlp_ratio"],
    &["model", "video", "tubelet"],
    &["model", "text", "vocab_size"],
    &["model", "text", "hidden_size"],
    &["model", "text", "num_hidden_layers"],
    &["model", "text", "num_attention_heads"],
    &["model", "text", "intermediate_size"],
    &["model", "text", "max_position_embeddings"],
    &["model", "text", "type_vocab_size"],
    &["model", "cross", "num_layers"],
    &["model", "heads", "embed_dim"],
    &["model", "heads", "vtm_hard_negatives"],
];

#[test]
fn every_size_in_a_checkpoint_config_is_bounded_before_anything_is_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    model_run(&run, 3);
    let ck = run.join("checkpoint");
    let good = fs::read_to_string(ck.join("config.json")).unwrap();
    let mut cases = 0;
    for field in SIZES {
        for huge in [1u64 << 30, 1 << 62] {
            fs::write(ck.join("config.json"), &good).unwrap();
            let v = match field.last() {
                Some(&"tubelet") => serde_json::json!([huge, 8, 8]),
                _ => serde_json::json!(huge),
            };
            edit_config(&ck, field, v);
            let e = err_text(Checkpoint::load(&ck).unwrap_err());
            let name = field[1..].join(".");
            assert!(
                e.contains("config.json") && e.contains(&name),
                "{name}: {e}"
            );
            cases += 1;
        }
    }
    assert_eq!(cases, 38);
    assert!(peak_rss() < 1 << 30, "peak RSS {} bytes", peak_rss());

    // Inside the limits but not these weights: refused by field, naming the tensor.
    for (field, v, words) in [
        (
            &["model", "video", "hidden_size"][..],
            128,
            &["video.hidden_size", "video.cls"][..],
        ),
        (
            &["model", "text", "num_hidden_layers"],
            3,
            &["text.num_hidden_layers", "hold 2"],
        ),
        (
            &["model", "cross", "num_layers"],
            2,
            &["cross.num_layers", "hold 1"],
        ),
        (
            &["model", "heads", "embed_dim"],
            16,
            &["heads.embed_dim", "video_proj"],
        ),
        (
            &["model", "text", "max_position_embeddings"],
            64,
            &["text.max_position_embeddings"],
        ),
    ] {
        fs::write(ck.join("config.json"), &good).unwrap();
        edit_config(&ck, field, serde_json::json!(v));
        let e = err_text(Checkpoint::load(&ck).unwrap_err());
        assert!(e.contains("config.json"), "{e}");
        for w in words {
            assert!(e.contains(w), "'{w}' missing from: {e}");
        }
    }

    // A norm over the video embeddings the weights do not hold, and one they hold that the
    // config leaves out (a CLIP-shaped checkpoint, which loads as saved).
    fs::write(ck.join("config.json"), &good).unwrap();
    let pre_norm = ["model", "video", "pre_norm"];
    edit_config(&ck, &pre_norm, serde_json::json!(true));
    let e = err_text(Checkpoint::load(&ck).unwrap_err());
    assert!(
        e.contains("config.json") && e.contains("video.pre_norm is true") && e.contains("have no"),
        "{e}"
    );
    let mut clip = ModelConfig::preset("tiny").unwrap();
    clip.video.pre_norm = true;
    let clip_ck = dir.path().join("clip");
    {
        let _saving = saves();
        model_checkpoint(clip, 3).save(&clip_ck).unwrap();
    }
    Checkpoint::load(&clip_ck).unwrap();
    edit_config(&clip_ck, &pre_norm, serde_json::json!(false));
    let e = err_text(Checkpoint::load(&clip_ck).unwrap_err());
    assert!(
        e.contains("video.pre_norm is false") && e.contains("hold video.ln_pre"),
        "{e}"
    );

    // Run settings: out of range, by field.
    for (field, v) in [
        (
            &["state", "schedule", "base_lr"][..],
            serde_json::json!(1e300),
        ),
        (&["state", "schedule", "final_lr"], serde_json::json!(-1.0)),
        (&["state", "optimizer_step"], serde_json::json!(1u64 << 40)),
    ] {
        fs::write(ck.join("config.json"), &good).unwrap();
        edit_config(&ck, field, v);
        let e = err_text(Checkpoint::load(&ck).unwrap_err());
        let name = field.join(".");
        assert!(e.contains("config.json") && e.contains(&name), "{e}");
    }
    fs::write(ck.join("config.json"), &good).unwrap();
    Checkpoint::load(&ck).unwrap();
}

#[test]
fn eval_and_finetune_refuse_a_checkpoint_config_raised_to_a_billion_layers() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    model_run(&run, 3);
    edit_config(
        &run.join("checkpoint"),
        &["model", "video", "num_layers"],
        serde_json::json!(1u64 << 30),
    );
    assert_error(
        &eval(&run),
        &["config.json", "video.num_layers", "1073741824", "limit"],
    );
    let o = finetune(&run, &dir.path().join("ft"), &[]);
    assert_error(&o, &["config.json", "video.num_layers"]);
    assert!(
        !dir.path().join("ft").exists(),
        "a refused run leaves no --out"
    );
}

#[test]
fn a_hugging_face_config_out_of_range_is_refused_by_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    for (field, v) in [
        ("num_hidden_layers", 1u64 << 30),
        ("hidden_size", 1 << 30),
        ("vocab_size", 1 << 40),
        ("intermediate_size", 1 << 30),
        ("max_position_embeddings", 1 << 30),
    ] {
        let mut cfg = serde_json::json!({
            "vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6,
            "num_attention_heads": 12, "intermediate_size": 1536,
            "max_position_embeddings": 512, "type_vocab_size": 2
        });
        cfg[field] = serde_json::json!(v);
        fs::write(dir.path().join("config.json"), cfg.to_string()).unwrap();
        let e = err_text(HfBert::load(dir.path()).unwrap_err());
        assert!(
            e.contains("config.json") && e.contains(field) && e.contains("limit"),
            "{e}"
        );
    }
}

/// After a save killed at any step, every reader loads the checkpoint `--resume` would put
/// back, in place: nothing is renamed.
#[test]
fn readers_find_the_newest_complete_checkpoint_an_interrupted_save_left() {
    let _saving = saves();
    for abort in [
        SaveStep::Created,
        SaveStep::WeightsWritten,
        SaveStep::ConfigWritten,
        SaveStep::OldMoved,
        SaveStep::NewMoved,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let ck = dir.path().join("checkpoint");
        tiny_checkpoint(10, 1.0).save(&ck).unwrap();
        abort_save_after(Some(abort));
        let r = tiny_checkpoint(20, 2.0).save(&ck);
        abort_save_after(None);
        assert!(r.is_err(), "{abort:?}");
        let before: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        let read = Checkpoint::load_newest(&ck).unwrap().config.state.step;
        let after: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(before, after, "{abort:?}: a reader moved something");
        assert!(Checkpoint::recover(&ck).unwrap());
        let resumed = Checkpoint::load(&ck).unwrap().config.state.step;
        assert_eq!(read, resumed, "{abort:?}");
        let want = if abort >= SaveStep::ConfigWritten {
            20
        } else {
            10
        };
        assert_eq!(read, want, "{abort:?}");
    }

    // Only an unfinished save: said, with what was found.
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("checkpoint");
    abort_save_after(Some(SaveStep::WeightsWritten));
    let _ = tiny_checkpoint(20, 2.0).save(&ck);
    abort_save_after(None);
    let e = err_text(Checkpoint::load_newest(&ck).unwrap_err());
    assert!(
        e.contains(".checkpoint.tmp-") && e.contains("no complete checkpoint"),
        "{e}"
    );
}

#[test]
fn eval_and_finetune_read_a_run_whose_save_was_killed_between_its_renames() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    model_run(&run, 3);
    // Killed after moving the old checkpoint aside, with the new one unfinished.
    fs::rename(run.join("checkpoint"), run.join(".checkpoint.old-4242")).unwrap();
    fs::create_dir(run.join(".checkpoint.tmp-4242")).unwrap();
    fs::write(run.join(".checkpoint.tmp-4242/model.safetensors"), b"half").unwrap();
    for target in [run.clone(), run.join("checkpoint")] {
        let o = eval(&target);
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{}: {e}", target.display());
    }
    assert!(
        run.join(".checkpoint.old-4242/config.json").is_file(),
        "eval moved it"
    );
    assert!(!run.join("checkpoint").exists());
    let extra = ["--allow-truncated-captions", "--preset", "tiny"];
    let o = finetune(&run, &dir.path().join("ft"), &extra);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // Only the unfinished one: the error says what is there.
    fs::remove_dir_all(run.join(".checkpoint.old-4242")).unwrap();
    assert_error(
        &eval(&run),
        &[".checkpoint.tmp-4242", "no complete checkpoint"],
    );
}
