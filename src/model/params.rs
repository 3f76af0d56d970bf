//! The parameter names and shapes of the whole model: the contract between the GPU model,
//! checkpoints and the Hugging Face import.
//!
//! Conventions (every GPU module follows them):
//! - a linear layer `y = x·W + b` stores `<name>.weight` as **`[in, out]`** row-major (so the
//!   forward is a plain row-major matmul; Hugging Face's `[out, in]` is transposed on import)
//!   and `<name>.bias` as `[out]`;
//! - a layer norm stores `<name>.gamma` and `<name>.beta`, both `[hidden]`;
//! - an embedding table is `[rows, hidden]`.
//!
//! Text encoder (`text.`, BERT, post-LN; `H` hidden, `I` intermediate, `V` vocab, `P` positions,
//! `T` token types):
//! ```text
//! text.embeddings.word            [V, H]    text.embeddings.position  [P, H]
//! text.embeddings.token_type      [T, H]    text.embeddings.ln.{gamma,beta}  [H]
//! text.layers.N.attn.{q,k,v,out}.weight [H, H]   .bias [H]
//! text.layers.N.attn.ln.{gamma,beta}    [H]      (after the attention residual)
//! text.layers.N.ffn.up.weight   [H, I]  .bias [I]
//! text.layers.N.ffn.down.weight [I, H]  .bias [H]
//! text.layers.N.ffn.ln.{gamma,beta}     [H]      (after the feed-forward residual)
//! ```
//! Video encoder (`video.`, pre-LN ViT; `Hv` hidden, `D` tubelet values C·t·h·w):
//! `video.patch.{weight [D, Hv], bias}`, `video.cls [Hv]`, `video.pos.space [gh·gw, Hv]`,
//! `video.pos.time [gt, Hv]`, `video.ln_pre` (only with `pre_norm`), per layer `video.layers.N.{ln1, attn.{q,k,v,out}, ln2,
//! mlp.{up,down}}`, and `video.ln_final`.
//! Cross encoder (`cross.`): text-layer names, plus in cross layers
//! `cross.layers.N.xattn.{q [H, H], k [Hv, H], v [Hv, H], out [H, H]}` and `xattn.ln`.
//! Heads: `heads.vtc.{video_proj [Hv, E], text_proj [H, E]}`, `heads.vtc.temperature [1]`
//! (stored as the InfoNCE log-scale `ln(1/τ)`, so that it stays positive while it learns),
//! `heads.vtm [H, 2]`, `heads.mlm.{transform [H, H], ln, decoder_bias [V]}`; the MLM decoder's
//! weight is tied to `text.embeddings.word`, as in BERT.

use super::config::{BertConfig, ModelConfig, VideoEncoderConfig};

/// A parameter's name and shape.
pub type ParamShape = (String, Vec<usize>);

fn linear(out: &mut Vec<ParamShape>, name: &str, din: usize, dout: usize) {
    out.push((format!("{name}.weight"), vec![din, dout]));
    out.push((format!("{name}.bias"), vec![dout]));
}

fn layer_norm(out: &mut Vec<ParamShape>, name: &str, h: usize) {
    out.push((format!("{name}.gamma"), vec![h]));
    out.push((format!("{name}.beta"), vec![h]));
}

/// One post-LN BERT layer (self-attention, then feed-forward) under `prefix`.
fn bert_layer(out: &mut Vec<ParamShape>, prefix: &str, h: usize, inter: usize) {
    for p in ["q", "k", "v", "out"] {
        linear(out, &format!("{prefix}.attn.{p}"), h, h);
    }
    layer_norm(out, &format!("{prefix}.attn.ln"), h);
    linear(out, &format!("{prefix}.ffn.up"), h, inter);
    linear(out, &format!("{prefix}.ffn.down"), inter, h);
    layer_norm(out, &format!("{prefix}.ffn.ln"), h);
}

/// The BERT text encoder's parameters, in a fixed order.
pub fn text_parameter_shapes(cfg: &BertConfig) -> Vec<ParamShape> {
    let h = cfg.hidden_size;
    let mut out = vec![
        ("text.embeddings.word".into(), vec![cfg.vocab_size, h]),
        (
            "text.embeddings.position".into(),
            vec![cfg.max_position_embeddings, h],
        ),
        (
            "text.embeddings.token_type".into(),
            vec![cfg.type_vocab_size, h],
        ),
    ];
    layer_norm(&mut out, "text.embeddings.ln", h);
    for n in 0..cfg.num_hidden_layers {
        bert_layer(
            &mut out,
            &format!("text.layers.{n}"),
            h,
            cfg.intermediate_size,
        );
    }
    out
}

/// The video encoder's parameters (`video.*`), in a fixed order.
pub fn video_parameter_shapes(v: &VideoEncoderConfig) -> Vec<ParamShape> {
    let hv = v.hidden_size;
    let [gt, gh, gw] = v.grid();
    let mut out = Vec::new();
    linear(&mut out, "video.patch", v.tubelet_dim(), hv);
    out.push(("video.cls".into(), vec![hv]));
    out.push(("video.pos.space".into(), vec![gh * gw, hv]));
    out.push(("video.pos.time".into(), vec![gt, hv]));
    if v.pre_norm {
        layer_norm(&mut out, "video.ln_pre", hv);
    }
    for n in 0..v.num_layers {
        let p = format!("video.layers.{n}");
        layer_norm(&mut out, &format!("{p}.ln1"), hv);
        for q in ["q", "k", "v", "out"] {
            linear(&mut out, &format!("{p}.attn.{q}"), hv, hv);
        }
        layer_norm(&mut out, &format!("{p}.ln2"), hv);
        linear(&mut out, &format!("{p}.mlp.up"), hv, hv * v.mlp_ratio);
        linear(&mut out, &format!("{p}.mlp.down"), hv * v.mlp_ratio, hv);
    }
    layer_norm(&mut out, "video.ln_final", hv);
    out
}

/// The cross-modal encoder's parameters (`cross.*`), in a fixed order.
pub fn cross_parameter_shapes(cfg: &ModelConfig) -> Vec<ParamShape> {
    let (h, hv) = (cfg.text.hidden_size, cfg.video.hidden_size);
    let mut out = Vec::new();
    for n in 0..cfg.cross.num_layers {
        let p = format!("cross.layers.{n}");
        bert_layer(&mut out, &p, h, cfg.text.intermediate_size);
        if n % cfg.cross.cross_attention_freq == 0 {
            linear(&mut out, &format!("{p}.xattn.q"), h, h);
            linear(&mut out, &format!("{p}.xattn.k"), hv, h);
            linear(&mut out, &format!("{p}.xattn.v"), hv, h);
            linear(&mut out, &format!("{p}.xattn.out"), h, h);
            layer_norm(&mut out, &format!("{p}.xattn.ln"), h);
        }
    }
    out
}

/// The heads' parameters (`heads.*`), in a fixed order.
pub fn heads_parameter_shapes(cfg: &ModelConfig) -> Vec<ParamShape> {
    let (h, hv) = (cfg.text.hidden_size, cfg.video.hidden_size);
    let e = cfg.heads.embed_dim;
    let mut out = Vec::new();
    linear(&mut out, "heads.vtc.video_proj", hv, e);
    linear(&mut out, "heads.vtc.text_proj", h, e);
    out.push(("heads.vtc.temperature".into(), vec![1]));
    linear(&mut out, "heads.vtm", h, 2);
    linear(&mut out, "heads.mlm.transform", h, h);
    layer_norm(&mut out, "heads.mlm.ln", h);
    out.push(("heads.mlm.decoder_bias".into(), vec![cfg.text.vocab_size]));
    out
}

/// Every learnable parameter of the model, in a fixed order.
pub fn model_parameter_shapes(cfg: &ModelConfig) -> Vec<ParamShape> {
    let mut out = video_parameter_shapes(&cfg.video);
    out.extend(text_parameter_shapes(&cfg.text));
    out.extend(cross_parameter_shapes(cfg));
    out.extend(heads_parameter_shapes(cfg));
    out
}

impl ModelConfig {
    /// Number of learnable parameters (the shapes of [`model_parameter_shapes`]).
    pub fn parameter_count(&self) -> usize {
        model_parameter_shapes(self)
            .iter()
            .map(|(_, s)| s.iter().product::<usize>())
            .sum()
    }
}
