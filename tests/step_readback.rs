//! A training step reads nothing back: forward losses (VTM hard negatives included), backward
//! and AdamW only record and submit GPU work. Its own test binary, so no other test's
//! readbacks are counted on the shared device.

mod common;

use locomotion::model::config::ModelConfig;
use locomotion::model::locomotion::{LocoModel, PairBatch};
use locomotion::tensor::ops::adamw;
use locomotion::tensor::ops::loss::IGNORE_INDEX;
use locomotion::tensor::{Tape, Tensor};
use locomotion::train::optim::AdamW;

#[test]
fn a_training_step_reads_nothing_back() {
    let g = common::gpu();
    let cfg = ModelConfig::preset("tiny").unwrap();
    let model = LocoModel::random(&g, &cfg, 1, None).unwrap();
    let mut optim = AdamW::new(&g, model.parameters(), adamw::AdamW::default(), 1.0).unwrap();
    let (b, l, v) = (4, 12, &cfg.video);
    let ids: Vec<u32> = (0..b * l).map(|i| 5 + (i as u32 * 37) % 900).collect();
    let mask: Vec<u32> = (0..b * l).map(|i| u32::from(i % l < 4 + i / l)).collect();
    let types = vec![0u32; b * l];
    let labels: Vec<u32> = (0..b * l)
        .map(|i| if i % 5 == 1 { ids[i] } else { IGNORE_INDEX })
        .collect();
    let pixels = common::random(b * v.frames * 3 * v.height * v.width, 9);
    let mut totals = Vec::new();
    for step in 0..2u64 {
        let video = Tensor::from_host(&g, &pixels, [b, v.frames, 3, v.height, v.width]).unwrap();
        let pair = PairBatch {
            video,
            batch: b,
            len: l,
            ids: &ids,
            token_types: &types,
            mask: &mask,
            mlm_ids: &ids,
            mlm_labels: &labels,
            negative_seed: step,
            duplicates: None,
            shard: None,
        };
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
