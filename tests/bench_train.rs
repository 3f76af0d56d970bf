//! `bench train` end to end at small sizes: every row the issue names, with its rates and
//! per-step counts, the JSON fields other tools read, and a profile whose kernels add up.

mod common;

use locomotion::bench::encoder::EncoderDims;
use locomotion::bench::train::{TrainBench, run};

#[test]
fn the_encoder_flop_count_is_the_benchmarks() {
    // Matmuls only: 2.147 GFLOP forward at B=8 S=256 D=128 H=4 F=512 L=2.
    let f = EncoderDims::default().forward_flops();
    assert_eq!(f, 2_147_483_648.0);
}

#[test]
fn bench_train_reports_every_row_with_json_and_a_profile() {
    let g = common::gpu();
    let opts = TrainBench {
        steps: 1,
        warmup: 1,
        encoder: Some(EncoderDims {
            batch: 2,
            seq: 16,
            width: 32,
            heads: 2,
            mlp: 64,
            layers: 1,
        }),
        preset: Some("tiny".into()),
        vtc_only: true,
        all_objectives: true,
        batch: 2,
        accumulate: 1,
        profile: true,
    };
    let report = run(&g, &opts).unwrap();
    let names: Vec<&str> = report.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "transformer-encoder",
            "pretrain-tiny (vtc)",
            "pretrain-tiny (vtc+vtm+mlm)"
        ]
    );
    for r in &report.rows {
        assert!(
            r.step_s > 0.0 && r.steps_per_s > 0.0 && r.gflops > 0.0,
            "{r:?}"
        );
        assert!(
            r.dispatches_per_step >= 10.0 && r.submits_per_step >= 1.0,
            "{r:?}"
        );
        assert_eq!(
            r.clips_per_s.is_some(),
            r.name.starts_with("pretrain"),
            "{r:?}"
        );
    }
    // The encoder's FLOPs per step are 3x its forward's, as the issue counts them.
    let enc = &report.rows[0];
    let dims = opts.encoder.unwrap();
    // The sequence mean is a matmul too (2BSD), the formula leaves it out.
    let pool = 2.0 * (dims.batch * dims.seq * dims.width) as f64;
    assert!(
        (enc.flops_per_step - 3.0 * (dims.forward_flops() + pool)).abs() < 1.0,
        "{enc:?}"
    );
    // All three objectives do more work than VTC alone.
    assert!(report.rows[2].flops_per_step > report.rows[1].flops_per_step);

    assert_eq!(report.profiles.len(), 3);
    for p in &report.profiles {
        let t = &p.trace;
        let counted: u64 = t.kernels.iter().map(|k| k.count).sum();
        assert_eq!(counted, t.dispatches, "{}", p.name);
        assert!(
            t.kernels.iter().any(|k| k.kernel.starts_with("matmul")),
            "{}",
            p.name
        );
        // Every multiply's row names its shape (`MxNxK`, ` bN` for a batch); packing and
        // split-K sums are rows of their own.
        let multiply = |k: &&locomotion::gpu::KernelTime| {
            k.kernel.starts_with("matmul")
                && !k.kernel.starts_with("matmul_pack")
                && !k.kernel.starts_with("matmul_splitk")
        };
        for k in t.kernels.iter().filter(multiply) {
            let shape = k.kernel.rsplit(' ').find(|w| w.contains('x'));
            assert!(
                shape.is_some_and(|w| w.split('x').all(|d| d.parse::<u32>().is_ok())),
                "{}: {}",
                p.name,
                k.kernel
            );
            assert_eq!(k.gflops.is_some(), g.caps.timestamps, "{}", k.kernel);
        }
        if g.caps.timestamps {
            let share: f64 = t.kernels.iter().filter_map(|k| k.share).sum();
            assert!(
                (share - 1.0).abs() < 1e-6,
                "{}: shares add to {share}",
                p.name
            );
        }
    }
    // B*S x D x D untransposed: the encoder's Q, K, V and output projections, 4 a layer
    // (the backward's products of that shape have a transposed operand).
    let q = format!(" {}x{}x{}", dims.batch * dims.seq, dims.width, dims.width);
    let enc_trace = &report.profiles[0].trace;
    let qkv: u64 = enc_trace
        .kernels
        .iter()
        .filter(|k| k.kernel.ends_with(&q) && !k.kernel.contains("=1"))
        .map(|k| k.count)
        .sum();
    assert_eq!(qkv, 4 * dims.layers as u64, "{:#?}", enc_trace.kernels);
    let table = report.table();
    assert!(table.contains("transformer-encoder") && table.contains("profile of one"));
    assert!(table.contains("GFLOP/s"));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.json");
    report.write_json(&path).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for key in ["adapter", "driver", "backend"] {
        assert!(json[key].is_string(), "{key}");
    }
    let row = &json["rows"][1];
    for key in [
        "name",
        "steps_per_s",
        "clips_per_s",
        "gflops",
        "dispatches_per_step",
        "submits_per_step",
    ] {
        assert!(!row[key].is_null(), "rows[1].{key}");
    }
    assert!(json["rows"][0]["clips_per_s"].is_null());
}

#[test]
fn bench_train_times_the_pretraining_rows_on_two_devices() {
    use locomotion::bench::devices::replica_rows;
    use locomotion::dist::devices::open_devices;
    let gpus = open_devices("2", &locomotion::gpu::AdapterRequest::default()).unwrap();
    let opts = TrainBench {
        steps: 2,
        warmup: 1,
        encoder: None,
        preset: Some("tiny".into()),
        vtc_only: true,
        all_objectives: false,
        batch: 4,
        accumulate: 1,
        profile: false,
    };
    let one = run(&gpus[0], &opts).unwrap();
    let two = replica_rows(&gpus, &opts).unwrap();
    assert_eq!(two.len(), 1);
    let (r1, r2) = (&one.rows[0], &two[0]);
    assert_eq!(r2.name, "pretrain-tiny (vtc) x2");
    assert_eq!((r1.devices, r2.devices), (1, 2));
    assert_eq!(r2.clips_per_s.unwrap(), 4.0 / r2.step_s);
    for share in [r2.allreduce_share.unwrap(), r2.collective_share.unwrap()] {
        assert!(share > 0.0 && share < 1.0, "{r2:?}");
    }
    // Both replicas' matmuls count: the split batch does the one-device work, plus each
    // replica's copy of the whole batch's (small) VTC similarities.
    let ratio = r2.flops_per_step / r1.flops_per_step;
    assert!((1.0..1.05).contains(&ratio), "{ratio}: {r1:?} vs {r2:?}");
}
