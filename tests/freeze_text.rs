//! `pretrain --init-text DIR --freeze-text --text-layers K`: the imported text encoder (cut
//! to its first K layers) gets no gradient and no optimizer state, through a resume too,
//! while the rest of the model trains; the flags refuse what makes no sense in one line.
//! The MiniLM tests print SKIP without `LOCOMOTION_MINILM_DIR` (and fail under CI).

mod common;

use std::path::Path;

use common::cli::{locomotion, one_line_error};
use common::dist::zero_gradient;
use common::minilm::model_dir;
use common::step::StepInputs;
use locomotion::model::checkpoint::{Checkpoint, adam_m_name};
use locomotion::model::config::{LossWeights, ModelConfig};
use locomotion::model::hf_bert::HfBert;
use locomotion::model::locomotion::LocoModel;
use locomotion::model::text::TextEncoder;
use locomotion::tensor::Tape;
use locomotion::train::config::TrainConfig;
use locomotion::train::init_text::{InitText, keep_layers};
use locomotion::train::trainer::train;

fn config(out: &Path, minilm: &Path) -> TrainConfig {
    let mut cfg = TrainConfig {
        lr: 1e-3,
        seed: 3,
        steps: 2,
        init_text: Some(InitText {
            dir: minilm.to_path_buf(),
            freeze: true,
            layers: Some(2),
        }),
        ..common::tiny_run(out)
    };
    cfg.model.loss_weights = LossWeights {
        vtc: 1.0,
        vtm: 1.0,
        mlm: 0.0,
    };
    cfg
}

#[test]
fn a_frozen_text_encoder_stays_bit_identical_through_steps_and_a_resume() {
    let Some(minilm) = model_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let gpu = common::gpu();
    // One step, a checkpoint, then a resume that does not repeat --freeze-text: the
    // checkpoint's record keeps the encoder frozen.
    let first = TrainConfig {
        stop_after: Some(1),
        ..config(dir.path(), &minilm)
    };
    assert_eq!(train(&gpu, &first).unwrap().step, 1);
    let mut again = config(dir.path(), &minilm);
    again.resume = true;
    again.init_text.as_mut().unwrap().freeze = false;
    assert_eq!(train(&gpu, &again).unwrap().step, 2);

    let ck = Checkpoint::load(&dir.path().join("checkpoint")).unwrap();
    assert_eq!(ck.config.state.extra["freeze_text"], true);
    let mut hf = HfBert::load(&minilm).unwrap();
    keep_layers(&mut hf, 2).unwrap();
    assert_eq!(ck.config.model.text.num_hidden_layers, 2);
    assert!(!ck.tensors.keys().any(|n| n.starts_with("text.layers.2.")));
    // The start: MiniLM's first two layers and the tiny preset's other parts from the seed.
    let start = LocoModel::random(
        &gpu,
        &ck.config.model,
        3,
        Some(TextEncoder::from_hf(&gpu, &hf).unwrap()),
    )
    .unwrap();
    let mut moved = 0;
    for (name, t) in start.parameters() {
        let was = t.to_vec().unwrap();
        let now = &ck.tensors[&name].data;
        let same = was.iter().zip(now).all(|(a, b)| a.to_bits() == b.to_bits());
        if name.starts_with("text.") {
            assert!(same, "{name} is frozen but moved");
            assert!(
                !ck.tensors.contains_key(&adam_m_name(&name)),
                "{name} is frozen but has AdamW moments"
            );
        } else if !name.starts_with("heads.mlm.") && !zero_gradient(&name) {
            // MLM's weight is 0: its head is in no loss; zero-gradient biases may stay.
            assert!(!same, "{name} is trainable but did not move");
            assert!(ck.tensors.contains_key(&adam_m_name(&name)), "{name}");
            moved += 1;
        }
    }
    assert!(moved > 20, "{moved} trainable tensors");
    assert!(ck.tensors.contains_key("heads.vtc.text_proj.weight"));
}

#[test]
fn freeze_text_and_text_layers_refuse_what_makes_no_sense_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out = out.to_str().unwrap();
    let base = ["pretrain", "--preset", "tiny", "--steps", "1", "--quiet"];
    for flag in [&["--freeze-text"][..], &["--text-layers", "2"]] {
        let args: Vec<&str> = base
            .iter()
            .chain(flag)
            .chain(&["--out", out])
            .copied()
            .collect();
        let e = one_line_error(&locomotion(&args, &[]));
        assert!(e.contains(flag[0]) && e.contains("--init-text"), "{e}");
    }
    let Some(minilm) = model_dir() else { return };
    let m = minilm.to_str().unwrap();
    // MLM trains the text encoder (and its tied word table): refused, not half-frozen.
    let args: Vec<&str> = base
        .iter()
        .chain(&["--init-text", m, "--freeze-text", "--weights", "1,1,1"])
        .chain(&["--out", out])
        .copied()
        .collect();
    let e = one_line_error(&locomotion(&args, &[]));
    assert!(e.contains("--freeze-text") && e.contains("MLM"), "{e}");
    for k in ["0", "7"] {
        let args: Vec<&str> = base
            .iter()
            .chain(&["--init-text", m, "--text-layers", k, "--out", out])
            .copied()
            .collect();
        let e = one_line_error(&locomotion(&args, &[]));
        assert!(
            e.contains(&format!("--text-layers {k}")) && e.contains("6 layers"),
            "{e}"
        );
    }
}

/// The tape itself: a frozen text encoder records nothing, so backward leaves every text
/// parameter without a gradient (an unfrozen one gets them), and MLM > 0 is refused.
#[test]
fn a_frozen_text_encoder_is_off_the_tape() {
    let gpu = common::gpu();
    let mut cfg = ModelConfig::preset("tiny").unwrap();
    cfg.loss_weights = LossWeights {
        vtc: 1.0,
        vtm: 1.0,
        mlm: 0.0,
    };
    let inputs = StepInputs::new(&cfg, 3, 7);
    for frozen in [false, true] {
        let mut model = LocoModel::random(&gpu, &cfg, 11, None).unwrap();
        if frozen {
            model.freeze_text().unwrap();
        }
        let tape = Tape::new(&gpu);
        let losses = model.forward_losses(&tape, &inputs.pair(&gpu, 4)).unwrap();
        tape.backward(&losses.total).unwrap();
        let trainable = model.trainable_parameters();
        let (mut text, mut with_grad) = (0, 0);
        for (name, t) in model.parameters() {
            let has = t.grad().is_some();
            if name.starts_with("text.") {
                text += 1;
                with_grad += usize::from(has);
                assert_eq!(
                    trainable.iter().any(|(n, _)| *n == name),
                    !frozen,
                    "{name} in the optimizer's list"
                );
            } else if name.starts_with("video.") {
                assert!(has, "{name} has no gradient (frozen: {frozen})");
            }
        }
        assert!(text > 10);
        if frozen {
            assert_eq!(with_grad, 0, "frozen text parameters with a gradient");
        } else {
            assert!(with_grad > text / 2, "{with_grad} of {text} text gradients");
        }
    }
    let mut mlm = ModelConfig::preset("tiny").unwrap();
    mlm.loss_weights.mlm = 1.0;
    let mut model = LocoModel::random(&gpu, &mlm, 11, None).unwrap();
    let e = model.freeze_text().unwrap_err().to_string();
    assert!(e.contains("--freeze-text") && e.contains("MLM"), "{e}");
}

/// A resume cannot freeze a run that trained its text encoder (its optimizer holds the
/// encoder's moments and its schedule trained it): refused, naming the flag.
#[test]
fn a_resume_cannot_start_freezing() {
    let dir = tempfile::tempdir().unwrap();
    let gpu = common::gpu();
    let first = TrainConfig {
        stop_after: Some(1),
        ..common::tiny_run(dir.path())
    };
    assert_eq!(train(&gpu, &first).unwrap().step, 1);
    let again = TrainConfig {
        resume: true,
        init_text: Some(InitText {
            freeze: true,
            ..InitText::new(dir.path().join("no-model-needed"))
        }),
        ..common::tiny_run(dir.path())
    };
    let e = format!("{:#}", train(&gpu, &again).unwrap_err());
    assert!(
        e.contains("--freeze-text") && e.contains("conflicts"),
        "{e}"
    );
}
