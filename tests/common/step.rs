//! The inputs of one tiny training step (captions, masks, MLM labels, video pixels), shared
//! by the tests that run whole steps.

use locomotion::gpu::Gpu;
use locomotion::model::config::ModelConfig;
use locomotion::model::locomotion::PairBatch;
use locomotion::tensor::Tensor;
use locomotion::tensor::ops::loss::IGNORE_INDEX;

/// `batch` captions of `len` tokens (ragged masks, every fifth token an MLM label) and the
/// pixels of `batch` clips of `cfg`'s video shape.
pub struct StepInputs {
    pub batch: usize,
    pub len: usize,
    pub ids: Vec<u32>,
    pub mask: Vec<u32>,
    pub types: Vec<u32>,
    pub labels: Vec<u32>,
    pub pixels: Vec<f32>,
    shape: [usize; 5],
}

impl StepInputs {
    pub fn new(cfg: &ModelConfig, batch: usize, len: usize) -> Self {
        let (b, l, v) = (batch, len, &cfg.video);
        let ids: Vec<u32> = (0..b * l).map(|i| 5 + (i as u32 * 37) % 900).collect();
        let mask = (0..b * l).map(|i| u32::from(i % l < 4 + i / l)).collect();
        let labels = (0..b * l)
            .map(|i| if i % 5 == 1 { ids[i] } else { IGNORE_INDEX })
            .collect();
        Self {
            batch,
            len,
            mask,
            labels,
            types: vec![0; b * l],
            pixels: super::random(b * v.frames * 3 * v.height * v.width, 9),
            shape: [b, v.frames, 3, v.height, v.width],
            ids,
        }
    }

    /// The batch on `g`, with the hard negatives drawn from `negative_seed`.
    pub fn pair(&self, g: &Gpu, negative_seed: u64) -> PairBatch<'_> {
        PairBatch {
            video: Tensor::from_host(g, &self.pixels, self.shape).unwrap(),
            batch: self.batch,
            len: self.len,
            ids: &self.ids,
            token_types: &self.types,
            mask: &self.mask,
            mlm_ids: &self.ids,
            mlm_labels: &self.labels,
            negative_seed,
            duplicates: None,
            shard: None,
        }
    }
}
