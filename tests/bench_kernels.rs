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
