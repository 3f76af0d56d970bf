//! Whole-model gradient checks: the VTC, VTM and MLM losses of [`LocoModel::forward_losses`]
//! (video, text and cross encoders, every head and embedding, wired as training wires them),
//! differentiated by the tape, against central finite differences of the same forward.
//! Each parameter tensor of the sample (see [`sampled`]: something in every encoder, head and
//! embedding) is moved along its own random direction; the tape's directional derivative
//! must match the finite difference of each loss. The kernels are checked one by
//! one elsewhere: what this catches is a wiring bug between them (a residual whose gradient
//! is dropped, a transpose missing on a square weight, a head fed the wrong states).
//!
//! Odd sizes throughout: video width 21 (3 heads of 7), text width 15 (3 heads of 5), 12
//! tubelets + [CLS], 7 text positions with padding, embed dim 11, vocabulary 37.

mod common;

use common::gpu;
use common::vlm::random_map;
use locomotion::gpu::Gpu;
use locomotion::model::config::{BertConfig, ModelConfig, VideoEncoderConfig};
use locomotion::model::locomotion::{LocoModel, PairBatch};
use locomotion::model::params::model_parameter_shapes;
use locomotion::nn::Activation;
use locomotion::tensor::ops::loss::IGNORE_INDEX;
use locomotion::tensor::{Tape, Tensor};

/// The tiny preset with every size odd or mismatched (see the file's header).
fn odd_cfg() -> ModelConfig {
    let mut cfg = ModelConfig::preset("tiny").unwrap();
    cfg.video = VideoEncoderConfig {
        frames: 4,
        height: 9,
        width: 10,
        channels: 3,
        tubelet: [2, 3, 5],
        hidden_size: 21,
        num_layers: 2,
        num_heads: 3,
        mlp_ratio: 2,
        layer_norm_eps: 1e-6,
        frame_differences: false,
        hidden_act: Activation::Gelu,
        pre_norm: false,
    };
    cfg.text = BertConfig::new(37, 15, 1, 3, 23, 9);
    cfg.cross.num_layers = 2;
    cfg.cross.cross_attention_freq = 2;
    cfg.heads.embed_dim = 11;
    cfg.heads.center = true;
    cfg
}

/// Three clips and captions of 7 tokens (the last caption padded after 5), positions 2 and
/// 4 masked for MLM.
struct Data {
    pixels: Vec<f32>,
    ids: Vec<u32>,
    types: Vec<u32>,
    mask: Vec<u32>,
    mlm_ids: Vec<u32>,
    labels: Vec<u32>,
}

const B: usize = 3;
const L: usize = 7;

impl Data {
    fn new(cfg: &ModelConfig) -> Self {
        let v = &cfg.video;
        let ids: Vec<u32> = (0..B * L)
            .map(|i| 5 + (i as u32 * 13 + 7) % (cfg.text.vocab_size as u32 - 5))
            .collect();
        let mask: Vec<u32> = (0..B * L)
            .map(|i| u32::from(i < (B - 1) * L || i % L < 5))
            .collect();
        let masked = |i: usize| i % L == 2 || i % L == 4;
        Self {
            pixels: common::random(B * v.frames * v.channels * v.height * v.width, 31),
            types: (0..B * L).map(|i| u32::from(i % L >= 4)).collect(),
            mlm_ids: (0..B * L)
                .map(|i| if masked(i) { 3 } else { ids[i] })
                .collect(),
            labels: (0..B * L)
                .map(|i| if masked(i) { ids[i] } else { IGNORE_INDEX })
                .collect(),
            ids,
            mask,
        }
    }

    fn pair(&self, g: &Gpu, cfg: &ModelConfig) -> PairBatch<'_> {
        let v = &cfg.video;
        PairBatch {
            video: Tensor::from_host(
                g,
                &self.pixels,
                [B, v.frames, v.channels, v.height, v.width],
            )
            .unwrap(),
            batch: B,
            len: L,
            ids: &self.ids,
            token_types: &self.types,
            mask: &self.mask,
            mlm_ids: &self.mlm_ids,
            mlm_labels: &self.labels,
            negative_seed: 5,
            duplicates: None,
            shard: None,
        }
    }
}

const NAMES: [&str; 3] = ["VTC", "VTM", "MLM"];

/// The three losses, in f64, without recording a tape.
fn losses(g: &Gpu, model: &LocoModel, data: &Data) -> [f64; 3] {
    let tape = Tape::new(g);
    let _off = tape.no_grad();
    let l = model
        .forward_losses(&tape, &data.pair(g, &model.cfg))
        .unwrap();
    [&l.vtc, &l.vtm, &l.mlm].map(|t| t.to_vec().unwrap()[0] as f64)
}

/// Each parameter's gradient of loss `which` (0 VTC, 1 VTM, 2 MLM) from the tape, zeros
/// where the tape gives none.
fn tape_gradients(g: &Gpu, model: &LocoModel, data: &Data, which: usize) -> Vec<Vec<f32>> {
    let params = model.parameters();
    params.iter().for_each(|(_, p)| p.zero_grad());
    let tape = Tape::new(g);
    let l = model
        .forward_losses(&tape, &data.pair(g, &model.cfg))
        .unwrap();
    tape.backward([&l.vtc, &l.vtm, &l.mlm][which]).unwrap();
    params
        .iter()
        .map(|(_, p)| {
            p.grad_to_vec()
                .unwrap()
                .unwrap_or_else(|| vec![0.0; p.numel()])
        })
        .collect()
}

/// One parameter tensor's check: the tape's directional derivatives of the three losses and
/// their central finite differences along the same direction.
struct Directional {
    name: String,
    tape: [f64; 3],
    fd: [f64; 3],
}

/// The tensors checked: everything outside the transformer blocks (patch, position, [CLS],
/// word, position and segment embeddings, final norms, every head, the temperature) and,
/// inside every block of every encoder, each weight matrix and layer-norm gain. Block biases
/// are left out for time: they are one broadcast add each, checked by the kernel tests.
fn sampled(name: &str) -> bool {
    !name.contains(".layers.") || !(name.ends_with(".bias") || name.ends_with(".beta"))
}

/// Each entry moves by at most H along the direction: measured on this model, the finite
/// differences agree with the tape to about 1e-3 for H from 3e-3 to 1e-2; above 3e-2 the
/// curvature (and a changed VTM hard-negative draw) shows, below 1e-3 f32 rounding does.
const H: f64 = 5e-3;

/// Move each sampled parameter tensor along its own random direction d (entries uniform in
/// [-1, 1)) by ±H and difference the three losses.
fn directional_checks(g: &Gpu, model: &LocoModel, data: &Data) -> Vec<Directional> {
    let grads: Vec<Vec<Vec<f32>>> = (0..3).map(|k| tape_gradients(g, model, data, k)).collect();
    let mut out = Vec::new();
    for (i, (name, p)) in model.parameters().into_iter().enumerate() {
        if !sampled(&name) {
            continue;
        }
        let x0 = p.to_vec().unwrap();
        let d = common::random(x0.len(), 7000 + i as u64);
        let tape = std::array::from_fn(|k| {
            grads[k][i]
                .iter()
                .zip(&d)
                .map(|(&a, &b)| a as f64 * b as f64)
                .sum()
        });
        let moved = |sign: f64| {
            let x: Vec<f32> = x0
                .iter()
                .zip(&d)
                .map(|(&x, &dx)| (x as f64 + sign * H * dx as f64) as f32)
                .collect();
            g.write(p.buffer(), &x);
            losses(g, model, data)
        };
        let (up, down) = (moved(1.0), moved(-1.0));
        g.write(p.buffer(), &x0);
        let fd = std::array::from_fn(|k| (up[k] - down[k]) / (2.0 * H));
        out.push(Directional { name, tape, fd });
    }
    out
}

/// Agreement required of the tape with the finite difference: `RTOL` of the derivative plus
/// `ATOL` (f32 rounding of the losses over 2H, and the exact zeros of key biases and of the
/// centred VTC projection biases, whose tape values are rounding noise).
const RTOL: f64 = 2e-2;
const ATOL: f64 = 2e-4;

/// The checks that fail: "name loss: tape … finite difference …".
fn failures(checks: &[Directional]) -> Vec<String> {
    let mut bad = Vec::new();
    for c in checks {
        for ((&t, &f), loss) in c.tape.iter().zip(&c.fd).zip(NAMES) {
            // Written so that a NaN fails.
            let agree = (t - f).abs() <= RTOL * t.abs() + ATOL;
            if !agree {
                bad.push(format!(
                    "{} {loss}: tape {t:+.5e}, finite difference {f:+.5e}",
                    c.name
                ));
            }
        }
    }
    bad
}

#[test]
fn every_parameters_gradient_of_vtc_vtm_and_mlm_matches_finite_differences() {
    let g = gpu();
    let cfg = odd_cfg();
    let weights = random_map(&model_parameter_shapes(&cfg), 41);
    let model = LocoModel::from_weights(&g, &cfg, &weights).unwrap();
    let data = Data::new(&cfg);
    let checks = directional_checks(&g, &model, &data);
    // Every part of the model is in the sample, and each loss reaches what it should.
    for part in ["video.", "text.", "cross.", "heads."] {
        assert!(checks.iter().any(|c| c.name.starts_with(part)), "{part}");
    }
    let moves = |k: usize, c: &Directional| c.tape[k].abs() > 10.0 * ATOL;
    for (k, loss) in NAMES.iter().enumerate() {
        let reached: Vec<&str> = ["video.", "text.", "cross.", "heads."]
            .into_iter()
            .filter(|part| {
                checks
                    .iter()
                    .any(|c| c.name.starts_with(part) && moves(k, c))
            })
            .collect();
        let want: &[&str] = match k {
            0 => &["video.", "text.", "heads."],
            _ => &["video.", "text.", "cross.", "heads."],
        };
        assert_eq!(reached, want, "{loss} has a gradient in");
    }
    let bad = failures(&checks);
    assert!(
        bad.is_empty(),
        "{} of {} directional derivatives disagree with finite differences:\n{}",
        bad.len(),
        3 * checks.len(),
        bad.join("\n")
    );
}
