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

mod builder {
    use locomotion::model::checkpoint::{HostTensor, TensorMap};
    use locomotion::nn::{Builder, Host, Linear, Shapes, shapes_of};

    #[test]
    fn prefixes_name_the_parameters_in_build_order() {
        let got = shapes_of(|root| {
            let vb = root.pp("heads").pp(3);
            Ok((Linear::new(vb.pp("proj"), 5, 2)?, vb.param("scale", &[1])?))
        });
        let want = [
            ("heads.3.proj.weight", vec![5, 2]),
            ("heads.3.proj.bias", vec![2]),
            ("heads.3.scale", vec![1]),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(n, s)| (n.to_string(), s.clone()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_name_built_twice_is_refused() {
        let root = Builder::new(Shapes);
        root.pp("a").param("w", &[1]).unwrap();
        let e = root.pp("a").param("w", &[2]).unwrap_err().to_string();
        assert!(e.contains("a.w is built twice"), "{e}");
    }

    #[test]
    fn a_missing_or_misshapen_weight_names_itself_and_the_module() {
        let mut weights = TensorMap::new();
        weights.insert(
            "m.l.weight".into(),
            HostTensor::new(vec![3, 2], vec![0.0; 6]),
        );
        let build = |din, dout| {
            let root = Builder::new(Host::new("test module", &weights));
            match Linear::new(root.pp("m").pp("l"), din, dout) {
                Ok(_) => String::new(),
                Err(e) => e.to_string(),
            }
        };
        assert_eq!(build(3, 2), "test module has no tensor m.l.bias");
        let e = build(2, 3);
        assert!(
            e.contains("test module tensor m.l.weight has shape [3, 2], the model expects [2, 3]"),
            "{e}"
        );
    }
}
