//! The experiment's pre-training conditions: spatial vs motion vs motion + paraphrase
//! captions with the preset's own text encoder, and — with `--init-text DIR` — motion vs
//! motion + paraphrase with a pretrained Hugging Face text encoder (frozen, its first
//! `--text-layers` layers), the setting in which held-out verbs can be understood at all.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::comparison::ExperimentPlan;
use crate::train::init_text::InitText;

/// The conditions every experiment runs: a report name and the `--captions` mixture. Three
/// in four captions of the paraphrase condition are paraphrases: with the frozen MiniLM at
/// 1200 steps that share read held-out verbs better than one in two, and the template
/// benchmark kept its score (BENCHMARKS.md, "Held-out verbs with a frozen MiniLM").
pub const CONDITIONS: [(&str, &str); 3] = [
    ("spatial", "spatial"),
    ("motion", "motion"),
    ("motion + paraphrase", "motion:0.25,paraphrase:0.75"),
];

/// What the pretrained-text conditions add to a name: "motion (pretrained text)".
pub const PRETRAINED_TEXT: &str = " (pretrained text)";

/// `experiment --init-text DIR --text-layers K`: the pretrained text encoder of the two extra
/// conditions (always frozen: the tiny video encoder learns to meet it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextInitPlan {
    /// The Hugging Face BERT folder (e.g. all-MiniLM-L6-v2).
    pub dir: PathBuf,
    /// Its first K transformer layers are kept.
    pub layers: usize,
}

impl TextInitPlan {
    /// The run's `--init-text` options.
    pub fn init_text(&self) -> InitText {
        InitText {
            dir: self.dir.clone(),
            freeze: true,
            layers: Some(self.layers),
        }
    }
}

/// One pre-training condition of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The report's row name.
    pub name: String,
    /// The `--captions` mixture.
    pub captions: &'static str,
    /// Whether it starts from the plan's pretrained text encoder.
    pub pretrained_text: bool,
}

/// The plan's pre-training conditions, in reading order. Only the preset-text conditions are
/// fine-tuned: the pretrained-text pair answers one question, held-out verbs without
/// fine-tuning.
pub fn conditions(plan: &ExperimentPlan) -> Vec<Condition> {
    let base = CONDITIONS.iter().map(|&(name, captions)| Condition {
        name: name.into(),
        captions,
        pretrained_text: false,
    });
    let text = plan.text_init.iter().flat_map(|_| {
        CONDITIONS[1..].iter().map(|&(name, captions)| Condition {
            name: format!("{name}{PRETRAINED_TEXT}"),
            captions,
            pretrained_text: true,
        })
    });
    base.chain(text).collect()
}

/// Every row name of the plan's table: the conditions, then scratch.
pub fn row_names(plan: &ExperimentPlan) -> Vec<String> {
    conditions(plan)
        .into_iter()
        .map(|c| c.name)
        .chain([super::comparison::SCRATCH.to_string()])
        .collect()
}
