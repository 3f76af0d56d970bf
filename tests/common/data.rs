//! Shared by the training-data tests: the tiny preset's clip, a small caption vocabulary and
//! the text pipeline over it.

use locomotion::caption::{CaptionKind, describe};
use locomotion::data::mlm::MlmConfig;
use locomotion::data::tokenizer::TextTokenizer;
use locomotion::motion::{GenConfig, sample_clip};
use locomotion::train::data::{CaptionMix, LibrarySplit, TextPipeline};

/// The tiny preset's clip: 8 frames of 32².
pub fn tiny_clip() -> GenConfig {
    GenConfig {
        frames: 8,
        height: 32,
        width: 32,
        ..GenConfig::default()
    }
}

/// A vocabulary trained on the captions of a few clips of another seed.
pub fn tokenizer() -> TextTokenizer {
    let split = LibrarySplit::builtin(&tiny_clip());
    let mut corpus = Vec::new();
    for i in 0..60 {
        let c = sample_clip(
            99,
            i,
            &tiny_clip(),
            &split.train_objects,
            &split.train_backgrounds,
        );
        for k in CaptionKind::ALL {
            corpus.push(describe(&c, k));
        }
    }
    TextTokenizer::train(&corpus, 400, 32, false).expect("train tokenizer")
}

/// The text pipeline of caption mixture `mix` over [`tokenizer`].
pub fn text(mix: &str) -> TextPipeline {
    TextPipeline::new(
        tokenizer(),
        CaptionMix::parse(mix).unwrap(),
        MlmConfig::default(),
    )
}
