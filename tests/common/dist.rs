//! What the data-parallel tests compare: the metrics two runs logged and the weights they
//! saved, with the tolerances stated where they are defined.

use std::path::Path;

use locomotion::model::checkpoint::Checkpoint;
use locomotion::train::trainer::StepRecord;

/// The records of `out`/metrics.jsonl.
pub fn records(out: &Path) -> Vec<StepRecord> {
    super::read_jsonl(out.join("metrics.jsonl"))
}

/// Relative difference of two logged values.
pub fn rel(a: f32, b: f32) -> f32 {
    (a - b).abs() / b.abs().max(1e-6)
}

/// Parameters whose loss gradient is 0 in exact arithmetic: attention key biases (softmax
/// ignores a constant added to a query's every score) and the VTC projections' biases (the
/// embeddings are centred over the batch). Their gradient is rounding noise, which AdamW
/// normalises into steps of about ±lr in whatever direction the noise points, on one device
/// as on two; so they (and their AdamW moments) are held to steps · lr, not to 1e-3. The
/// checkpoint's mean VTC projections (`stats.vtc.*`) carry the projection biases, so they too.
pub fn zero_gradient(name: &str) -> bool {
    let key_bias = name.contains(".k.bias") || name.contains(".key.bias");
    let vtc_bias = name.contains("heads.vtc.") && name.contains("_proj.bias");
    key_bias || vtc_bias || name.starts_with("stats.vtc.")
}

/// The tensors of two checkpoints that differ by more than 1e-3 of the tensor's largest
/// value or, for tensors that stay near 0, by more than 5 % of the farthest AdamW can move a
/// value in the run (`steps · lr`): a wrong gradient moves most values by about lr a step.
/// (1 % was too tight: Adam turns float-level differences in a near-zero gradient, summed
/// in another order across ranks, into up to lr a step; `video.ln_final.beta`, whose VTC
/// gradient the batch centring cancels, moved 2.5 % of the reach under MPI.)
/// The [`zero_gradient`] ones may differ by up to `steps · lr`, their moments by anything.
pub fn weight_gaps(a: &Path, b: &Path, (steps, lr): (u64, f64)) -> Vec<String> {
    let (a, b) = (
        Checkpoint::load(&a.join("checkpoint")).unwrap(),
        Checkpoint::load(&b.join("checkpoint")).unwrap(),
    );
    assert_eq!(
        a.tensors.keys().collect::<Vec<_>>(),
        b.tensors.keys().collect::<Vec<_>>()
    );
    let mut bad = Vec::new();
    for (name, ta) in &a.tensors {
        let tb = &b.tensors[name];
        let scale = tb.data.iter().fold(1e-6f32, |m, x| m.max(x.abs()));
        let gap = ta
            .data
            .iter()
            .zip(&tb.data)
            .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        let moment = name.starts_with("adam") || name.contains("adam_");
        let reach = steps as f32 * lr as f32;
        let ok = match (zero_gradient(name), moment) {
            (true, true) => true,
            (true, false) => gap <= reach,
            (false, _) => gap <= (1e-3 * scale).max(0.05 * reach),
        };
        if !ok {
            bad.push(format!("{name} by {gap} (largest value {scale})"));
        }
    }
    bad
}

pub fn assert_same_losses(a: &[StepRecord], b: &[StepRecord]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.step, y.step);
        for (what, u, v) in [
            ("vtc", x.vtc, y.vtc),
            ("vtm", x.vtm, y.vtm),
            ("mlm", x.mlm, y.mlm),
            ("total", x.total, y.total),
            ("grad norm", x.grad_norm, y.grad_norm),
        ] {
            assert!(
                rel(u, v) <= 1e-3,
                "step {}: {what} {u} on several devices, {v} on one",
                x.step
            );
        }
    }
}
