//! CPU references of the video encoder and the cross-modal encoder (plain loops, f64
//! accumulation through `bert_cpu`'s helpers), and random weights that exercise every
//! parameter (layer-norm gains and biases included).

use locomotion::model::bert_cpu::{attention, gelu, layer_norm, linear};
use locomotion::model::checkpoint::{HostTensor, TensorMap};
use locomotion::model::config::{BertConfig, ModelConfig, VideoEncoderConfig};
use locomotion::model::params::ParamShape;
use locomotion::nn::Activation;
use locomotion::tensor::Tensor;
use locomotion::tensor::ops::tubelet::TubeletGrid;

/// Random weights for `shapes` from `seed`: gains near 1, everything else of scale 0.3, so
/// that no term of the forward is trivially zero or one.
pub fn random_map(shapes: &[ParamShape], seed: u64) -> TensorMap {
    let mut map = TensorMap::new();
    for (i, (name, shape)) in shapes.iter().enumerate() {
        let n: usize = shape.iter().product();
        let r = super::random(n, seed * 1000 + i as u64);
        let data = if name.ends_with(".gamma") {
            r.iter().map(|v| 1.0 + 0.2 * v).collect()
        } else {
            r.iter().map(|v| 0.3 * v).collect()
        };
        map.insert(name.clone(), HostTensor::new(shape.clone(), data));
    }
    map
}

fn w<'a>(m: &'a TensorMap, name: &str) -> &'a [f32] {
    &m.get(name).unwrap_or_else(|| panic!("{name} missing")).data
}

fn lin(m: &TensorMap, x: &[f32], din: usize, dout: usize, name: &str) -> Vec<f32> {
    linear(
        x,
        din,
        dout,
        w(m, &format!("{name}.weight")),
        w(m, &format!("{name}.bias")),
    )
}

fn ln(m: &TensorMap, x: &mut [f32], width: usize, name: &str, eps: f64) {
    layer_norm(
        x,
        width,
        w(m, &format!("{name}.gamma")),
        w(m, &format!("{name}.beta")),
        eps,
    );
}

fn add_in(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a = (*a as f64 + *b as f64) as f32;
    }
}

/// Multi-head attention of one sequence with projections `{p}.{q,k,v,out}`.
#[allow(clippy::too_many_arguments)]
fn mha(
    m: &TensorMap,
    p: &str,
    xq: &[f32],
    xkv: &[f32],
    hq: usize,
    hkv: usize,
    h: usize,
    heads: usize,
    mask: &[u32],
) -> Vec<f32> {
    let q = lin(m, xq, hq, h, &format!("{p}.q"));
    let k = lin(m, xkv, hkv, h, &format!("{p}.k"));
    let v = lin(m, xkv, hkv, h, &format!("{p}.v"));
    let ctx = attention(&q, &k, &v, mask, heads);
    lin(m, &ctx, h, h, &format!("{p}.out"))
}

/// CPU im2col: video [B, T, C, H, W] → [B, N, C·t·h·w], tokens (time, row, col), values
/// (channel, frame, row, col).
pub fn cpu_tubelets<T: Copy>(v: &[T], g: &TubeletGrid) -> Vec<T> {
    let [tt, ph, pw] = g.tubelet;
    let [gt, gh, gw] = g.grid();
    let (c, h, w, t) = (g.channels, g.height, g.width, g.frames);
    let mut out = Vec::with_capacity(v.len());
    for b in 0..g.batch {
        for it in 0..gt {
            for iy in 0..gh {
                for ix in 0..gw {
                    for ci in 0..c {
                        for dt in 0..tt {
                            for dy in 0..ph {
                                for dx in 0..pw {
                                    let (ti, y, x) = (it * tt + dt, iy * ph + dy, ix * pw + dx);
                                    out.push(v[(((b * t + ti) * c + ci) * h + y) * w + x]);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// The MLP activation `a` at `v`.
pub fn act(a: Activation, v: f64) -> f64 {
    match a {
        Activation::Gelu => gelu(v),
        Activation::QuickGelu => v / (1.0 + (-1.702 * v).exp()),
    }
}

/// The video encoder's final states `[B, 1 + N, Hv]` for `video` `[B, T, C, H, W]`.
pub fn cpu_video(cfg: &VideoEncoderConfig, m: &TensorMap, video: &[f32], b: usize) -> Vec<f32> {
    let shape = locomotion::tensor::Shape(vec![b, cfg.frames, cfg.channels, cfg.height, cfg.width]);
    let g = TubeletGrid::new(&shape, cfg.tubelet).unwrap();
    let (n, d, hv) = (g.tokens(), g.dim(), cfg.hidden_size);
    let [_, gh, gw] = g.grid();
    let tokens = lin(m, &cpu_tubelets(video, &g), d, hv, "video.patch");
    let (space, time, cls) = (
        w(m, "video.pos.space"),
        w(m, "video.pos.time"),
        w(m, "video.cls"),
    );
    let l = n + 1;
    let mut out = Vec::with_capacity(b * l * hv);
    for bi in 0..b {
        let mut x = cls.to_vec();
        for t in 0..n {
            let (s, tm) = (t % (gh * gw), t / (gh * gw));
            for j in 0..hv {
                let v = tokens[(bi * n + t) * hv + j] as f64
                    + space[s * hv + j] as f64
                    + time[tm * hv + j] as f64;
                x.push(v as f32);
            }
        }
        let all = vec![1u32; l];
        let eps = cfg.layer_norm_eps;
        if cfg.pre_norm {
            ln(m, &mut x, hv, "video.ln_pre", eps);
        }
        let hm = hv * cfg.mlp_ratio;
        for layer in 0..cfg.num_layers {
            let p = format!("video.layers.{layer}");
            let mut h = x.clone();
            ln(m, &mut h, hv, &format!("{p}.ln1"), eps);
            let a = mha(
                m,
                &format!("{p}.attn"),
                &h,
                &h,
                hv,
                hv,
                hv,
                cfg.num_heads,
                &all,
            );
            add_in(&mut x, &a);
            let mut h = x.clone();
            ln(m, &mut h, hv, &format!("{p}.ln2"), eps);
            let up: Vec<f32> = lin(m, &h, hv, hm, &format!("{p}.mlp.up"))
                .iter()
                .map(|&v| act(cfg.hidden_act, v as f64) as f32)
                .collect();
            add_in(&mut x, &lin(m, &up, hm, hv, &format!("{p}.mlp.down")));
        }
        ln(m, &mut x, hv, "video.ln_final", eps);
        out.extend(x);
    }
    out
}

/// The cross encoder's states `[B, L, H]` for text `[B, L, H]` with `mask` `[B, L]` and
/// video `[B, Lv, Hv]`.
pub fn cpu_cross(
    cfg: &ModelConfig,
    m: &TensorMap,
    text: &[f32],
    mask: &[u32],
    video: &[f32],
    b: usize,
) -> Vec<f32> {
    let (h, hv, inter) = (
        cfg.text.hidden_size,
        cfg.video.hidden_size,
        cfg.text.intermediate_size,
    );
    let (heads, eps) = (cfg.text.num_attention_heads, cfg.text.layer_norm_eps);
    let l = text.len() / (b * h);
    let lv = video.len() / (b * hv);
    let mut out = Vec::with_capacity(text.len());
    for bi in 0..b {
        let mut x = text[bi * l * h..(bi + 1) * l * h].to_vec();
        let v = &video[bi * lv * hv..(bi + 1) * lv * hv];
        let msk = &mask[bi * l..(bi + 1) * l];
        for layer in 0..cfg.cross.num_layers {
            let p = format!("cross.layers.{layer}");
            let a = mha(m, &format!("{p}.attn"), &x, &x, h, h, h, heads, msk);
            add_in(&mut x, &a);
            ln(m, &mut x, h, &format!("{p}.attn.ln"), eps);
            if layer % cfg.cross.cross_attention_freq == 0 {
                let c = mha(
                    m,
                    &format!("{p}.xattn"),
                    &x,
                    v,
                    h,
                    hv,
                    h,
                    heads,
                    &vec![1; lv],
                );
                add_in(&mut x, &c);
                ln(m, &mut x, h, &format!("{p}.xattn.ln"), eps);
            }
            let up: Vec<f32> = lin(m, &x, h, inter, &format!("{p}.ffn.up"))
                .iter()
                .map(|&v| gelu(v as f64) as f32)
                .collect();
            add_in(&mut x, &lin(m, &up, inter, h, &format!("{p}.ffn.down")));
            ln(m, &mut x, h, &format!("{p}.ffn.ln"), eps);
        }
        out.extend(x);
    }
    out
}

/// 4 frames of 12 × 10, tubelets 2 × 4 × 5: 2·3·2 = 12 tokens + [CLS], width 24, 3 heads.
pub fn video_cfg() -> VideoEncoderConfig {
    VideoEncoderConfig {
        frames: 4,
        height: 12,
        width: 10,
        channels: 3,
        tubelet: [2, 4, 5],
        hidden_size: 24,
        num_layers: 2,
        num_heads: 3,
        mlp_ratio: 2,
        layer_norm_eps: 1e-6,
        frame_differences: false,
        hidden_act: Activation::Gelu,
        pre_norm: false,
    }
}

/// The tiny preset shrunk further: text width 20 (2 heads), 2 cross layers, the second
/// without cross-attention (cross_attention_freq 2).
pub fn model_cfg() -> ModelConfig {
    let mut cfg = ModelConfig::preset("tiny").unwrap();
    cfg.video = video_cfg();
    cfg.text = BertConfig::new(37, 20, 1, 2, 28, 16);
    cfg.cross.num_layers = 2;
    cfg.cross.cross_attention_freq = 2;
    cfg.heads.embed_dim = 12;
    cfg
}

/// Every parameter has a finite gradient that is not all zeros.
pub fn assert_every_gradient(params: &[(String, Tensor)]) {
    for (name, p) in params {
        let g = p
            .grad_to_vec()
            .unwrap()
            .unwrap_or_else(|| panic!("{name}: no gradient"));
        assert!(
            g.iter().all(|v| v.is_finite()),
            "{name}: non-finite gradient"
        );
        assert!(g.iter().any(|&v| v != 0.0), "{name}: gradient all zero");
    }
}
