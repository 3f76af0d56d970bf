//! `pretrain --init-text`: a Hugging Face BERT folder (the real all-MiniLM-L6-v2) becomes the
//! text encoder of a tiny-preset run, its tokenizer the run's, and the checkpoint reloads and
//! evaluates. Without `LOCOMOTION_MINILM_DIR` the MiniLM test prints SKIP (fails under CI).

mod common;

use std::path::Path;

use common::cli::fails_with;
use common::minilm::model_dir;
use locomotion::eval::retrieval::{EvalConfig, evaluate};
use locomotion::model::checkpoint::Checkpoint;
use locomotion::model::config::ModelConfig;
use locomotion::model::hf_bert::HfBert;
use locomotion::train::config::TrainConfig;
use locomotion::train::init_text::InitText;
use locomotion::train::trainer::train;

fn config(out: &Path, init_text: &Path) -> TrainConfig {
    TrainConfig {
        // So small that two AdamW steps leave the imported weights as they were (|Δ| ~ 1e-12).
        lr: 1e-12,
        seed: 3,
        init_text: Some(InitText::new(init_text)),
        ..common::tiny_run(out)
    }
}

#[test]
fn init_text_starts_the_text_encoder_from_minilm_and_the_run_reloads() {
    let Some(minilm) = model_dir() else { return };
    let hf = HfBert::load(&minilm).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gpu = common::gpu();
    let s = train(&gpu, &config(dir.path(), &minilm)).unwrap();
    assert_eq!(s.step, 2);

    let ck = Checkpoint::load(&dir.path().join("checkpoint")).unwrap();
    let tiny = ModelConfig::preset("tiny").unwrap();
    assert_eq!(
        ck.config.model.text, hf.config,
        "the text config is MiniLM's"
    );
    assert_eq!(ck.config.model.text.hidden_size, 384);
    assert_eq!(
        (
            &ck.config.model.video,
            &ck.config.model.cross,
            ck.config.model.heads.embed_dim
        ),
        (&tiny.video, &tiny.cross, tiny.heads.embed_dim),
        "the preset's video encoder, cross encoder and heads stay"
    );
    // The cross encoder and heads take the text width.
    assert_eq!(ck.tensors["cross.layers.0.attn.q.weight"].shape, [384, 384]);
    assert_eq!(ck.tensors["heads.vtc.text_proj.weight"].shape, [384, 32]);
    assert_eq!(ck.tensors["heads.mlm.decoder_bias"].shape, [30522]);
    for (name, want) in &hf.weights {
        let got = &ck.tensors[name];
        assert_eq!(got.shape, want.shape, "{name}");
        let worst = got
            .data
            .iter()
            .zip(&want.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-6, "{name} moved {worst} from the MiniLM weights");
    }
    assert_eq!(
        ck.config.state.extra["init_text"],
        minilm.display().to_string()
    );

    // The run's tokenizer is MiniLM's: the same ids for a caption.
    let saved = std::fs::read_to_string(dir.path().join("tokenizer.json")).unwrap();
    let tok =
        locomotion::data::tokenizer::TextTokenizer::load(&dir.path().join("tokenizer.json"), 16)
            .unwrap();
    assert!(saved.contains("\"[MASK]\""));
    assert_eq!(tok.vocab_size(), 30522);
    assert_eq!(
        tok.encode_batch(&["Hello world"]).unwrap().row(0)[..4],
        [101, 7592, 2088, 102]
    );

    // eval reloads the checkpoint with its tokenizer.
    let cfg = EvalConfig {
        clips: 4,
        batch: 2,
        captions: "motion".into(),
        seed: 1,
        progress: false,
        data: None,
        rerank_vtm: 0,
    };
    let m = evaluate(&gpu, dir.path(), &cfg).unwrap();
    assert_eq!(m.text_to_video.queries, 4);
}

#[test]
fn a_missing_or_broken_init_text_folder_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out = out.to_str().unwrap();
    let init_text_fails_with = |folder: &Path, needle: &str| {
        let folder = folder.to_str().unwrap();
        fails_with(&["pretrain", "--out", out, "--init-text", folder], needle);
    };
    init_text_fails_with(&dir.path().join("no-such-model"), "no-such-model");
    // A folder with a config but no weights names the weights file.
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(
        broken.join("config.json"),
        r#"{"vocab_size": 30, "hidden_size": 8, "num_hidden_layers": 1,
            "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 16}"#,
    )
    .unwrap();
    init_text_fails_with(&broken, "model.safetensors");
    std::fs::write(broken.join("config.json"), "{ not json").unwrap();
    init_text_fails_with(&broken, "config.json");
}
