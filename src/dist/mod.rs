//! Data-parallel training: replicas of one model that each take a share of the global batch
//! and stay identical by summing their gradients every step.
//!
//! A [`Collective`] joins the replicas: threads in one process, one per wgpu device
//! ([`ThreadGroup`]), or processes on many machines over MPI (`mpi` feature). Its two
//! operations move f32 data through the host and are deterministic: [`Collective::all_gather`]
//! concatenates in rank order and [`Collective::all_reduce_sum`] adds in rank order, so the
//! result does not depend on which replica is faster.
//!
//! The model's losses stay those of the global batch ([`ops::gather_with_grad`] gives each
//! replica the whole batch's VTC embeddings and VTM states, and routes the gradients of other
//! replicas' rows back to them), so a run on N devices logs the losses a one-device run with
//! the same `--batch` logs, up to float rounding.

pub mod devices;
pub mod hybrid;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod ops;
pub mod threads;

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use crate::gpu::GpuError;

pub use threads::ThreadGroup;

/// How long a replica waits for the others at one collective before giving up with an error
/// (`LOCOMOTION_COLLECTIVE_TIMEOUT` in seconds overrides it): long enough for the slowest
/// step of the `base` preset on a CPU adapter, short enough that a replica that died is
/// noticed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The collective timeout: `LOCOMOTION_COLLECTIVE_TIMEOUT` (seconds, > 0) or
/// [`DEFAULT_TIMEOUT`].
pub fn timeout_from_env() -> Result<Duration, GpuError> {
    match std::env::var("LOCOMOTION_COLLECTIVE_TIMEOUT") {
        Err(_) => Ok(DEFAULT_TIMEOUT),
        Ok(v) => match v.trim().parse::<f64>() {
            Ok(s) if s.is_finite() && s > 0.0 => Ok(Duration::from_secs_f64(s)),
            _ => Err(GpuError::Setting {
                name: "LOCOMOTION_COLLECTIVE_TIMEOUT",
                value: v,
                choices: "a number of seconds above 0",
            }),
        },
    }
}

/// The replicas of one run and the data they exchange. Every replica must call the same
/// operations in the same order; a replica that fails calls [`Collective::abort`] so that the
/// others stop with its message instead of waiting.
pub trait Collective: Send + Sync {
    /// This replica's index, 0-based; replica 0 writes checkpoints, metrics and reports.
    fn rank(&self) -> usize;
    /// Replicas in the run.
    fn size(&self) -> usize;
    /// Every replica's `local` (lengths may differ), concatenated in rank order.
    fn all_gather(&self, local: &[f32]) -> Result<Vec<f32>, GpuError>;
    /// The element-wise sum of every replica's `data` (same length on all), added in rank
    /// order, written back into `data` on every replica.
    fn all_reduce_sum(&self, data: &mut [f32]) -> Result<(), GpuError>;
    /// Stop the other replicas: their pending and later operations fail with `why`.
    fn abort(&self, why: &str);
    /// Host seconds this replica has spent inside collective operations (waiting included).
    fn seconds(&self) -> f64;
}

/// Run `f` once per device, each on its own thread with its own member of `comms` (in
/// order), and return the results in device order. A replica whose `f` fails or panics aborts
/// the others' collectives, so none is left waiting for it.
pub fn run_replicas<T: Send>(
    gpus: &[crate::gpu::Gpu],
    comms: Vec<Arc<dyn Collective>>,
    f: impl Fn(&crate::gpu::Gpu, &Arc<dyn Collective>) -> anyhow::Result<T> + Sync,
) -> Vec<anyhow::Result<T>> {
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = gpus
            .iter()
            .zip(comms)
            .map(|(gpu, comm)| {
                s.spawn(move || {
                    let run =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(gpu, &comm)));
                    let out = run.unwrap_or_else(|_| Err(anyhow::anyhow!("the replica panicked")));
                    if let Err(e) = &out {
                        comm.abort(&format!("{e:#}"));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a replica thread panicked")))
            })
            .collect()
    })
}

/// A replica's part of the global batch, and the collective it shares the batch through.
#[derive(Clone)]
pub struct Shard {
    /// The replicas.
    pub comm: Arc<dyn Collective>,
    /// This replica's samples of the global batch.
    pub range: Range<usize>,
    /// Samples in the global batch.
    pub total: usize,
}

impl Shard {
    /// The shard of `comm`'s replica when a global batch of `total` samples is split by
    /// `weights` (None: evenly; see [`shares`]).
    pub fn new(
        comm: Arc<dyn Collective>,
        total: usize,
        weights: Option<&[f64]>,
    ) -> anyhow::Result<Self> {
        let all = shares(total, comm.size(), weights)?;
        Ok(Self {
            range: all[comm.rank()].clone(),
            comm,
            total,
        })
    }
}

/// Split a global batch of `total` samples among `replicas`: in proportion to `weights` (one
/// positive number per replica; the largest remainders get the samples rounding leaves),
/// evenly without them (the first `total % replicas` replicas take one more). Every replica
/// gets at least one sample, so `total` must be at least `replicas`.
pub fn shares(
    total: usize,
    replicas: usize,
    weights: Option<&[f64]>,
) -> anyhow::Result<Vec<Range<usize>>> {
    anyhow::ensure!(replicas >= 1, "at least one replica is needed");
    anyhow::ensure!(
        total >= replicas,
        "--batch {total} is smaller than the {replicas} devices: every device needs at least one clip"
    );
    let counts: Vec<usize> = match weights {
        None => (0..replicas)
            .map(|r| total / replicas + usize::from(r < total % replicas))
            .collect(),
        Some(w) => {
            anyhow::ensure!(
                w.len() == replicas,
                "--device-weights gives {} weights for {replicas} devices",
                w.len()
            );
            anyhow::ensure!(
                w.iter().all(|x| x.is_finite() && *x > 0.0),
                "--device-weights must all be positive numbers"
            );
            // One sample each, then the rest by largest remainder.
            let spare = total - replicas;
            let sum: f64 = w.iter().sum();
            let exact: Vec<f64> = w.iter().map(|x| x / sum * spare as f64).collect();
            let mut counts: Vec<usize> = exact.iter().map(|e| 1 + e.floor() as usize).collect();
            let mut order: Vec<usize> = (0..replicas).collect();
            order.sort_by(|&a, &b| {
                let (ra, rb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
                rb.total_cmp(&ra).then(a.cmp(&b))
            });
            let left = total - counts.iter().sum::<usize>();
            for &r in order.iter().take(left) {
                counts[r] += 1;
            }
            counts
        }
    };
    let mut start = 0;
    Ok(counts
        .into_iter()
        .map(|n| {
            let r = start..start + n;
            start += n;
            r
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::shares;

    #[test]
    fn even_and_weighted_shares_cover_the_batch() {
        assert_eq!(shares(16, 2, None).unwrap(), vec![0..8, 8..16]);
        assert_eq!(shares(7, 3, None).unwrap(), vec![0..3, 3..5, 5..7]);
        assert_eq!(
            shares(16, 2, Some(&[3.0, 1.0])).unwrap(),
            vec![0..12, 12..16]
        );
        assert_eq!(shares(5, 2, Some(&[100.0, 1.0])).unwrap(), vec![0..4, 4..5]);
        assert!(shares(1, 2, None).is_err());
        assert!(shares(8, 2, Some(&[1.0])).is_err());
        assert!(shares(8, 2, Some(&[1.0, 0.0])).is_err());
    }
}
