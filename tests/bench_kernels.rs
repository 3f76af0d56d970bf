//! The kernel benchmark suite runs end to end at tiny shapes: the table names the adapter,
//! every row has a positive time and a rate, the naive matmul's speedup is reported, and the
//! JSON report carries adapter, driver and backend.

mod common;

use locomotion::bench::kernels::{Size, run};

#[test]
fn quick_suite_prints_table_and_writes_json() {
    let g = common::gpu();
    let report = run(&g, Size::Quick, false).unwrap();
    assert!(report.rows.len() >= 10);
    for r in &report.rows {
        assert!(r.seconds > 0.0, "{}: no time", r.kernel);
        assert!(
            r.gflops.or(r.gbytes_per_s).is_some_and(|v| v > 0.0),
            "{}: no rate",
            r.kernel
        );
    }
    assert!(report.speedups.iter().any(|s| s.what.contains("naive")));
    for what in ["fused vs unfused forward", "fused vs unfused backward"] {
        assert!(
            report.speedups.iter().any(|s| s.what.contains(what)),
            "{what}"
        );
    }
    for kernel in [
        "attention unfused backward",
        "cross-entropy backward",
        "InfoNCE backward",
    ] {
        assert!(report.rows.iter().any(|r| r.kernel == kernel), "{kernel}");
    }
    let table = report.table();
    assert!(table.contains(&g.summary.name) && table.contains("GFLOP/s"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kernels.json");
    report.write_json(&path).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v["adapter"], g.summary.name.as_str());
    assert!(v["driver"].is_string() && v["backend"].is_string());
    assert_eq!(v["rows"].as_array().unwrap().len(), report.rows.len());
    let e = report
        .write_json(&dir.path().join("missing/dir/x.json"))
        .unwrap_err();
    assert!(format!("{e:#}").contains("missing/dir"), "{e:#}");
}

#[test]
fn matmul_rows_put_the_picked_kernel_first_and_cpu_variants_only_with_cpu_kernels() {
    use locomotion::bench::Suite;
    use locomotion::bench::matmul::{iterations, matmuls, shapes};
    use locomotion::gpu::Kernels;
    let g = common::gpu();
    for kernels in [Kernels::Cpu, Kernels::Gpu] {
        let gv = g.with_kernels(kernels);
        let mut suite = Suite::new(&gv, 20, false);
        matmuls(&mut suite, Size::Quick).unwrap();
        let report = suite.finish();
        for (shape, d) in shapes(&gv, Size::Quick) {
            let rows: Vec<_> = report.rows.iter().filter(|r| r.shape == shape).collect();
            // Every size: the SGEMM kernel first, then the earlier GPU kernel, warmed up and
            // timed over at least 3 iterations.
            assert!(
                rows[0].kernel.starts_with("matmul SGEMM"),
                "{shape}: {rows:?}"
            );
            assert!(rows.iter().any(|r| r.kernel.starts_with("matmul tiled")));
            assert!(rows.iter().all(|r| r.iters >= 3 && r.seconds > 0.0));
            assert_eq!(rows[0].iters, iterations(&gv, d.flops()));
            let cpu_rows = rows.iter().any(|r| r.kernel.contains("for CPU drivers"));
            assert_eq!(cpu_rows, kernels == Kernels::Cpu, "{kernels:?} {shape}");
        }
        // The weight-gradient shape is split along K, and timed both ways.
        assert!(
            report
                .speedups
                .iter()
                .any(|s| s.what.starts_with("matmul SGEMM split-K vs none, dW")),
            "{:?}",
            report.speedups
        );
    }
    // 4096³ only on GPU adapters.
    let full = shapes(&g, Size::Full);
    assert!(full.iter().any(|(s, _)| s == "2048x128x384"));
    assert_eq!(full.iter().any(|(s, _)| s == "M=N=K=4096"), !g.is_cpu());
}
