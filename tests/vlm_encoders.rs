//! The GPU video encoder and cross-modal encoder against their CPU references (f64
//! accumulation) on small random configs with odd sizes, and gradients that reach every
//! parameter.

mod common;

use common::vlm::{assert_every_gradient, cpu_cross, cpu_video, model_cfg, random_map, video_cfg};
use common::{gpu, gpu_path, random, rel_err};
use locomotion::gpu::Gpu;
use locomotion::model::config::VideoEncoderConfig;
use locomotion::model::cross::CrossEncoder;
use locomotion::model::video::VideoEncoder;
use locomotion::nn::Activation;
use locomotion::tensor::ops::reduce::sum_all;
use locomotion::tensor::ops::unary::mul;
use locomotion::tensor::{Tape, Tensor};

#[test]
fn video_encoder_matches_the_cpu_reference_and_trains_every_parameter() {
    video_encoder_matches_the_cpu_reference_and_trains_every_parameter_on(gpu(), video_cfg());
}

/// CLIP's shape of the encoder: a layer norm over the embeddings (`video.ln_pre`) and
/// quick-GELU MLPs, on both kernel variants.
#[test]
fn a_clip_style_video_encoder_matches_the_cpu_reference_and_trains_every_parameter() {
    let cfg = VideoEncoderConfig {
        pre_norm: true,
        hidden_act: Activation::QuickGelu,
        ..video_cfg()
    };
    assert!(
        VideoEncoder::shapes(&cfg)
            .iter()
            .any(|(n, _)| n == "video.ln_pre.gamma")
    );
    for g in [gpu(), gpu_path()] {
        video_encoder_matches_the_cpu_reference_and_trains_every_parameter_on(g, cfg.clone());
    }
}

/// The same with the GPU kernel variants, whatever the adapter (the path a GPU takes).
#[test]
fn video_encoder_matches_the_cpu_reference_and_trains_every_parameter_on_the_gpu_path() {
    video_encoder_matches_the_cpu_reference_and_trains_every_parameter_on(gpu_path(), video_cfg());
}

fn video_encoder_matches_the_cpu_reference_and_trains_every_parameter_on(
    g: Gpu,
    cfg: VideoEncoderConfig,
) {
    let b = 2;
    let weights = random_map(&VideoEncoder::shapes(&cfg), 1);
    let enc = VideoEncoder::from_weights(&g, &cfg, &weights).unwrap();
    let pixels = random(b * 4 * 3 * 12 * 10, 2);
    let video = Tensor::from_host(&g, &pixels, [b, 4, 3, 12, 10]).unwrap();
    let tape = Tape::new(&g);
    let out = enc.forward(&tape, &video).unwrap();
    assert_eq!(out.hidden.shape().dims(), [b, 13, 24]);
    assert_eq!(out.cls.shape().dims(), [b, 24]);
    let got = out.hidden.to_vec().unwrap();
    let want = cpu_video(&cfg, &weights, &pixels, b);
    let e = rel_err(&got, &want);
    assert!(e < 1e-4, "video encoder vs CPU: rel err {e}");
    let cls: Vec<f32> = want
        .chunks(13 * 24)
        .flat_map(|s| s[..24].to_vec())
        .collect();
    assert!(
        rel_err(&out.cls.to_vec().unwrap(), &cls) < 1e-4,
        "[CLS] rows"
    );

    // Weighting every state and the [CLS] rows separately reaches every parameter.
    let r = Tensor::from_host(&g, &random(got.len(), 3), [b, 13, 24]).unwrap();
    let rc = Tensor::from_host(&g, &random(b * 24, 4), [b, 24]).unwrap();
    let loss = sum_all(&tape, &mul(&tape, &out.hidden, &r).unwrap()).unwrap();
    let lc = sum_all(&tape, &mul(&tape, &out.cls, &rc).unwrap()).unwrap();
    let total = locomotion::tensor::ops::elementwise::add(&tape, &loss, &lc).unwrap();
    tape.backward(&total).unwrap();
    assert_every_gradient(&enc.parameters());
}

#[test]
fn video_encoder_rejects_a_clip_of_the_wrong_size() {
    let g = gpu();
    let enc = VideoEncoder::random(&g, &video_cfg(), 5).unwrap();
    let video = Tensor::from_host(&g, &random(2 * 4 * 3 * 12 * 12, 6), [2, 4, 3, 12, 12]).unwrap();
    let err = enc.forward(&Tape::new(&g), &video).err().unwrap();
    assert!(err.to_string().contains("video.frames"), "{err}");
}

#[test]
fn cross_encoder_matches_the_cpu_reference_with_padding_and_trains_every_parameter() {
    cross_encoder_matches_the_cpu_reference_with_padding_and_trains_every_parameter_on(gpu());
}

/// The same with the GPU kernel variants, whatever the adapter (the path a GPU takes).
#[test]
fn cross_encoder_matches_the_cpu_reference_with_padding_and_trains_every_parameter_on_the_gpu_path()
{
    cross_encoder_matches_the_cpu_reference_with_padding_and_trains_every_parameter_on(gpu_path());
}

fn cross_encoder_matches_the_cpu_reference_with_padding_and_trains_every_parameter_on(g: Gpu) {
    let cfg = model_cfg();
    let (b, l, lv) = (2, 7, 13);
    let (h, hv) = (cfg.text.hidden_size, cfg.video.hidden_size);
    let weights = random_map(&CrossEncoder::shapes(&cfg), 7);
    let enc = CrossEncoder::from_weights(&g, &cfg, &weights).unwrap();
    let (t0, v0) = (random(b * l * h, 8), random(b * lv * hv, 9));
    // The second text has 4 real tokens and 3 padding.
    let mask: Vec<u32> = (0..b * l).map(|i| u32::from(i < l || i % l < 4)).collect();
    let tape = Tape::new(&g);
    let text = Tensor::param(&g, &t0, [b, l, h]).unwrap();
    let video = Tensor::param(&g, &v0, [b, lv, hv]).unwrap();
    let y = enc.forward(&tape, &text, &mask, &video).unwrap();
    assert_eq!(y.shape().dims(), [b, l, h]);
    let got = y.to_vec().unwrap();
    let want = cpu_cross(&cfg, &weights, &t0, &mask, &v0, b);
    let e = rel_err(&got, &want);
    assert!(e < 1e-4, "cross encoder vs CPU: rel err {e}");

    let r = Tensor::from_host(&g, &random(got.len(), 10), [b, l, h]).unwrap();
    let loss = sum_all(&tape, &mul(&tape, &y, &r).unwrap()).unwrap();
    tape.backward(&loss).unwrap();
    assert_every_gradient(&enc.parameters());
    assert_every_gradient(&[
        ("text".into(), text.clone()),
        ("video".into(), video.clone()),
    ]);
    // Padding keys are never attended to, so nothing flows back to them except through
    // their own query rows: changing a padded state must leave the real tokens' outputs alone.
    let mut t1 = t0.clone();
    for j in 0..h {
        t1[(l + 5) * h + j] += 1.0;
    }
    let other = cpu_cross(&cfg, &weights, &t1, &mask, &v0, b);
    let real = |x: &[f32]| -> Vec<f32> { x[l * h..(l + 4) * h].to_vec() };
    assert!(
        rel_err(&real(&other), &real(&want)) < 1e-6,
        "padding leaked"
    );
    let tape = Tape::new(&g);
    let text1 = Tensor::from_host(&g, &t1, [b, l, h]).unwrap();
    let y1 = enc
        .forward(&tape, &text1, &mask, &video)
        .unwrap()
        .to_vec()
        .unwrap();
    assert!(
        rel_err(&real(&y1), &real(&got)) < 1e-5,
        "GPU padding leaked"
    );
}

#[test]
fn composited_clips_feed_the_video_encoder_without_leaving_the_gpu() {
    use locomotion::gpu::CommandBatch;
    use locomotion::model::config::ModelConfig;
    use locomotion::motion::composite::{IMAGENET_MEAN, IMAGENET_STD};
    use locomotion::motion::{
        BackgroundLibrary, Compositor, GenConfig, ObjectLibrary, Output, sample_clip,
    };
    let g = gpu();
    let v = ModelConfig::preset("tiny").unwrap().video;
    let gen_cfg = GenConfig {
        frames: v.frames as u32,
        height: v.height as u32,
        width: v.width as u32,
        ..GenConfig::default()
    };
    let objects = ObjectLibrary::builtin();
    let backgrounds = BackgroundLibrary::builtin(gen_cfg.height, gen_cfg.width, gen_cfg.frames);
    let comp = Compositor::new(&g, &objects, &backgrounds).unwrap();
    let clips: Vec<_> = (0..2)
        .map(|i| sample_clip(7, i, &gen_cfg, &objects, &backgrounds))
        .collect();
    let kind = Output::Normalized {
        mean: IMAGENET_MEAN,
        std: IMAGENET_STD,
    };
    let frames = (2 * v.frames) as u64;
    let out = g
        .pool
        .storage(kind.bytes(frames, v.height as u32, v.width as u32), "clips")
        .unwrap();
    let mut batch = CommandBatch::new(&g);
    let staged = comp.record(&mut batch, &clips, &out, kind).unwrap();
    batch.submit();
    let shape = locomotion::tensor::Shape(vec![2, v.frames, 3, v.height, v.width]);
    let video = Tensor::from_buffer(&g, out, shape, false);
    let enc = VideoEncoder::random(&g, &v, 8).unwrap();
    let tape = Tape::new(&g);
    let y = enc.forward(&tape, &video).unwrap();
    drop(staged);
    let cls = y.cls.to_vec().unwrap();
    assert_eq!(y.hidden.shape().dims(), [2, 65, 64]);
    assert!(cls.iter().all(|x| x.is_finite()));
    // Two different clips give two different [CLS] states.
    assert!(
        rel_err(&cls[..64], &cls[64..]) > 1e-3,
        "the clips encode the same"
    );
}
