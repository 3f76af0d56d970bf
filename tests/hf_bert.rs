//! Hugging Face BERT import on a small random model written in Hugging Face's layout (names
//! with a `bert.` prefix, `[out, in]` linear weights, f16 and bf16 tensors, unused extras), and
//! the CPU BERT forward's masking, pooling and GELU.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use locomotion::data::tokenizer::TextTokenizer;
use locomotion::model::bert_cpu::{BertCpu, attention, erf, gelu, mean_pool};
use locomotion::model::config::ModelConfig;
use locomotion::model::hf_bert::{HfBert, map_hf_name};
use locomotion::model::params::model_parameter_shapes;
use locomotion::train::init_text::keep_layers;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safetensors::Dtype;

// Every linear weight but the attention's four is non-square, and the HF [out, in] and
// engine [in, out] layouts of the FFN differ in shape as well as in order.
const H: usize = 6;
const I: usize = 10;
const LAYERS: usize = 2;

/// HF name → (shape, values, dtype); values are exact in f16/bf16 where stored so.
type HfTensors = BTreeMap<String, (Vec<usize>, Vec<f32>, Dtype)>;

fn hf_tensors(vocab: usize, seed: u64) -> HfTensors {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut t = HfTensors::new();
    let mut add = |name: &str, shape: Vec<usize>, dtype: Dtype| {
        let n: usize = shape.iter().product();
        let vals = (0..n)
            .map(|_| {
                let v: f32 = rng.random_range(-1.0..1.0);
                match dtype {
                    Dtype::F16 => half::f16::from_f32(v).to_f32(),
                    Dtype::BF16 => half::bf16::from_f32(v).to_f32(),
                    _ => v,
                }
            })
            .collect();
        t.insert(format!("bert.{name}"), (shape, vals, dtype));
    };
    add(
        "embeddings.word_embeddings.weight",
        vec![vocab, H],
        Dtype::F16,
    );
    add(
        "embeddings.position_embeddings.weight",
        vec![16, H],
        Dtype::F32,
    );
    add(
        "embeddings.token_type_embeddings.weight",
        vec![2, H],
        Dtype::F32,
    );
    add("embeddings.LayerNorm.weight", vec![H], Dtype::F32);
    add("embeddings.LayerNorm.bias", vec![H], Dtype::F32);
    for l in 0..LAYERS {
        let p = format!("encoder.layer.{l}");
        for m in [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
        ] {
            add(&format!("{p}.{m}.weight"), vec![H, H], Dtype::BF16);
            add(&format!("{p}.{m}.bias"), vec![H], Dtype::F32);
        }
        add(
            &format!("{p}.attention.output.LayerNorm.weight"),
            vec![H],
            Dtype::F32,
        );
        add(
            &format!("{p}.attention.output.LayerNorm.bias"),
            vec![H],
            Dtype::F32,
        );
        add(
            &format!("{p}.intermediate.dense.weight"),
            vec![I, H],
            Dtype::F32,
        );
        add(&format!("{p}.intermediate.dense.bias"), vec![I], Dtype::F32);
        add(&format!("{p}.output.dense.weight"), vec![H, I], Dtype::F32);
        add(&format!("{p}.output.dense.bias"), vec![H], Dtype::F32);
        add(&format!("{p}.output.LayerNorm.weight"), vec![H], Dtype::F32);
        add(&format!("{p}.output.LayerNorm.bias"), vec![H], Dtype::F32);
    }
    add("pooler.dense.weight", vec![H, H], Dtype::F32);
    t
}

fn bytes_of(vals: &[f32], dtype: Dtype) -> Vec<u8> {
    match dtype {
        Dtype::F16 => vals
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect(),
        Dtype::BF16 => vals
            .iter()
            .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
            .collect(),
        _ => vals.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// Write config.json, model.safetensors (plus an i64 `position_ids` buffer) and tokenizer.json.
fn write_hf_folder(
    dir: &Path,
    tensors: &HfTensors,
    tok: &TextTokenizer,
    config_edit: impl FnOnce(&mut serde_json::Value),
) {
    let mut cfg = serde_json::json!({
        "architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu",
        "hidden_size": H, "intermediate_size": I, "num_attention_heads": 2,
        "num_hidden_layers": LAYERS, "max_position_embeddings": 16, "type_vocab_size": 2,
        "vocab_size": tok.vocab_size(), "layer_norm_eps": 1e-12,
        "position_embedding_type": "absolute", "hidden_dropout_prob": 0.1
    });
    config_edit(&mut cfg);
    std::fs::write(dir.join("config.json"), cfg.to_string()).unwrap();
    let data: Vec<(String, Vec<usize>, Vec<u8>, Dtype)> = tensors
        .iter()
        .map(|(n, (s, v, d))| (n.clone(), s.clone(), bytes_of(v, *d), *d))
        .chain(std::iter::once((
            "bert.embeddings.position_ids".to_string(),
            vec![1, 16],
            (0..16i64).flat_map(|i| i.to_le_bytes()).collect(),
            Dtype::I64,
        )))
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = data
        .iter()
        .map(|(n, s, b, d)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let bytes = safetensors::serialize(views, None::<HashMap<String, String>>).unwrap();
    std::fs::write(dir.join("model.safetensors"), bytes).unwrap();
    tok.save(&dir.join("tokenizer.json")).unwrap();
}

fn tokenizer() -> TextTokenizer {
    let caps = [
        "the ball rolls to the left",
        "a cat jumps up quickly",
        "the box slides down slowly",
    ];
    TextTokenizer::train(&caps, 60, 10, false).unwrap()
}

/// Where each Hugging Face tensor must arrive, written out from BERT's and the engine's
/// layouts (not from `map_hf_name`, the function under test): (HF name, engine name, whether
/// it is a linear weight that HF stores `[out, in]`).
fn where_each_tensor_goes() -> Vec<(String, String, bool)> {
    let mut t: Vec<(String, String, bool)> = [
        ("embeddings.word_embeddings.weight", "embeddings.word"),
        (
            "embeddings.position_embeddings.weight",
            "embeddings.position",
        ),
        (
            "embeddings.token_type_embeddings.weight",
            "embeddings.token_type",
        ),
        ("embeddings.LayerNorm.weight", "embeddings.ln.gamma"),
        ("embeddings.LayerNorm.bias", "embeddings.ln.beta"),
    ]
    .iter()
    .map(|(h, e)| (format!("bert.{h}"), format!("text.{e}"), false))
    .collect();
    for l in 0..LAYERS {
        let (hf, ours) = (
            format!("bert.encoder.layer.{l}"),
            format!("text.layers.{l}"),
        );
        for (h, e) in [
            ("attention.self.query", "attn.q"),
            ("attention.self.key", "attn.k"),
            ("attention.self.value", "attn.v"),
            ("attention.output.dense", "attn.out"),
            ("intermediate.dense", "ffn.up"),
            ("output.dense", "ffn.down"),
        ] {
            t.push((
                format!("{hf}.{h}.weight"),
                format!("{ours}.{e}.weight"),
                true,
            ));
            t.push((format!("{hf}.{h}.bias"), format!("{ours}.{e}.bias"), false));
        }
        for (h, e) in [
            ("attention.output.LayerNorm", "attn.ln"),
            ("output.LayerNorm", "ffn.ln"),
        ] {
            t.push((
                format!("{hf}.{h}.weight"),
                format!("{ours}.{e}.gamma"),
                false,
            ));
            t.push((format!("{hf}.{h}.bias"), format!("{ours}.{e}.beta"), false));
        }
    }
    t
}

/// The tiny preset with `m` as its text encoder (`--init-text`): the model's `text.*`
/// parameter names and shapes.
fn imported_text_shapes(m: &HfBert) -> Vec<(String, Vec<usize>)> {
    let mut cfg = ModelConfig::preset("tiny").unwrap();
    m.init_text(&mut cfg).unwrap();
    model_parameter_shapes(&cfg)
        .into_iter()
        .filter(|(n, _)| n.starts_with("text."))
        .collect()
}

#[test]
fn import_maps_names_transposes_linears_and_converts_half_precision() {
    let dir = tempfile::tempdir().unwrap();
    let tok = tokenizer();
    let hf = hf_tensors(tok.vocab_size(), 1);
    write_hf_folder(dir.path(), &hf, &tok, |_| {});
    let m = HfBert::load(dir.path()).unwrap();
    assert_eq!(m.config.hidden_size, H);
    assert_eq!(
        m.weights.len(),
        5 + LAYERS * 16,
        "only the encoder's tensors are kept"
    );
    let table = where_each_tensor_goes();
    assert_eq!(table.len(), m.weights.len(), "only the table's tensors");
    for (hf_name, engine, linear) in &table {
        let (shape, vals, _) = &hf[hf_name];
        let t = m
            .weights
            .get(engine)
            .unwrap_or_else(|| panic!("{hf_name} should arrive as {engine}"));
        if !linear {
            assert_eq!((&t.shape, &t.data), (shape, vals), "{hf_name} → {engine}");
            continue;
        }
        // HF computes y = x·Wᵀ + b with W [out, in]; the engine's x·W' must give the same y.
        let (o, i) = (shape[0], shape[1]);
        assert_eq!(t.shape, [i, o], "{hf_name} → {engine} is [in, out]");
        let x: Vec<f32> = (0..i).map(|k| 0.25 + k as f32 * 0.5).collect();
        for r in 0..o {
            let hf_y: f64 = (0..i).map(|k| vals[r * i + k] as f64 * x[k] as f64).sum();
            let ours: f64 = (0..i).map(|k| x[k] as f64 * t.data[k * o + r] as f64).sum();
            assert!(
                (hf_y - ours).abs() < 1e-9,
                "{hf_name} → {engine}: output {r}"
            );
        }
    }
    assert!(
        m.weights
            .keys()
            .all(|k| table.iter().any(|(_, e, _)| e == k)),
        "an imported tensor the table does not name"
    );
    // --init-text: the imported weights are exactly the model's text.* parameters.
    let text = imported_text_shapes(&m);
    assert_eq!(text.len(), m.weights.len());
    for (name, shape) in text {
        assert_eq!(m.weights[&name].shape, shape, "{name}");
    }
    assert_eq!(
        map_hf_name("encoder.layer.3.output.LayerNorm.gamma")
            .unwrap()
            .name,
        "text.layers.3.ffn.ln.gamma"
    );
    assert!(map_hf_name("cls.predictions.bias").is_none());
}

#[test]
fn padding_and_padded_ids_do_not_change_real_tokens_or_the_mean() {
    let dir = tempfile::tempdir().unwrap();
    let tok = tokenizer();
    write_hf_folder(dir.path(), &hf_tensors(tok.vocab_size(), 2), &tok, |_| {});
    let m = HfBert::load(dir.path()).unwrap();
    let bert = BertCpu::new(&m.config, &m.weights);
    let text = ["the cat rolls left"];
    let long = TextTokenizer::load(&m.tokenizer, 13)
        .unwrap()
        .encode_batch(&text)
        .unwrap();
    let n = long.attention_mask.iter().filter(|&&x| x == 1).count();
    assert!(n < 12, "the caption must leave padding: {:?}", long.ids);
    let short = TextTokenizer::load(&m.tokenizer, n)
        .unwrap()
        .encode_batch(&text)
        .unwrap();
    assert_eq!(short.ids, long.ids[..n], "same pieces without padding");
    let hs = bert
        .forward(&short.ids, &short.token_types, &short.attention_mask, 1, n)
        .unwrap();
    let mut ids = long.ids.clone();
    ids[12] = 7; // a different id under the mask must not matter
    let hl = bert
        .forward(&ids, &long.token_types, &long.attention_mask, 1, 13)
        .unwrap();
    for (a, b) in hs.iter().zip(&hl[..n * H]) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    let ps = mean_pool(&hs, &short.attention_mask, 1, n, true);
    let pl = mean_pool(&hl, &long.attention_mask, 1, 13, true);
    for (a, b) in ps.iter().zip(&pl) {
        assert!((a - b).abs() < 1e-6);
    }
    assert!(
        (ps.iter().map(|v| v * v).sum::<f32>() - 1.0).abs() < 1e-5,
        "not unit length"
    );
    // Token types matter: segment 1 changes the output.
    let types = vec![1u32; n];
    let ht = bert
        .forward(&short.ids, &types, &short.attention_mask, 1, n)
        .unwrap();
    assert!(ht.iter().zip(&hs).any(|(a, b)| (a - b).abs() > 1e-3));
}

#[test]
fn unusable_folders_give_errors_naming_the_file_and_tensor() {
    let tok = tokenizer();
    let hf = hf_tensors(tok.vocab_size(), 3);
    let load_err = |edit: &dyn Fn(&mut serde_json::Value), drop: Option<&str>| {
        let dir = tempfile::tempdir().unwrap();
        let mut t = hf.clone();
        if let Some(d) = drop {
            t.remove(d);
        }
        write_hf_folder(dir.path(), &t, &tok, |c| edit(c));
        format!("{:#}", HfBert::load(dir.path()).unwrap_err())
    };
    let e = load_err(
        &|_| {},
        Some("bert.encoder.layer.1.intermediate.dense.bias"),
    );
    assert!(
        e.contains("model.safetensors") && e.contains("text.layers.1.ffn.up.bias"),
        "{e}"
    );
    let e = load_err(
        &|c| c["position_embedding_type"] = "relative_key".into(),
        None,
    );
    assert!(
        e.contains("config.json") && e.contains("relative_key"),
        "{e}"
    );
    let e = load_err(&|c| c["hidden_act"] = "gelu_new".into(), None);
    assert!(e.contains("hidden_act"), "{e}");
    let e = load_err(&|c| c["intermediate_size"] = 16.into(), None);
    assert!(
        e.contains("text.layers.0.ffn.up.weight") && e.contains("[6, 10]"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let e = format!(
        "{:#}",
        HfBert::load(&dir.path().join("absent")).unwrap_err()
    );
    assert!(e.contains("absent") && e.contains("not found"), "{e}");
}

#[test]
fn erf_and_gelu_match_known_values() {
    // erf from tables (Abramowitz & Stegun / mpmath to 16 digits).
    for (x, want) in [
        (0.0, 0.0),
        (0.1, 0.1124629160182849),
        (0.5, 0.5204998778130465),
        (1.0, 0.8427007929497149),
        (2.0, 0.9953222650189527),
        (2.5, 0.999_593_047_982_555),
        (3.5, 0.9999992569016276),
        (-1.0, -0.8427007929497149),
    ] {
        assert!(
            (erf(x) - want).abs() < 1e-13,
            "erf({x}) = {} vs {want}",
            erf(x)
        );
    }
    // GELU(1) = Φ(1) = 0.841344746068543; GELU(−2) = −2·Φ(−2).
    assert!((gelu(1.0) - 0.841344746068543).abs() < 1e-13);
    assert!((gelu(-2.0) + 2.0 * 0.022750131948179195).abs() < 1e-13);
}

#[test]
fn cross_attention_shapes_masking_and_softmax_weights() {
    // 2 queries over 3 keys, 2 heads of width 1 (scale 1); key 2 is masked out.
    let q = [1.0, 0.0, 0.0, 0.0];
    let k = [1.0, 5.0, 2.0, -5.0, 9.0, 9.0];
    let v = [10.0, 1.0, 20.0, 2.0, 1000.0, 1000.0];
    let out = attention(&q, &k, &v, &[1, 1, 0], 2);
    assert_eq!(out.len(), 4, "[Lq, H]");
    // Query 0, head 0: scores 1 and 2 → softmax weights e/(e+e²), e²/(e+e²).
    let e = std::f64::consts::E;
    let want = (10.0 * e + 20.0 * e * e) / (e + e * e);
    assert!((out[0] as f64 - want).abs() < 1e-5, "{out:?}");
    // Zero queries (query 0 head 1, query 1) weigh the unmasked keys equally; the masked
    // key's value (1000) never leaks in.
    assert!(
        (out[1] - 1.5).abs() < 1e-6 && (out[2] - 15.0).abs() < 1e-6,
        "{out:?}"
    );
    assert!((out[3] - 1.5).abs() < 1e-6, "{out:?}");
}

/// `--text-layers K` on a small folder: the first K layers' weights, unchanged, and exactly
/// the parameters of a text encoder with K layers; K outside 1..=layers refused by name.
#[test]
fn text_layers_keeps_the_first_layers_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let tok = tokenizer();
    write_hf_folder(dir.path(), &hf_tensors(tok.vocab_size(), 3), &tok, |_| {});
    let full = HfBert::load(dir.path()).unwrap();
    let mut m = HfBert::load(dir.path()).unwrap();
    keep_layers(&mut m, 1).unwrap();
    assert_eq!(m.config.num_hidden_layers, 1);
    let text = imported_text_shapes(&m);
    assert_eq!(text.len(), m.weights.len());
    assert_eq!(text.len(), 5 + 16);
    for (name, shape) in text {
        assert_eq!(m.weights[&name].shape, shape, "{name}");
        assert_eq!(m.weights[&name].data, full.weights[&name].data, "{name}");
    }
    for k in [0, LAYERS + 1] {
        let e = keep_layers(&mut HfBert::load(dir.path()).unwrap(), k).unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains(&format!("--text-layers {k}")) && e.contains("2 layers"),
            "{e}"
        );
    }
}
