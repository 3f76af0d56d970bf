//! The model's parameter list (names, shapes and order) is the checkpoint format and the
//! order random initialisation draws in: it must stay exactly the list the engine had before
//! its layers were built from a name-prefix builder. `tests/param_names/*.txt` hold that list,
//! captured from the hand-written list the builder replaced, one `name dims` line each, in
//! the model's order.

use locomotion::model::config::ModelConfig;
use locomotion::model::params::{ParamShape, model_parameter_shapes};

/// `name d0xd1…` per parameter, in order.
fn listing(shapes: &[ParamShape]) -> String {
    shapes
        .iter()
        .map(|(n, s)| {
            let dims: Vec<String> = s.iter().map(|d| d.to_string()).collect();
            format!("{n} {}\n", dims.join("x"))
        })
        .collect()
}

/// The `tiny` preset with three cross layers, cross-attention in every second one: layers
/// with and without the `xattn.*` parameters.
fn tiny_sparse_cross() -> ModelConfig {
    let mut cfg = ModelConfig::preset("tiny").unwrap();
    cfg.cross.num_layers = 3;
    cfg.cross.cross_attention_freq = 2;
    cfg
}

fn configs() -> Vec<(&'static str, ModelConfig)> {
    let mut out: Vec<_> = ["tiny", "small", "base"]
        .into_iter()
        .map(|p| (p, ModelConfig::preset(p).unwrap()))
        .collect();
    out.push(("tiny-sparse-cross", tiny_sparse_cross()));
    out
}

#[test]
fn parameter_list_is_the_checkpoint_format() {
    for (name, cfg) in configs() {
        let path = format!(
            "{}/tests/param_names/{name}.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        let want = std::fs::read_to_string(&path).unwrap();
        let got = listing(&model_parameter_shapes(&cfg));
        if got != want {
            let diff = got
                .lines()
                .zip(want.lines())
                .position(|(g, w)| g != w)
                .unwrap_or(got.lines().count().min(want.lines().count()));
            panic!(
                "{name}: the parameter list differs from {path} at line {}: got {:?}, want {:?}",
                diff + 1,
                got.lines().nth(diff),
                want.lines().nth(diff)
            );
        }
    }
}
