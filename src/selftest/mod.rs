//! `locomotion selftest`: the GPU path's correctness checks in the binary, for a machine
//! with a driver and no Rust toolchain: kernels against CPU references on fresh random
//! inputs (shapes that are not multiples of the tiles, output buffers poisoned with NaNs),
//! a small model whose loss must fall, and pre-training steps of the recipe.

mod checks;
pub mod reference;

use std::time::Instant;

use serde::Serialize;

use crate::gpu::{AdapterSummary, Gpu, Kernels};

/// A quiet-NaN bit pattern every storage buffer is filled with while the checks run, so an
/// output element a kernel leaves unwritten fails its comparison.
pub const POISON: u32 = 0x7fc0_dead;

/// Relative error bound for f32 kernels against their f64 references.
pub const F32_BOUND: f64 = 1e-4;

/// The outcome of one check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked, with its shape.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// The measured figure against its bound, or the error.
    pub detail: String,
    /// Wall seconds.
    pub seconds: f64,
}

/// Every check of one run.
#[derive(Debug, Clone, Serialize)]
pub struct SelftestReport {
    /// The engine's version.
    pub version: &'static str,
    /// The adapter the checks ran on.
    pub adapter: AdapterSummary,
    /// The kernel variants they ran (always those a GPU picks).
    pub kernels: Kernels,
    /// One entry per check, in order.
    pub checks: Vec<Check>,
    /// Checks passed and failed.
    pub passed: usize,
    pub failed: usize,
    /// Wall seconds of the whole run.
    pub seconds: f64,
}

/// A check's result: Ok((passed, what was measured against what bound)).
type Outcome = anyhow::Result<(bool, String)>;

/// One check on a device.
type CheckFn = fn(&Gpu) -> Outcome;

/// The checks, in the order they run: (name, check).
fn all() -> Vec<(&'static str, CheckFn)> {
    vec![
        ("matmul 67x45x33 + bias", checks::matmul_forward),
        (
            "matmul 67x45x33, transposed weight",
            checks::matmul_transposed,
        ),
        ("matmul backward 67x45x33", checks::matmul_backward),
        ("layer norm 37x70", checks::layer_norm),
        ("softmax 19x77", checks::softmax),
        ("fused attention B2 H3 Tq37 Tk29 D32", checks::attention),
        (
            "training: encoder loss falls in 30 steps",
            checks::loss_falls,
        ),
        (
            "pre-training: 3 tiny steps of the recipe",
            checks::pretrain_steps,
        ),
    ]
}

/// Run every check on `gpu` with the kernel variants a GPU picks, calling `each` after each
/// one (to print it as it finishes).
pub fn run(gpu: &Gpu, mut each: impl FnMut(&Check)) -> SelftestReport {
    let g = gpu.with_kernels(Kernels::Gpu);
    let poison = g.pool.poison();
    g.pool.set_poison(Some(POISON));
    let start = Instant::now();
    let mut checks = Vec::new();
    for (name, check) in all() {
        let t0 = Instant::now();
        let (ok, detail) = match check(&g) {
            Ok(r) => r,
            Err(e) => (false, format!("error: {e:#}")),
        };
        let c = Check {
            name: name.to_string(),
            ok,
            detail: detail.split_whitespace().collect::<Vec<_>>().join(" "),
            seconds: t0.elapsed().as_secs_f64(),
        };
        each(&c);
        checks.push(c);
    }
    g.pool.set_poison(poison);
    let passed = checks.iter().filter(|c| c.ok).count();
    SelftestReport {
        version: env!("CARGO_PKG_VERSION"),
        adapter: gpu.summary.clone(),
        kernels: g.kernels,
        failed: checks.len() - passed,
        passed,
        checks,
        seconds: start.elapsed().as_secs_f64(),
    }
}

impl Check {
    /// One line: `ok   name: detail (seconds)` or `FAIL name: ...`.
    pub fn line(&self) -> String {
        format!(
            "{} {}: {} ({:.2} s)",
            if self.ok { "ok  " } else { "FAIL" },
            self.name,
            self.detail,
            self.seconds
        )
    }
}
