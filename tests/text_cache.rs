//! The frozen text encoder's per-caption cache (`model::locomotion::text_cache`): a VTC step
//! that reads pooled states from it gives the loss and video gradients of the step that
//! recomputes them on the tape, a repeated caption is encoded once, a caption padded to
//! another length hits the same entry, and a trained encoder or VTM never uses it.

mod common;

use common::step::StepInputs;
use locomotion::model::config::{LossWeights, ModelConfig};
use locomotion::model::locomotion::{LocoModel, TextCacheStats};
use locomotion::tensor::Tape;

const VTC_ONLY: LossWeights = LossWeights {
    vtc: 1.0,
    vtm: 0.0,
    mlm: 0.0,
};

fn config(weights: LossWeights) -> ModelConfig {
    let mut cfg = ModelConfig::preset("tiny").unwrap();
    cfg.loss_weights = weights;
    cfg
}

/// Inputs of 5 captions of 7 tokens (ragged masks) whose rows 1 and 3 hold one caption.
fn inputs(cfg: &ModelConfig) -> StepInputs {
    let mut s = StepInputs::new(cfg, 5, 7);
    let l = s.len;
    let (one, three) = (s.ids[l..2 * l].to_vec(), s.mask[l..2 * l].to_vec());
    s.ids[3 * l..4 * l].copy_from_slice(&one);
    s.mask[3 * l..4 * l].copy_from_slice(&three);
    s
}

/// The VTC loss and every video gradient of one step (gradients cleared first).
fn step(model: &LocoModel, s: &StepInputs) -> (f32, Vec<(String, Vec<f32>)>) {
    let gpu = common::gpu();
    for (_, t) in model.parameters() {
        t.zero_grad();
    }
    let tape = Tape::new(&gpu);
    let losses = model.forward_losses(&tape, &s.pair(&gpu, 4)).unwrap();
    tape.backward(&losses.total).unwrap();
    let grads = model
        .parameters()
        .into_iter()
        .filter(|(n, _)| n.starts_with("video."))
        .filter_map(|(n, t)| Some((n, t.grad_to_vec().unwrap()?)))
        .collect();
    (losses.vtc.to_vec().unwrap()[0], grads)
}

fn rel(a: &[f32], b: &[f32]) -> f64 {
    let d: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
        .sum();
    let n: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
    (d / n.max(1e-30)).sqrt()
}

#[test]
fn cached_pooled_states_give_the_recomputed_step() {
    let gpu = common::gpu();
    let cfg = config(VTC_ONLY);
    let s = inputs(&cfg);
    // The same weights twice: one recomputes the text on the tape, one is frozen (cached).
    let live = LocoModel::random(&gpu, &cfg, 11, None).unwrap();
    let mut frozen = LocoModel::random(&gpu, &cfg, 11, None).unwrap();
    frozen.freeze_text().unwrap();
    let (want_loss, want) = step(&live, &s);
    assert_eq!(
        live.text_cache_stats().misses,
        0,
        "a trained encoder is cached"
    );
    for round in 0..2 {
        let (loss, got) = step(&frozen, &s);
        assert!(
            (loss - want_loss).abs() <= 1e-5 * want_loss.abs(),
            "round {round}: {loss} vs {want_loss}"
        );
        assert_eq!(got.len(), want.len());
        assert!(want.len() > 10);
        for ((n, g), (_, w)) in got.iter().zip(&want) {
            assert!(rel(g, w) < 1e-4, "round {round}: {n} off by {}", rel(g, w));
        }
    }
    // 4 distinct captions of 5 encoded once; the rest (its repeat, then a whole step) hit.
    assert_eq!(
        frozen.text_cache_stats(),
        TextCacheStats {
            hits: 1 + 5,
            misses: 4,
            held: 4
        }
    );
}

#[test]
fn a_caption_padded_to_another_length_hits_the_same_entry() {
    let gpu = common::gpu();
    let cfg = config(VTC_ONLY);
    let mut model = LocoModel::random(&gpu, &cfg, 11, None).unwrap();
    model.freeze_text().unwrap();
    let s = inputs(&cfg);
    // The same captions padded to 9 tokens, with other ids in the padding: the new
    // captions are encoded cut to their longest (7 tokens), then the 7-token batch hits.
    let mut long = StepInputs::new(&cfg, 5, 9);
    for r in 0..5 {
        for c in 0..9 {
            let (i, j) = (r * 9 + c, r * 7 + c);
            let real = c < 7 && s.mask[j] == 1;
            long.ids[i] = if real { s.ids[j] } else { 900 + c as u32 };
            long.mask[i] = u32::from(real);
        }
    }
    let (loss_long, _) = step(&model, &long);
    let (loss, _) = step(&model, &s);
    assert_eq!(
        model.text_cache_stats().misses,
        4,
        "padding made a new entry"
    );
    // Both equal the loss recomputed on the tape.
    let live = LocoModel::random(&gpu, &cfg, 11, None).unwrap();
    for (got, batch) in [(loss_long, &long), (loss, &s)] {
        let (want, _) = step(&live, batch);
        assert!((got - want).abs() <= 1e-5 * want.abs(), "{got} vs {want}");
    }
}

#[test]
fn vtm_reads_hidden_states_so_a_frozen_encoder_is_not_cached() {
    let gpu = common::gpu();
    let cfg = config(LossWeights {
        vtc: 1.0,
        vtm: 1.0,
        mlm: 0.0,
    });
    let mut model = LocoModel::random(&gpu, &cfg, 11, None).unwrap();
    model.freeze_text().unwrap();
    step(&model, &inputs(&cfg));
    assert_eq!(model.text_cache_stats().misses, 0);
}
