//! The VTC / VTM / MLM heads: VTC similarities against a CPU cosine, the heads' shapes and
//! input checks, and the whole pre-training objective (VTC + VTM + MLM through the video,
//! text and cross encoders) on a tiny random batch, whose backward reaches every parameter.

mod common;

use common::vlm::{assert_every_gradient, model_cfg};
use common::{gpu, gpu_path, random, rel_err};
use locomotion::gpu::Gpu;
use locomotion::model::cross::CrossEncoder;
use locomotion::model::heads::Heads;
use locomotion::model::text::{TextBatch, TextEncoder};
use locomotion::model::video::VideoEncoder;
use locomotion::nn::first_rows;
use locomotion::tensor::ops::elementwise::add;
use locomotion::tensor::ops::embedding::embedding;
use locomotion::tensor::ops::loss::IGNORE_INDEX;
use locomotion::tensor::{Tape, Tensor};

fn cpu_unit_proj(x: &[f32], din: usize, w: &[f32], b: &[f32], center: bool) -> Vec<f64> {
    let dout = b.len();
    let mut rows: Vec<Vec<f64>> = x
        .chunks(din)
        .map(|row| {
            (0..dout)
                .map(|o| {
                    b[o] as f64
                        + (0..din)
                            .map(|k| row[k] as f64 * w[k * dout + o] as f64)
                            .sum::<f64>()
                })
                .collect()
        })
        .collect();
    if center {
        let n = rows.len() as f64;
        let mean: Vec<f64> = (0..dout)
            .map(|o| rows.iter().map(|r| r[o]).sum::<f64>() / n)
            .collect();
        rows.iter_mut()
            .for_each(|r| r.iter_mut().zip(&mean).for_each(|(v, m)| *v -= m));
    }
    let mut out = Vec::new();
    for y in rows {
        let n = y.iter().map(|v| v * v).sum::<f64>().sqrt();
        out.extend(y.iter().map(|v| v / n));
    }
    out
}

fn param(list: &[(String, Tensor)], name: &str) -> Tensor {
    list.iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} missing"))
        .1
        .clone()
}

#[test]
fn vtc_similarities_are_cosines_of_the_projections_and_the_temperature_starts_at_the_config() {
    for center in [false, true] {
        vtc_matches_the_cpu_reference(center);
    }
}

/// With `center`, the projections are centred on the batch mean before normalising, so a
/// shift shared by the whole batch (a changed projection bias) leaves VTC unchanged.
fn vtc_matches_the_cpu_reference(center: bool) {
    let g = gpu();
    let mut cfg = model_cfg();
    cfg.heads.center = center;
    let heads = Heads::random(&g, &cfg, 1).unwrap();
    let ps = heads.parameters();
    let t = param(&ps, "heads.vtc.temperature").to_vec().unwrap()[0];
    assert!(
        (t as f64 - (1.0 / 0.07f64).ln()).abs() < 1e-6,
        "log-scale {t}"
    );
    let (b, hv, h) = (3, cfg.video.hidden_size, cfg.text.hidden_size);
    let (v0, t0) = (random(b * hv, 2), random(b * h, 3));
    let tape = Tape::new(&g);
    let v = Tensor::from_host(&g, &v0, [b, hv]).unwrap();
    let tx = Tensor::from_host(&g, &t0, [b, h]).unwrap();
    let out = heads.vtc(&tape, &v, &tx, None).unwrap();
    assert_eq!(out.sim.shape().dims(), [b, b]);
    let w = |n: &str| param(&ps, n).to_vec().unwrap();
    let ve = cpu_unit_proj(
        &v0,
        hv,
        &w("heads.vtc.video_proj.weight"),
        &w("heads.vtc.video_proj.bias"),
        center,
    );
    let te = cpu_unit_proj(
        &t0,
        h,
        &w("heads.vtc.text_proj.weight"),
        &w("heads.vtc.text_proj.bias"),
        center,
    );
    let e = cfg.heads.embed_dim;
    let want: Vec<f32> = (0..b * b)
        .map(|i| {
            (0..e)
                .map(|k| ve[(i / b) * e + k] * te[(i % b) * e + k])
                .sum::<f64>() as f32
        })
        .collect();
    assert!(rel_err(&out.sim.to_vec().unwrap(), &want) < 1e-4);
    let loss = out.loss.to_vec().unwrap()[0];
    assert!(loss.is_finite() && loss > 0.0, "VTC loss {loss}");
    let bias = param(&ps, "heads.vtc.video_proj.bias");
    let shifted: Vec<f32> = bias.to_vec().unwrap().iter().map(|x| x + 0.5).collect();
    g.write(bias.buffer(), &shifted);
    let moved = heads
        .vtc(&tape, &v, &tx, None)
        .unwrap()
        .loss
        .to_vec()
        .unwrap()[0];
    assert_eq!(
        (moved - loss).abs() < 1e-5,
        center,
        "centre {center}: loss {loss} → {moved} after shifting every video projection"
    );
    let err = heads.vtm(&tape, &tx, &[1, 2, 0]).err().unwrap();
    assert!(err.to_string().contains("VTM labels"), "{err}");
}

fn text_batch<'a>(
    ids: &'a [u32],
    token_types: &'a [u32],
    mask: &'a [u32],
    batch: usize,
    len: usize,
) -> TextBatch<'a> {
    TextBatch {
        ids,
        token_types,
        mask,
        batch,
        len,
    }
}

#[test]
fn vtc_vtm_and_mlm_losses_train_every_parameter_of_the_model() {
    vtc_vtm_and_mlm_losses_train_every_parameter_of_the_model_on(gpu());
}

/// The same with the GPU kernel variants, whatever the adapter (the path a GPU takes).
#[test]
fn vtc_vtm_and_mlm_losses_train_every_parameter_of_the_model_on_the_gpu_path() {
    vtc_vtm_and_mlm_losses_train_every_parameter_of_the_model_on(gpu_path());
}

fn vtc_vtm_and_mlm_losses_train_every_parameter_of_the_model_on(g: Gpu) {
    let cfg = model_cfg();
    let video_enc = VideoEncoder::random(&g, &cfg.video, 11).unwrap();
    let text_enc = TextEncoder::random(&g, &cfg.text, 12).unwrap();
    let cross = CrossEncoder::random(&g, &cfg, 13).unwrap();
    let heads = Heads::random(&g, &cfg, 14).unwrap();
    let (b, l) = (3, 6);
    let (h, hv) = (cfg.text.hidden_size, cfg.video.hidden_size);
    let v = &cfg.video;
    let pixels = random(b * v.frames * 3 * v.height * v.width, 15);
    let ids: Vec<u32> = random(b * l, 16)
        .iter()
        .map(|x| ((x + 1.0) * 18.0) as u32 % 37)
        .collect();
    let types = vec![0u32; b * l];
    // The last text has 2 padding tokens.
    let mask: Vec<u32> = (0..b * l)
        .map(|i| u32::from(i < 2 * l || i % l < 4))
        .collect();
    let tape = Tape::new(&g);
    let video = Tensor::from_host(&g, &pixels, [b, v.frames, 3, v.height, v.width]).unwrap();
    let vo = video_enc.forward(&tape, &video).unwrap();
    let lv = vo.hidden.shape().dims()[1];
    let to = text_enc
        .forward(&tape, text_batch(&ids, &types, &mask, b, l))
        .unwrap();

    // VTC on the unimodal [CLS] states.
    let text_cls = first_rows(&tape, &to.hidden, b, l).unwrap();
    let vtc = heads.vtc(&tape, &vo.cls, &text_cls, None).unwrap();

    // VTM: every video with its own text (match) and with the next one (no match).
    let text_rows = tape.reshape(&to.hidden, [b * l, h]).unwrap();
    let video_rows = tape.reshape(&vo.hidden, [b * lv, hv]).unwrap();
    let mut t_ids: Vec<u32> = (0..(b * l) as u32).collect();
    t_ids.extend((0..b * l).map(|i| (((i / l + 1) % b) * l + i % l) as u32));
    let v_ids: Vec<u32> = (0..2 * b * lv).map(|i| (i % (b * lv)) as u32).collect();
    let pair_mask: Vec<u32> = t_ids.iter().map(|&i| mask[i as usize]).collect();
    let pair_text = tape
        .reshape(
            &embedding(&tape, &text_rows, &t_ids).unwrap(),
            [2 * b, l, h],
        )
        .unwrap();
    let pair_video = tape
        .reshape(
            &embedding(&tape, &video_rows, &v_ids).unwrap(),
            [2 * b, lv, hv],
        )
        .unwrap();
    let fused = cross
        .forward(&tape, &pair_text, &pair_mask, &pair_video)
        .unwrap();
    let fused_cls = first_rows(&tape, &fused, 2 * b, l).unwrap();
    let vtm_logits = heads.vtm_logits(&tape, &fused_cls).unwrap();
    assert_eq!(vtm_logits.shape().dims(), [2 * b, 2]);
    let labels: Vec<u32> = (0..2 * b).map(|i| u32::from(i < b)).collect();
    let vtm = heads.vtm(&tape, &fused_cls, &labels).unwrap();

    // MLM: positions 1 and 2 of every text masked (id 3 stands for [MASK]).
    let mut masked = ids.clone();
    let mut targets = vec![IGNORE_INDEX; b * l];
    for r in 0..b {
        for p in [r * l + 1, r * l + 2] {
            targets[p] = ids[p];
            masked[p] = 3;
        }
    }
    let tm = text_enc
        .forward(&tape, text_batch(&masked, &types, &mask, b, l))
        .unwrap();
    let fused_m = cross.forward(&tape, &tm.hidden, &mask, &vo.hidden).unwrap();
    let word = param(&text_enc.parameters(), "text.embeddings.word");
    let logits = heads.mlm_logits(&tape, &fused_m, &word).unwrap();
    assert_eq!(logits.shape().dims(), [b * l, cfg.text.vocab_size]);
    let mlm = heads.mlm(&tape, &fused_m, &word, &targets).unwrap();

    let parts: Vec<f32> = [&vtc.loss, &vtm, &mlm]
        .iter()
        .map(|t| t.to_vec().unwrap()[0])
        .collect();
    // Each loss is exactly what its inputs give: symmetric InfoNCE of the similarities at
    // the initial logit scale 1/0.07, and the mean cross-entropy of the VTM and MLM logits
    // over their labels.
    let scale = 1.0 / cfg.heads.temperature;
    let sim = vtc.sim.to_vec().unwrap();
    let want = [
        cpu_nce_without_duplicates(&sim, b, scale, &["0", "1", "2"]),
        cpu_cross_entropy(&vtm_logits.to_vec().unwrap(), 2, &labels),
        cpu_cross_entropy(&logits.to_vec().unwrap(), cfg.text.vocab_size, &targets),
    ];
    for ((got, want), name) in parts.iter().zip(want).zip(["VTC", "VTM", "MLM"]) {
        assert!(
            (*got as f64 - want).abs() < 1e-5 * want.max(1.0),
            "{name} {got}, expected {want}"
        );
    }
    // Untrained: VTM and MLM start near chance (ln 2, ln V).
    let vocab = cfg.text.vocab_size as f32;
    for (got, uniform) in [(parts[1], 2f32.ln()), (parts[2], vocab.ln())] {
        assert!(
            (got - uniform).abs() < 0.5 * uniform,
            "{got} vs chance {uniform}"
        );
    }
    let total = add(&tape, &add(&tape, &vtc.loss, &vtm).unwrap(), &mlm).unwrap();
    let sum = total.to_vec().unwrap()[0];
    assert!((sum - parts.iter().sum::<f32>()).abs() < 1e-5);
    tape.backward(&total).unwrap();
    for params in [
        video_enc.parameters(),
        text_enc.parameters(),
        cross.parameters(),
        heads.parameters(),
    ] {
        assert_every_gradient(&params);
    }
}

#[test]
fn the_tiny_preset_model_has_exactly_the_contracts_parameters_and_runs() {
    use locomotion::model::config::ModelConfig;
    use locomotion::model::params::model_parameter_shapes;
    let g = gpu();
    let cfg = ModelConfig::preset("tiny").unwrap();
    let video_enc = VideoEncoder::random(&g, &cfg.video, 21).unwrap();
    let text_enc = TextEncoder::random(&g, &cfg.text, 22).unwrap();
    let cross = CrossEncoder::random(&g, &cfg, 23).unwrap();
    let heads = Heads::random(&g, &cfg, 24).unwrap();
    let mut have: Vec<(String, Vec<usize>)> = [
        video_enc.parameters(),
        text_enc.parameters(),
        cross.parameters(),
        heads.parameters(),
    ]
    .concat()
    .into_iter()
    .map(|(n, t)| (n, t.shape().dims().to_vec()))
    .collect();
    let mut want = model_parameter_shapes(&cfg);
    have.sort();
    want.sort();
    assert_eq!(have, want);

    // 2 clips of 8 × 32² in tubelets 2 × 8 × 8: 64 tokens + [CLS] of width 64.
    let v = &cfg.video;
    let n = 2 * v.frames * 3 * v.height * v.width;
    let video = Tensor::from_host(&g, &random(n, 25), [2, v.frames, 3, v.height, v.width]).unwrap();
    let tape = Tape::new(&g);
    // The second forward is timed: the first one compiles the pipelines.
    drop(
        video_enc
            .forward(&tape, &video)
            .unwrap()
            .hidden
            .to_vec()
            .unwrap(),
    );
    let start = std::time::Instant::now();
    let out = video_enc.forward(&tape, &video).unwrap();
    let hidden = out.hidden.to_vec().unwrap();
    eprintln!(
        "tiny video encoder forward (warm, recording the tape), 2 clips: {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(out.hidden.shape().dims(), [2, 65, 64]);
    assert!(hidden.iter().all(|x| x.is_finite()));
}

/// CPU symmetric InfoNCE over `sim` `[b, b]` at logit scale `scale`, leaving out of both
/// softmaxes every off-diagonal pair whose captions are identical.
fn cpu_nce_without_duplicates(sim: &[f32], b: usize, scale: f64, captions: &[&str]) -> f64 {
    let keep = |i: usize, j: usize| i == j || captions[i] != captions[j];
    let mut loss = 0.0;
    for i in 0..b {
        for column in [false, true] {
            let at = |j: usize| {
                let v = if column {
                    sim[j * b + i]
                } else {
                    sim[i * b + j]
                };
                scale * v as f64
            };
            let lse = (0..b)
                .filter(|&j| keep(i, j))
                .map(|j| at(j).exp())
                .sum::<f64>()
                .ln();
            loss += lse - at(i);
        }
    }
    loss / (2 * b) as f64
}

/// Mean cross-entropy of `logits` `[rows, classes]` over the rows whose label is not
/// IGNORE_INDEX, in f64.
fn cpu_cross_entropy(logits: &[f32], classes: usize, labels: &[u32]) -> f64 {
    let (mut sum, mut n) = (0.0, 0);
    for (row, &label) in logits.chunks(classes).zip(labels) {
        if label == IGNORE_INDEX {
            continue;
        }
        let top = row.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x as f64));
        let lse = top
            + row
                .iter()
                .map(|&x| (x as f64 - top).exp())
                .sum::<f64>()
                .ln();
        sum += lse - row[label as usize] as f64;
        n += 1;
    }
    sum / n as f64
}

#[test]
fn identical_captions_are_nobodys_negatives_in_vtc() {
    use locomotion::model::locomotion::{DUPLICATE_PENALTY, duplicate_caption_mask};
    let captions = [
        "a red ball moves up.",
        "b",
        "a red ball moves up.",
        "c",
        "b",
    ];
    let owned: Vec<String> = captions.iter().map(|s| s.to_string()).collect();
    let mask = duplicate_caption_mask(&owned).expect("duplicates present");
    let b = captions.len();
    for i in 0..b {
        for j in 0..b {
            let dup = i != j && captions[i] == captions[j];
            assert_eq!(mask[i * b + j], if dup { DUPLICATE_PENALTY } else { 0.0 });
        }
    }
    let distinct: Vec<String> = (0..4).map(|i| format!("caption {i}")).collect();
    assert!(duplicate_caption_mask(&distinct).is_none());

    let g = gpu();
    let mut cfg = model_cfg();
    cfg.heads.center = true;
    let heads = Heads::random(&g, &cfg, 5).unwrap();
    let (hv, h) = (cfg.video.hidden_size, cfg.text.hidden_size);
    let tape = Tape::new(&g);
    let v = Tensor::from_host(&g, &random(b * hv, 11), [b, hv]).unwrap();
    let tx = Tensor::from_host(&g, &random(b * h, 12), [b, h]).unwrap();
    let plain = heads.vtc(&tape, &v, &tx, None).unwrap();
    let sim = plain.sim.to_vec().unwrap();
    let m = Tensor::from_host(&g, &mask, [b, b]).unwrap();
    let masked = heads.vtc(&tape, &v, &tx, Some(&m)).unwrap();
    let scale = (1.0 / 0.07f64).ln().exp();
    let want = cpu_nce_without_duplicates(&sim, b, scale, &captions);
    let got = masked.loss.to_vec().unwrap()[0] as f64;
    assert!(
        (got - want).abs() < 1e-4 * want.abs().max(1.0),
        "masked VTC {got}, CPU reference {want}"
    );
    // Without the mask the duplicates count as negatives: the loss differs.
    let unmasked = plain.loss.to_vec().unwrap()[0] as f64;
    assert!((unmasked - want).abs() > 1e-3, "{unmasked} vs {want}");
}
