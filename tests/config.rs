//! Model configs: presets, JSON round trips, validation errors naming the field, and
//! parameter counts checked against published BERT sizes.

use locomotion::model::config::{BertConfig, ModelConfig, PRESETS};
use locomotion::model::params::{model_parameter_shapes, text_parameter_shapes};

fn count(shapes: &[(String, Vec<usize>)]) -> usize {
    shapes
        .iter()
        .map(|(_, s)| s.iter().product::<usize>())
        .sum()
}

#[test]
fn presets_validate_and_grow() {
    let mut last = 0;
    for name in PRESETS {
        let cfg = ModelConfig::preset(name).unwrap();
        cfg.validate().unwrap();
        let n = cfg.parameter_count();
        println!("preset {name}: {n} parameters");
        assert!(
            n > last,
            "{name} ({n}) is not larger than the previous preset ({last})"
        );
        last = n;
        assert_eq!(cfg.loss_weights.vtc, 1.0);
        assert_eq!((cfg.loss_weights.vtm, cfg.loss_weights.mlm), (1.0, 1.0));
    }
    let tiny = ModelConfig::preset("tiny").unwrap();
    assert_eq!(tiny.video.grid(), [4, 4, 4]);
    assert_eq!(tiny.text.max_position_embeddings, 32);
    assert!(
        tiny.parameter_count() < 1_000_000,
        "tiny must stay tiny for lavapipe"
    );
    let e = ModelConfig::preset("huge").unwrap_err().to_string();
    assert!(e.contains("huge") && e.contains("tiny, small, base"), "{e}");
}

/// BERT-base has 109 482 240 parameters with its pooler (768·768 + 768 = 590 592), which the
/// engine does not use; all-MiniLM-L6-v2 has 22 713 216 with its pooler (147 840).
#[test]
fn text_encoder_sizes_match_published_bert_models() {
    let base = ModelConfig::preset("base").unwrap();
    assert_eq!(
        count(&text_parameter_shapes(&base.text)),
        109_482_240 - 590_592
    );
    let small = ModelConfig::preset("small").unwrap();
    assert_eq!(
        count(&text_parameter_shapes(&small.text)),
        22_713_216 - 147_840
    );
}

#[test]
fn parameter_names_are_unique_and_shapes_consistent() {
    for name in PRESETS {
        let cfg = ModelConfig::preset(name).unwrap();
        let shapes = model_parameter_shapes(&cfg);
        let mut names: Vec<_> = shapes.iter().map(|(n, _)| n.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(
            names.len(),
            shapes.len(),
            "duplicate parameter names in {name}"
        );
        let get = |n: &str| shapes.iter().find(|(m, _)| m == n).unwrap().1.clone();
        let (hv, h) = (cfg.video.hidden_size, cfg.text.hidden_size);
        assert_eq!(get("video.patch.weight"), [cfg.video.tubelet_dim(), hv]);
        assert_eq!(get("cross.layers.0.xattn.k.weight"), [hv, h]);
        assert_eq!(get("heads.vtc.text_proj.weight"), [h, cfg.heads.embed_dim]);
        assert_eq!(get("heads.mlm.decoder_bias"), [cfg.text.vocab_size]);
    }
}

#[test]
fn json_round_trip_and_file_save_load() {
    let dir = tempfile::tempdir().unwrap();
    for name in PRESETS {
        let cfg = ModelConfig::preset(name).unwrap();
        let path = dir.path().join(format!("{name}.json"));
        cfg.save(&path).unwrap();
        assert_eq!(ModelConfig::load(&path).unwrap(), cfg);
    }
    let e = format!(
        "{:#}",
        ModelConfig::load(&dir.path().join("missing.json")).unwrap_err()
    );
    assert!(e.contains("missing.json"), "{e}");
}

fn edited(f: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut v = serde_json::to_value(ModelConfig::preset("tiny").unwrap()).unwrap();
    f(&mut v);
    match ModelConfig::from_json(&v.to_string()) {
        Ok(_) => panic!("an invalid config was accepted: {v}"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn validation_errors_name_the_field() {
    let e = edited(|v| v["text"]["num_attention_heads"] = 3.into());
    assert!(
        e.contains("text.hidden_size (64) must be divisible by text.num_attention_heads (3)"),
        "{e}"
    );
    let e = edited(|v| v["video"]["num_heads"] = 5.into());
    assert!(
        e.contains("video.hidden_size") && e.contains("video.num_heads"),
        "{e}"
    );
    let e = edited(|v| v["video"]["tubelet"] = serde_json::json!([3, 8, 8]));
    assert!(
        e.contains("video.tubelet (3) must divide video.frames (8)"),
        "{e}"
    );
    let e = edited(|v| v["cross"]["num_layers"] = 0.into());
    assert!(e.contains("cross.num_layers"), "{e}");
    let e = edited(|v| v["heads"]["temperature"] = 0.0.into());
    assert!(e.contains("heads.temperature"), "{e}");
    let e = edited(|v| v["loss_weights"]["mlm"] = (-1.0).into());
    assert!(e.contains("loss_weights.mlm"), "{e}");
    let e = edited(|v| v["text"]["hidden_act"] = "relu".into());
    assert!(e.contains("text.hidden_act"), "{e}");
    // A typo is caught by name rather than silently ignored.
    let e = edited(|v| v["video"]["hiden_size"] = 8.into());
    assert!(e.contains("hiden_size"), "{e}");
    let e = edited(|v| {
        v["heads"]
            .as_object_mut()
            .unwrap()
            .remove("embed_dim")
            .map(|_| ())
            .unwrap()
    });
    assert!(e.contains("embed_dim"), "{e}");
}

#[test]
fn loss_weights_default_to_one_each_when_absent() {
    let mut v = serde_json::to_value(ModelConfig::preset("tiny").unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("loss_weights");
    let cfg = ModelConfig::from_json(&v.to_string()).unwrap();
    assert_eq!(
        (
            cfg.loss_weights.vtc,
            cfg.loss_weights.vtm,
            cfg.loss_weights.mlm
        ),
        (1.0, 1.0, 1.0)
    );
}

#[test]
fn a_hugging_face_bert_config_reads_as_the_text_config() {
    let hf = r#"{"architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu", "hidden_size": 384, "intermediate_size": 1536,
        "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
        "num_attention_heads": 12, "num_hidden_layers": 6, "type_vocab_size": 2,
        "vocab_size": 30522}"#;
    let cfg: BertConfig = serde_json::from_str(hf).unwrap();
    assert_eq!(cfg, ModelConfig::preset("small").unwrap().text);
    assert_eq!(cfg.head_dim(), 32);
}
