//! The GPU text encoder against the CPU BERT reference on a random tiny config with padding,
//! against all-MiniLM-L6-v2's original embeddings (when the model is present), and a backward
//! pass that reaches every parameter; plus the head split/merge permutation it relies on.

mod common;

use common::minilm::{IDS, SENTENCES, check_mean_pooled, model_dir};
use common::{gpu, gpu_path, random, rel_err};
use locomotion::data::tokenizer::TextTokenizer;
use locomotion::gpu::Gpu;
use locomotion::model::bert_cpu::{BertCpu, mean_pool};
use locomotion::model::checkpoint::{HostTensor, TensorMap};
use locomotion::model::config::BertConfig;
use locomotion::model::hf_bert::HfBert;
use locomotion::model::params::text_parameter_shapes;
use locomotion::model::text::{TextBatch, TextEncoder};
use locomotion::tensor::ops::permute::swap_axes12;
use locomotion::tensor::ops::reduce::sum_all;
use locomotion::tensor::ops::unary::mul;
use locomotion::tensor::{Tape, Tensor};

fn tiny() -> BertConfig {
    BertConfig {
        vocab_size: 37,
        hidden_size: 12,
        num_hidden_layers: 2,
        num_attention_heads: 3,
        intermediate_size: 20,
        max_position_embeddings: 9,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        hidden_act: "gelu".into(),
    }
}

/// Random weights of the right scale to keep every layer in its interesting range.
fn random_weights(cfg: &BertConfig, seed: u64) -> TensorMap {
    let mut w = TensorMap::new();
    for (i, (name, shape)) in text_parameter_shapes(cfg).into_iter().enumerate() {
        let n: usize = shape.iter().product();
        let r = random(n, seed + i as u64);
        let data = if name.ends_with(".gamma") {
            r.iter().map(|v| 1.0 + 0.2 * v).collect()
        } else {
            r.iter().map(|v| 0.5 * v).collect()
        };
        w.insert(name, HostTensor::new(shape, data));
    }
    w
}

/// Three texts of length 7: full, 4 real tokens, 5 real tokens; mixed token types.
fn batch_of_three() -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    let (b, l) = (3, 7);
    let lens = [7, 4, 5];
    let ids: Vec<u32> = (0..b * l).map(|i| ((i * 13 + 5) % 37) as u32).collect();
    let types: Vec<u32> = (0..b * l).map(|i| u32::from(i % l >= 3)).collect();
    let mask: Vec<u32> = (0..b * l).map(|i| u32::from(i % l < lens[i / l])).collect();
    (ids, types, mask)
}

#[test]
fn head_swap_permutes_and_its_gradient_swaps_back() {
    let g = gpu();
    let dims = [2, 5, 3, 7];
    let n = 2 * 5 * 3 * 7;
    let x0 = random(n, 1);
    let w = random(n, 2);
    let tape = Tape::new(&g);
    let x = Tensor::param(&g, &x0, dims).unwrap();
    let y = swap_axes12(&tape, &x).unwrap();
    assert_eq!(y.shape().dims(), [2, 3, 5, 7]);
    let mut want = vec![f32::NAN; n];
    for a in 0..2 {
        for b in 0..5 {
            for c in 0..3 {
                for d in 0..7 {
                    want[((a * 3 + c) * 5 + b) * 7 + d] = x0[((a * 5 + b) * 3 + c) * 7 + d];
                }
            }
        }
    }
    assert_eq!(y.to_vec().unwrap(), want);
    // loss = sum(y * w): dloss/dx is w swapped back, exactly (a permutation is linear, so its
    // central difference is exact too).
    let wt = Tensor::from_host(&g, &w, [2, 3, 5, 7]).unwrap();
    let loss = sum_all(&tape, &mul(&tape, &y, &wt).unwrap()).unwrap();
    tape.backward(&loss).unwrap();
    let dx = x.grad_to_vec().unwrap().unwrap();
    for a in 0..2 {
        for b in 0..5 {
            for c in 0..3 {
                for d in 0..7 {
                    let (xi, yi) = (((a * 5 + b) * 3 + c) * 7 + d, ((a * 3 + c) * 5 + b) * 7 + d);
                    assert_eq!(dx[xi], w[yi]);
                }
            }
        }
    }
}

#[test]
fn random_tiny_bert_matches_the_cpu_reference_with_padding() {
    random_tiny_bert_matches_the_cpu_reference_with_padding_on(gpu());
}

/// The same with the GPU kernel variants, whatever the adapter (the path a GPU takes).
#[test]
fn random_tiny_bert_matches_the_cpu_reference_with_padding_on_the_gpu_path() {
    random_tiny_bert_matches_the_cpu_reference_with_padding_on(gpu_path());
}

fn random_tiny_bert_matches_the_cpu_reference_with_padding_on(g: Gpu) {
    let cfg = tiny();
    let weights = random_weights(&cfg, 100);
    let enc = TextEncoder::from_weights(&g, &cfg, &weights).unwrap();
    let (ids, types, mask) = batch_of_three();
    let (b, l) = (3, 7);
    let tape = Tape::new(&g);
    let _ng = tape.no_grad();
    let text = TextBatch {
        ids: &ids,
        token_types: &types,
        mask: &mask,
        batch: b,
        len: l,
    };
    let out = enc.forward(&tape, text).unwrap();
    assert_eq!(out.hidden.shape().dims(), [b, l, 12]);
    assert_eq!(out.pooled.shape().dims(), [b, 12]);
    let cpu = BertCpu::new(&cfg, &weights);
    let want = cpu.forward(&ids, &types, &mask, b, l).unwrap();
    let got = out.hidden.to_vec().unwrap();
    let e = rel_err(&got, &want);
    assert!(e < 1e-4, "hidden states rel err {e}");
    let pooled = out.pooled.to_vec().unwrap();
    let e = rel_err(&pooled, &mean_pool(&want, &mask, b, l, false));
    assert!(e < 1e-4, "pooled rel err {e}");
}

#[test]
fn a_gradient_reaches_every_parameter() {
    a_gradient_reaches_every_parameter_on(gpu());
}

/// The same with the GPU kernel variants, whatever the adapter (the path a GPU takes).
#[test]
fn a_gradient_reaches_every_parameter_on_the_gpu_path() {
    a_gradient_reaches_every_parameter_on(gpu_path());
}

fn a_gradient_reaches_every_parameter_on(g: Gpu) {
    let cfg = tiny();
    let enc = TextEncoder::random(&g, &cfg, 7).unwrap();
    let (ids, types, mask) = batch_of_three();
    let tape = Tape::new(&g);
    let text = TextBatch {
        ids: &ids,
        token_types: &types,
        mask: &mask,
        batch: 3,
        len: 7,
    };
    let out = enc.forward(&tape, text).unwrap();
    let w = Tensor::from_host(&g, &random(3 * 12, 9), [3, 12]).unwrap();
    let loss = sum_all(&tape, &mul(&tape, &out.pooled, &w).unwrap()).unwrap();
    tape.backward(&loss).unwrap();
    let params = enc.parameters();
    assert_eq!(params.len(), text_parameter_shapes(&cfg).len());
    for (name, p) in params {
        let grad = p
            .grad_to_vec()
            .unwrap()
            .unwrap_or_else(|| panic!("{name}: no gradient"));
        assert!(
            grad.iter().all(|v| v.is_finite()),
            "{name}: non-finite gradient"
        );
        assert!(
            grad.iter().any(|&v| v != 0.0),
            "{name}: gradient is all zero"
        );
    }
}

#[test]
fn bad_input_is_a_one_line_error() {
    let g = gpu();
    let cfg = tiny();
    let enc = TextEncoder::random(&g, &cfg, 1).unwrap();
    let tape = Tape::new(&g);
    let ids = [1u32; 10];
    let zeros = [0u32; 10];
    let ones = [1u32; 10];
    let long = TextBatch {
        ids: &ids,
        token_types: &zeros,
        mask: &ones,
        batch: 1,
        len: 10,
    };
    let e = enc.forward(&tape, long).err().unwrap().to_string();
    assert!(e.contains("max_position_embeddings"), "{e}");
    let empty = TextBatch {
        mask: &zeros,
        ..long
    };
    let e = enc
        .forward(
            &tape,
            TextBatch {
                len: 5,
                batch: 2,
                ..empty
            },
        )
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("no real token"), "{e}");
    let twos = [2u32; 10];
    let e = enc
        .forward(
            &tape,
            TextBatch {
                mask: &twos,
                len: 5,
                batch: 2,
                ..long
            },
        )
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("mask value 2"), "{e}");
    let mut weights = random_weights(&cfg, 3);
    weights.remove("text.layers.1.ffn.up.bias");
    let e = TextEncoder::from_weights(&g, &cfg, &weights)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("text.layers.1.ffn.up.bias"), "{e}");
}

#[test]
fn minilm_on_the_gpu_matches_the_original_model() {
    let Some(dir) = model_dir() else { return };
    let g = gpu();
    let model = HfBert::load(&dir).expect("load all-MiniLM-L6-v2");
    let tok = TextTokenizer::load(&model.tokenizer, 24).expect("tokenizer.json");
    let batch = tok.encode_batch(&SENTENCES).unwrap();
    for (b, want) in IDS.iter().enumerate() {
        assert_eq!(&batch.row(b)[..want.len()], *want);
    }
    let enc = TextEncoder::from_hf(&g, &model).unwrap();
    let tape = Tape::new(&g);
    let _ng = tape.no_grad();
    let text = TextBatch {
        ids: &batch.ids,
        token_types: &batch.token_types,
        mask: &batch.attention_mask,
        batch: batch.batch,
        len: batch.max_len,
    };
    let mean = enc.forward(&tape, text).unwrap().pooled.to_vec().unwrap();
    let worst = check_mean_pooled(&mean);
    println!("GPU: largest |difference| from the original's mean-pooled values: {worst:.2e}");
}
