//! all-MiniLM-L6-v2 through the Hugging Face import, the tokenizer and the CPU BERT forward
//! must give the original model's sentence embeddings.
//!
//! The model folder comes from `.ci/fetch-minilm.sh` (env `LOCOMOTION_MINILM_DIR`). Without
//! it the test prints SKIP and passes, unless `CI` is set, where a missing model fails.

mod common;

use common::minilm::{COS, IDS, SENTENCES, UNIT_8, check_mean_pooled, model_dir};
use locomotion::data::tokenizer::TextTokenizer;
use locomotion::model::bert_cpu::{BertCpu, mean_pool};
use locomotion::model::hf_bert::HfBert;

#[test]
fn minilm_sentence_embeddings_match_the_original_model() {
    let Some(dir) = model_dir() else { return };
    let model = HfBert::load(&dir).expect("load all-MiniLM-L6-v2");
    assert_eq!(model.config.hidden_size, 384);
    assert_eq!(model.config.num_hidden_layers, 6);
    // 22 713 216 parameters on the model card, less the unused pooler (384·384 + 384).
    let n: usize = model.weights.values().map(|t| t.data.len()).sum();
    assert_eq!(n, 22_713_216 - 147_840);
    let tok = TextTokenizer::load(&model.tokenizer, 24).expect("tokenizer.json");
    let batch = tok.encode_batch(&SENTENCES).unwrap();
    for (b, want) in IDS.iter().enumerate() {
        let row = batch.row(b);
        assert_eq!(&row[..want.len()], *want, "token ids of {:?}", SENTENCES[b]);
        assert!(
            row[want.len()..].iter().all(|&t| t == 0),
            "padding of row {b}"
        );
    }

    let bert = BertCpu::new(&model.config, &model.weights);
    let (b, l) = (batch.batch, batch.max_len);
    let hidden = bert
        .forward(&batch.ids, &batch.token_types, &batch.attention_mask, b, l)
        .unwrap();
    let mean = mean_pool(&hidden, &batch.attention_mask, b, l, false);
    let unit = mean_pool(&hidden, &batch.attention_mask, b, l, true);
    let h = 384;
    let worst = check_mean_pooled(&mean);
    for s in 0..4 {
        for j in 0..8 {
            let (got, want) = (unit[s * h + j], UNIT_8[s][j]);
            assert!(
                (got - want).abs() < 1e-4,
                "unit sentence {s} dim {j}: {got} vs {want}"
            );
        }
    }
    println!("largest |difference| from the original's mean-pooled values: {worst:.2e}");
    let pairs = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)];
    for ((i, j), want) in pairs.into_iter().zip(COS) {
        let cos: f64 = (0..h)
            .map(|d| unit[i * h + d] as f64 * unit[j * h + d] as f64)
            .sum();
        assert!(
            (cos - want).abs() < 1e-4,
            "cos({i},{j}) = {cos}, original {want}"
        );
    }
}
