//! The path a discrete GPU takes, run on whatever adapter is here (lavapipe in CI): the GPU
//! kernel variants forced (`LOCOMOTION_KERNELS=gpu`: SGEMM matmul, attention as matmuls
//! while the scores fit, 64-thread layer norm), a whole tiny-model step against the CPU
//! variants, one training step of the `small` preset, the kernel choice setting, the
//! attention route, and kernels that size their tiles from the adapter's workgroup-memory
//! limit.

mod common;

use common::{VARIANT_ULPS, assert_within_ulps, gpu, gpu_path, random, rel_err};
use locomotion::bench::attention::AttentionBuffers;
use locomotion::gpu::{CommandBatch, Gpu, Kernels};
use locomotion::model::config::{LossWeights, ModelConfig};
use locomotion::model::locomotion::{LocoModel, PairBatch};
use locomotion::tensor::ops::adamw;
use locomotion::tensor::ops::attention::{
    AttentionShape, GPU_ROUTE_MAX_SCORE_BYTES, matmul_route, padded,
};
use locomotion::tensor::ops::loss::IGNORE_INDEX;
use locomotion::tensor::ops::matmul::{MatmulDims, MatmulKernel};
use locomotion::tensor::{Tape, Tensor};
use locomotion::train::optim::AdamW;

/// Forward, backward and an AdamW step of a fresh `cfg` model (seed 1) on `pair`: (the four
/// losses, every parameter's gradient).
fn train_step(g: &Gpu, cfg: &ModelConfig, pair: &PairBatch) -> ([f32; 4], Vec<(String, Vec<f32>)>) {
    let model = LocoModel::random(g, cfg, 1, None).unwrap();
    let mut optim = AdamW::new(g, model.parameters(), adamw::AdamWHyper::default(), 1.0).unwrap();
    let tape = Tape::new(g);
    let losses = model.forward_losses(&tape, pair).unwrap();
    optim.zero_grad();
    tape.backward(&losses.total).unwrap();
    let read = |t: &Tensor| t.to_vec().unwrap()[0];
    let values = [
        read(&losses.vtc),
        read(&losses.vtm),
        read(&losses.mlm),
        read(&losses.total),
    ];
    let grads = model
        .parameters()
        .into_iter()
        .map(|(name, p)| (name, p.grad_to_vec().unwrap().unwrap_or_default()))
        .collect();
    optim.step(1e-4).unwrap();
    assert!(optim.grad_norm().unwrap().is_finite());
    (values, grads)
}

/// One batch of `b` random clips and captions of `l` tokens for `cfg`, run through forward,
/// backward and an AdamW step on `g`: (the four losses, every parameter's gradient).
fn one_step(g: &Gpu, cfg: &ModelConfig, b: usize, l: usize) -> ([f32; 4], Vec<(String, Vec<f32>)>) {
    let vocab = cfg.text.vocab_size as u32;
    let ids: Vec<u32> = (0..b * l)
        .map(|i| 5 + (i as u32 * 37) % (vocab - 5))
        .collect();
    let mask: Vec<u32> = (0..b * l)
        .map(|i| u32::from(i % l < l - b + i / l))
        .collect();
    let types = vec![0u32; b * l];
    let labels: Vec<u32> = (0..b * l)
        .map(|i| if i % 3 == 1 { ids[i] } else { IGNORE_INDEX })
        .collect();
    let v = &cfg.video;
    let pixels = random(b * v.frames * 3 * v.height * v.width, 9);
    let video = Tensor::from_host(g, &pixels, [b, v.frames, 3, v.height, v.width]).unwrap();
    let pair = PairBatch {
        video,
        batch: b,
        len: l,
        ids: &ids,
        token_types: &types,
        mask: &mask,
        mlm_ids: &ids,
        mlm_labels: &labels,
        negative_seed: 3,
        duplicates: None,
        shard: None,
    };
    train_step(g, cfg, &pair)
}

#[test]
fn a_tiny_model_step_agrees_between_the_cpu_and_gpu_kernel_variants() {
    let g = gpu();
    let cfg = ModelConfig::preset("tiny").unwrap();
    // The GPU variants' step runs the SGEMM kernel (its linear layers, forward and back).
    let linear = MatmulDims::new(3 * 65, 64, 64);
    assert_eq!(
        MatmulKernel::pick(&gpu_path(), &linear),
        MatmulKernel::Sgemm
    );
    let (cpu_losses, cpu_grads) = one_step(&g.with_kernels(Kernels::Cpu), &cfg, 3, 9);
    let (gpu_losses, gpu_grads) = one_step(&gpu_path(), &cfg, 3, 9);
    // The matmul variants sum in different orders: close, not identical.
    for (i, name) in ["VTC", "VTM", "MLM", "total"].iter().enumerate() {
        let (a, b) = (cpu_losses[i], gpu_losses[i]);
        assert!(a.is_finite() && a > 0.0, "{name} {a}");
        assert!(
            (a - b).abs() <= 1e-4 * a.abs(),
            "{name}: CPU kernels {a}, GPU kernels {b}"
        );
    }
    assert_eq!(cpu_grads.len(), gpu_grads.len());
    // A key bias shifts every score of a row alike, so softmax makes its gradient zero: what
    // the kernels return there is rounding noise, compared against the largest gradient.
    let norm = |v: &[f32]| v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
    let largest = cpu_grads.iter().map(|(_, a)| norm(a)).fold(0.0, f64::max);
    for ((name, a), (_, b)) in cpu_grads.iter().zip(&gpu_grads) {
        assert!(!a.is_empty(), "{name}: no gradient");
        assert!(
            b.iter().all(|x| x.is_finite()),
            "{name}: non-finite gradient"
        );
        if norm(a) < 1e-6 * largest {
            assert!(norm(b) < 1e-5 * largest, "{name}: zero on one variant only");
        } else if a.iter().any(|&x| x != 0.0) {
            // Attention on the CPU variants (fused below 16 x 16 scores, else as matmuls on
            // the subgroup kernel) against the GPU variants (as matmuls on SGEMM): rounding
            // apart, amplified by the contrastive temperature (measured up to 1.5e-3; a
            // wrong kernel is off by order 1).
            let e = rel_err(b, a);
            assert!(
                e < 5e-3,
                "{name}: gradients differ between the variants, rel err {e}"
            );
        }
    }
}

#[test]
fn one_training_step_of_the_small_preset_at_batch_1_is_finite() {
    // The first command a GPU user runs trains `small` (or `base`), which CI had never run;
    // here one step of it runs through the GPU kernel variants. One pair: VTM needs
    // negatives from other pairs, so this step trains VTC (0 for one pair) and MLM.
    let g = gpu_path();
    let mut cfg = ModelConfig::preset("small").unwrap();
    cfg.loss_weights = LossWeights {
        vtc: 1.0,
        vtm: 0.0,
        mlm: 1.0,
    };
    let (losses, grads) = one_step_one_pair(&g, &cfg);
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    // One pair is its own only candidate: InfoNCE is ln 1 = 0 exactly.
    assert!(losses[0].abs() < 1e-6, "VTC of one pair: {losses:?}");
    // Untrained logits are near 0 (initial weights of scale 0.02): MLM starts at the
    // uniform guess over the vocabulary, ln 30522 = 10.33.
    let uniform = (cfg.text.vocab_size as f32).ln();
    assert!(
        (losses[2] - uniform).abs() < 0.05 * uniform,
        "MLM {} against ln {} = {uniform}: {losses:?}",
        losses[2],
        cfg.text.vocab_size
    );
    let mut nonzero = 0;
    for (name, grad) in &grads {
        assert!(
            grad.iter().all(|x| x.is_finite()),
            "{name}: non-finite gradient"
        );
        nonzero += grad.iter().any(|&x| x != 0.0) as usize;
    }
    assert!(
        nonzero * 2 > grads.len(),
        "{nonzero} of {} gradients are nonzero",
        grads.len()
    );
}

/// [`one_step`] for one pair: VTC and MLM only (VTM needs at least two pairs).
fn one_step_one_pair(g: &Gpu, cfg: &ModelConfig) -> ([f32; 4], Vec<(String, Vec<f32>)>) {
    let l = 12;
    let ids: Vec<u32> = (0..l as u32).map(|i| 1000 + i * 997).collect();
    let mask = vec![1u32; l];
    let types = vec![0u32; l];
    let labels: Vec<u32> = (0..l)
        .map(|i| if i % 4 == 2 { ids[i] } else { IGNORE_INDEX })
        .collect();
    let v = &cfg.video;
    let pixels = random(v.frames * 3 * v.height * v.width, 5);
    let video = Tensor::from_host(g, &pixels, [1, v.frames, 3, v.height, v.width]).unwrap();
    let pair = PairBatch {
        video,
        batch: 1,
        len: l,
        ids: &ids,
        token_types: &types,
        mask: &mask,
        mlm_ids: &ids,
        mlm_labels: &labels,
        negative_seed: 0,
        duplicates: None,
        shard: None,
    };
    train_step(g, cfg, &pair)
}

#[test]
fn the_kernel_choice_setting() {
    assert_eq!(Kernels::choose(None, "Cpu").unwrap(), Kernels::Cpu);
    assert_eq!(Kernels::choose(None, "DiscreteGpu").unwrap(), Kernels::Gpu);
    assert_eq!(
        Kernels::choose(Some("auto"), "IntegratedGpu").unwrap(),
        Kernels::Gpu
    );
    assert_eq!(Kernels::choose(Some("GPU"), "Cpu").unwrap(), Kernels::Gpu);
    assert_eq!(
        Kernels::choose(Some(" cpu "), "DiscreteGpu").unwrap(),
        Kernels::Cpu
    );
    let e = Kernels::choose(Some("fast"), "Cpu")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "LOCOMOTION_KERNELS=fast is not one of cpu, gpu, auto");
    let g = gpu();
    assert_eq!(g.with_kernels(Kernels::Gpu).kernels, Kernels::Gpu);
    assert!(!g.with_kernels(Kernels::Gpu).cpu_kernels());
}

/// Attention forward and backward at `s` on `g`: (o, dq, dk, dv).
fn attention_outputs(g: &Gpu, s: AttentionShape) -> anyhow::Result<Vec<Vec<f32>>> {
    let bufs = AttentionBuffers::new(g, &s, |n, seed| random(n, seed as u64))?;
    let mut b = CommandBatch::new(g);
    bufs.fused_forward(&mut b, s)?;
    bufs.fused_backward(&mut b, s)?;
    b.submit_and_wait()?;
    Ok([&bufs.o, &bufs.dq, &bufs.dk, &bufs.dv]
        .iter()
        .map(|x| g.read::<f32>(x).unwrap())
        .collect())
}

#[test]
fn attention_sizes_its_tiles_from_the_adapters_workgroup_memory() {
    // D = 64 needs 16.25 KiB for the backward's 32-row tiles; an adapter with WebGPU's
    // minimum of 16 KiB gets 16-row tiles, which sum in the same order: the same values up
    // to how each pipeline contracts a * b + c (VARIANT_ULPS).
    let s = AttentionShape::new(2, 2, 45, 38, 64);
    for base in [gpu(), gpu_path()] {
        let want = attention_outputs(&base, s).unwrap();
        let mut small = base.clone();
        small.limits.max_compute_workgroup_storage_size = 16384;
        let got = attention_outputs(&small, s).unwrap();
        for (i, name) in ["o", "dq", "dk", "dv"].iter().enumerate() {
            let what = format!("{name} with 16-row tiles");
            assert_within_ulps(&got[i], &want[i], VARIANT_ULPS, &what);
        }
        let mut tiny = base.clone();
        tiny.limits.max_compute_workgroup_storage_size = 1024;
        let e = attention_outputs(&tiny, s).unwrap_err().to_string();
        assert!(e.contains("workgroup memory"), "{e}");
    }
}

#[test]
fn gpus_run_attention_as_matmuls_while_the_scores_fit() {
    // The fused kernels keep per-thread arrays indexed at run time (spilled on GPUs): the
    // GPU path takes the matmul route (SGEMM products) wherever the scores fit.
    let g = gpu_path();
    // `small`'s video self-attention at batch 32: 393 tokens, 6 heads of 64 (120 MB).
    assert!(matmul_route(&g, &AttentionShape::new(32, 6, 393, 393, 64)));
    // Short sequences too, which CPU drivers keep on the fused kernels.
    let short = AttentionShape::new(2, 2, 5, 7, 8);
    assert!(matmul_route(&g, &short));
    assert!(!matmul_route(&g.with_kernels(Kernels::Cpu), &short));
    // `base`'s 1569 video tokens at batch 32: 3.8 GB of scores a layer, the fused kernels.
    let base = AttentionShape::new(32, 12, 1569, 1569, 64);
    assert!(4 * padded(&base).scores_len() > GPU_ROUTE_MAX_SCORE_BYTES);
    assert!(!matmul_route(&g, &base));
    // D not a multiple of 4, or scores beyond one storage binding: the fused kernels.
    assert!(!matmul_route(&g, &AttentionShape::new(2, 2, 33, 33, 6)));
    let s = AttentionShape::new(2, 2, 64, 64, 8);
    let mut narrow = g.clone();
    narrow.limits.max_storage_buffer_binding_size = 4 * padded(&s).scores_len() - 4;
    assert!(matmul_route(&g, &s) && !matmul_route(&narrow, &s));
}
