//! The `transformer-encoder` row of `locomotion bench train` on Burn's wgpu backend
//! (autodiff + fusion + autotune): a pre-LN transformer encoder over a fixed random input,
//! GELU MLPs, no dropout, a final layer norm, the mean over the sequence, MSE against a fixed
//! random target, Adam at lr 1e-3. Prints the adapter Burn picked, the median step time and
//! steps/s after warm-up, in the same terms as `bench train`.
//!
//! cargo run --release --manifest-path tools/burn-encoder/Cargo.toml -- [--steps N]
//!     [--warmup N] [--batch B] [--seq S] [--width D] [--heads H] [--mlp F] [--layers L]

use std::time::Instant;

use burn::module::Module;
use burn::nn::transformer::{TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput};
use burn::nn::{LayerNorm, LayerNormConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, DeviceKind, Distribution, Tensor};

#[derive(Module, Debug)]
struct Model {
    encoder: TransformerEncoder,
    norm: LayerNorm,
}

struct Dims {
    batch: usize,
    seq: usize,
    width: usize,
    heads: usize,
    mlp: usize,
    layers: usize,
    steps: usize,
    warmup: usize,
}

fn parse() -> Result<Dims, String> {
    let mut d = Dims {
        batch: 8,
        seq: 256,
        width: 128,
        heads: 4,
        mlp: 512,
        layers: 2,
        steps: 10,
        warmup: 3,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.chunks(2);
    for pair in &mut it {
        let [flag, value] = pair else {
            return Err(format!("{} needs a value", pair[0]));
        };
        let v: usize = value
            .parse()
            .map_err(|_| format!("{flag} must be a whole number, got {value}"))?;
        let slot = match flag.as_str() {
            "--batch" => &mut d.batch,
            "--seq" => &mut d.seq,
            "--width" => &mut d.width,
            "--heads" => &mut d.heads,
            "--mlp" => &mut d.mlp,
            "--layers" => &mut d.layers,
            "--steps" => &mut d.steps,
            "--warmup" => &mut d.warmup,
            _ => return Err(format!("unknown flag {flag}")),
        };
        *slot = v;
    }
    if d.steps == 0 || d.heads == 0 || d.width % d.heads != 0 {
        return Err("--steps must be at least 1 and --heads must divide --width".into());
    }
    Ok(d)
}

/// Matmul FLOPs of one forward pass, as `bench train` counts them.
fn forward_flops(d: &Dims) -> f64 {
    let (b, s, w, f) = (d.batch as f64, d.seq as f64, d.width as f64, d.mlp as f64);
    d.layers as f64 * (8.0 * b * s * w * w + 4.0 * b * s * w * f + 4.0 * b * s * s * w)
}

fn main() {
    let d = match parse() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let device = Device::wgpu(DeviceKind::DefaultDevice).autodiff();
    let mut model = Model {
        encoder: TransformerEncoderConfig::new(d.width, d.mlp, d.heads, d.layers)
            .with_norm_first(true)
            .with_dropout(0.0)
            .init(&device),
        norm: LayerNormConfig::new(d.width).init(&device),
    };
    let mut optim = AdamConfig::new().init();
    let x = Tensor::<3>::random([d.batch, d.seq, d.width], Distribution::Uniform(-1.0, 1.0), &device);
    let target = Tensor::<2>::random([d.batch, d.width], Distribution::Uniform(-1.0, 1.0), &device);
    let mut times = Vec::new();
    let mut last = 0.0f32;
    for step in 0..d.warmup + d.steps {
        let t0 = Instant::now();
        let h = model.encoder.forward(TransformerEncoderInput::new(x.clone()));
        let mean = model.norm.forward(h).mean_dim(1).reshape([d.batch, d.width]);
        let loss = (mean - target.clone()).powi_scalar(2).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-3, model, grads);
        // Wait for the step: read the loss back, as `bench train` waits for its step.
        last = loss.into_scalar();
        if step >= d.warmup {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let median = times[times.len() / 2];
    println!(
        "burn 0.22.1 wgpu (autodiff + fusion + autotune) transformer-encoder: B {} S {} D {} heads {} MLP {} layers {}",
        d.batch, d.seq, d.width, d.heads, d.mlp, d.layers
    );
    println!(
        "step {:.1} ms (median of {}, after {} warm-up), {:.3} steps/s, {:.2} GFLOP/s (3 x {:.3} GFLOP), final loss {last:.5}",
        1e3 * median,
        d.steps,
        d.warmup,
        1.0 / median,
        3.0 * forward_flops(&d) / median / 1e9,
        forward_flops(&d) / 1e9
    );
}
