//! `--resume` keeps the run's schedule and data order: the flags that define them are stored
//! in the checkpoint and a resumed run must give the same ones. What may change: `--steps`
//! (to extend the run, never below the checkpoint's step), `--save-every`, `--log-every`,
//! `--stop-after`, `--quiet` and `--accumulate` (it splits a batch's work, not its data).

use anyhow::{Result, bail};
use serde_json::{Map, Value};

use super::config::TrainConfig;
use crate::model::checkpoint::CheckpointConfig;

/// Record the data-order flags beside the training state (seed, lr, warm-up, steps and
/// captions are stored already).
pub fn store_flags(cfg: &TrainConfig, extra: &mut Map<String, Value>) {
    extra.insert("batch".into(), cfg.batch.into());
    // For the record only: a resumed run may change it (memory, not the result).
    extra.insert("accumulate".into(), cfg.accumulate.into());
    extra.insert(
        "data".into(),
        cfg.data.as_ref().map(|d| d.display().to_string()).into(),
    );
    if let Some(a) = &cfg.annotations {
        extra.insert("annotations".into(), a.file.display().to_string().into());
    }
    extra.insert("fraction".into(), cfg.fraction.into());
    extra.insert("weight_decay".into(), cfg.weight_decay.into());
    extra.insert("clip_norm".into(), cfg.clip_norm.into());
    extra.insert("background_fade".into(), cfg.background_fade_steps.into());
    extra.insert("group_size".into(), cfg.group_size.into());
    extra.insert("nonlinear".into(), cfg.motion.nonlinear.into());
}

/// The checkpoint's record of `--freeze-text` (a resumed run keeps it).
pub const FREEZE_TEXT: &str = "freeze_text";

const MAY_CHANGE: &str = "resume with the run's own flags; only --steps (to extend it), --save-every, --log-every, --quiet and --accumulate may change";

fn conflict(
    flag: &str,
    given: impl std::fmt::Display,
    stored: impl std::fmt::Display,
) -> anyhow::Error {
    anyhow::anyhow!(
        "{flag} {given} conflicts with the run's {stored} (stored in its checkpoint): {MAY_CHANGE}"
    )
}

/// Refuse a resume whose flags change the stored schedule, data order or model, naming the
/// first flag that differs.
pub fn check_flags(cfg: &TrainConfig, stored: &CheckpointConfig) -> Result<()> {
    let st = &stored.state;
    if cfg.steps < st.step {
        bail!(
            "--steps {} is below the checkpoint's step {}: give at least that many",
            cfg.steps,
            st.step
        );
    }
    if cfg.seed != st.seed {
        return Err(conflict("--seed", cfg.seed, st.seed));
    }
    if cfg.lr != st.schedule.base_lr {
        return Err(conflict("--lr", cfg.lr, st.schedule.base_lr));
    }
    if cfg.warmup != st.schedule.warmup_steps {
        return Err(conflict("--warmup", cfg.warmup, st.schedule.warmup_steps));
    }
    let extra = &st.extra;
    if let Some(c) = extra.get("captions").and_then(Value::as_str)
        && c != cfg.captions
    {
        return Err(conflict("--captions", &cfg.captions, c));
    }
    let batch = match extra.get("batch").and_then(Value::as_u64) {
        Some(b) => Some(b),
        // Older checkpoints: the data position is step × batch.
        None if st.step > 0 => Some(st.data_position / st.step),
        None => None,
    };
    if let Some(b) = batch
        && b != cfg.batch as u64
    {
        return Err(conflict("--batch", cfg.batch, b));
    }
    if let Some(d) = extra.get("data") {
        let given = cfg.data.as_ref().map(|d| d.display().to_string());
        if d.as_str() != given.as_deref() {
            let show = |s: Option<&str>| s.map_or("(online clips)".to_string(), str::to_string);
            return Err(conflict("--data", show(given.as_deref()), show(d.as_str())));
        }
    }
    let given = cfg
        .annotations
        .as_ref()
        .map(|a| a.file.display().to_string());
    if extra.get("annotations").and_then(Value::as_str) != given.as_deref() {
        let show = |s: Option<&str>| s.map_or("(none)".to_string(), str::to_string);
        let stored = extra.get("annotations").and_then(Value::as_str);
        return Err(conflict(
            "--annotations",
            show(given.as_deref()),
            show(stored),
        ));
    }
    for (flag, key, given) in [
        ("--fraction", "fraction", cfg.fraction),
        ("--weight-decay", "weight_decay", cfg.weight_decay),
        ("--clip-norm", "clip_norm", cfg.clip_norm),
    ] {
        if let Some(s) = extra.get(key).and_then(Value::as_f64)
            && s != given
        {
            return Err(conflict(flag, given, s));
        }
    }
    if let Some(g) = extra.get("group_size").and_then(Value::as_u64)
        && g != cfg.group_size as u64
    {
        return Err(conflict("--group-size", cfg.group_size, g));
    }
    if let Some(n) = extra.get("nonlinear").and_then(Value::as_bool)
        && n != cfg.motion.nonlinear
    {
        return Err(conflict("--nonlinear", cfg.motion.nonlinear, n));
    }
    let freeze = cfg.init_text.as_ref().is_some_and(|t| t.freeze);
    if freeze && extra.get(FREEZE_TEXT).and_then(Value::as_bool) != Some(true) {
        return Err(conflict("--freeze-text", true, false));
    }
    let (w, sw) = (&cfg.model.loss_weights, &stored.model.loss_weights);
    if w != sw {
        let show = |w: &crate::model::config::LossWeights| format!("{},{},{}", w.vtc, w.vtm, w.mlm);
        return Err(conflict("--weights", show(w), show(sw)));
    }
    // The architecture: a resumed run continues the checkpoint's model, never another preset.
    let mut arch = cfg.model.clone();
    arch.loss_weights = stored.model.loss_weights;
    arch.text.vocab_size = stored.model.text.vocab_size;
    if extra.contains_key("init_text") {
        arch.text = stored.model.text.clone();
    }
    if extra.contains_key("init_video") {
        arch.video = stored.model.video.clone();
    }
    if arch != stored.model {
        bail!(
            "--preset describes another model than the checkpoint's (hidden {} vs {}, layers {} vs {}): {MAY_CHANGE}",
            cfg.model.video.hidden_size,
            stored.model.video.hidden_size,
            cfg.model.video.num_layers,
            stored.model.video.num_layers
        );
    }
    Ok(())
}
