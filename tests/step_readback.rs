//! A training step reads nothing back: forward losses (VTM hard negatives included), backward
//! and AdamW only record and submit GPU work. Its own test binary, so no other test's
//! readbacks are counted on the shared device.

mod common;

use locomotion::model::config::ModelConfig;
use locomotion::model::locomotion::LocoModel;
use locomotion::tensor::Tape;
use locomotion::tensor::ops::adamw;
use locomotion::train::optim::AdamW;

#[test]
fn a_training_step_reads_nothing_back() {
    let g = common::gpu();
    let cfg = ModelConfig::preset("tiny").unwrap();
    let model = LocoModel::random(&g, &cfg, 1, None).unwrap();
    let mut optim = AdamW::new(&g, model.parameters(), adamw::AdamWHyper::default(), 1.0).unwrap();
    let inputs = common::step::StepInputs::new(&cfg, 4, 12);
    let mut totals = Vec::new();
    for step in 0..2u64 {
        let pair = inputs.pair(&g, step);
        let before = g.readbacks();
        let tape = Tape::new(&g);
        let losses = model.forward_losses(&tape, &pair).unwrap();
        optim.zero_grad();
        tape.backward(&losses.total).unwrap();
        optim.step(1e-4).unwrap();
        assert_eq!(g.readbacks(), before, "step {step} read something back");
        // Reading the logged scalars is what counts, and it is counted.
        totals.push(losses.total.to_vec().unwrap()[0]);
        assert_eq!(g.readbacks(), before + 1);
        let vtm = losses.vtm.to_vec().unwrap()[0];
        assert!(vtm.is_finite() && vtm > 0.0, "VTM {vtm}");
    }
    assert!(totals.iter().all(|t| t.is_finite()), "{totals:?}");
}
