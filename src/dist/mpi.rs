//! The MPI collective (cargo feature `mpi`): one replica per process, `mpirun -np N
//! locomotion pretrain --distributed mpi`. Exchanges are MPI all-gathers through the host;
//! the all-reduce gathers every rank's vector and adds them in rank order on each rank, so
//! its result is the in-process [`super::ThreadGroup`]'s, bit for bit, whatever the ranks'
//! speed or MPI's reduction algorithm (it moves N times the data of a reduction: fine for the
//! presets' gradients over a few ranks).
//!
//! A rank that dies is noticed by `mpirun`, which stops the job. A rank that waits longer
//! than the collective timeout for the others (`LOCOMOTION_COLLECTIVE_TIMEOUT`, default 600 s)
//! prints why and exits non-zero, which `mpirun` also turns into the end of the job.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mpi::Count;
use mpi::datatype::PartitionMut;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use super::Collective;
use crate::gpu::GpuError;

/// MPI's world communicator and the universe that keeps MPI initialised.
struct World {
    // Dropped last: finalises MPI.
    world: SimpleCommunicator,
    _universe: Universe,
}

/// This process's handle on the MPI world (see the module docs).
pub struct MpiComm {
    // MPI is initialised with MPI_THREAD_SERIALIZED at least where it can be: the lock makes
    // every call one at a time, whichever thread makes it.
    world: Mutex<World>,
    rank: usize,
    size: usize,
    seconds: Mutex<f64>,
    /// Milliseconds since `epoch` when the pending exchange began; 0 when none is pending.
    busy_since: Arc<AtomicU64>,
    epoch: Instant,
}

// SAFETY: the communicator is a handle MPI allows any thread to use when calls are serialised,
// which the mutex around it guarantees.
unsafe impl Send for MpiComm {}
unsafe impl Sync for MpiComm {}

impl MpiComm {
    /// Initialise MPI (once per process) and start the watchdog that ends a rank stuck in an
    /// exchange for longer than `timeout`.
    pub fn init(timeout: Duration) -> anyhow::Result<Self> {
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Serialized)
            .ok_or_else(|| anyhow::anyhow!("--distributed mpi: MPI was already initialised"))?;
        let world = universe.world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        let busy_since = Arc::new(AtomicU64::new(0));
        let epoch = Instant::now();
        let watched = Arc::clone(&busy_since);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(250));
                let since = watched.load(Ordering::SeqCst);
                let now = epoch.elapsed().as_millis() as u64;
                if since > 0 && now.saturating_sub(since) > timeout.as_millis() as u64 {
                    eprintln!(
                        "error: rank {rank}: an MPI exchange did not complete within {:.0} s (LOCOMOTION_COLLECTIVE_TIMEOUT): another rank stopped or hangs",
                        timeout.as_secs_f64()
                    );
                    std::process::exit(3);
                }
            }
        });
        Ok(Self {
            world: Mutex::new(World {
                world,
                _universe: universe,
            }),
            rank,
            size,
            seconds: Mutex::new(0.0),
            busy_since,
            epoch,
        })
    }

    /// Every rank's `local`, concatenated in rank order (lengths may differ).
    fn gather(&self, local: &[f32]) -> Result<Vec<f32>, GpuError> {
        let t0 = Instant::now();
        self.busy_since.store(
            self.epoch.elapsed().as_millis() as u64 + 1,
            Ordering::SeqCst,
        );
        let w = self.world.lock().unwrap_or_else(|e| e.into_inner());
        let too_big = || {
            GpuError::Collective(format!(
                "rank {}: {} values are more than one MPI exchange takes",
                self.rank,
                local.len()
            ))
        };
        let mine = Count::try_from(local.len()).map_err(|_| too_big())?;
        let mut counts = vec![0 as Count; self.size];
        w.world.all_gather_into(&mine, &mut counts[..]);
        let displs: Vec<Count> = counts
            .iter()
            .scan(0 as Count, |acc, &c| {
                let d = *acc;
                *acc = acc.saturating_add(c);
                Some(d)
            })
            .collect();
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        let mut out = vec![0.0f32; total];
        {
            let mut part = PartitionMut::new(&mut out[..], &counts[..], &displs[..]);
            w.world.all_gather_varcount_into(local, &mut part);
        }
        drop(w);
        self.busy_since.store(0, Ordering::SeqCst);
        *self.seconds.lock().unwrap_or_else(|e| e.into_inner()) += t0.elapsed().as_secs_f64();
        Ok(out)
    }
}

impl Collective for MpiComm {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn all_gather(&self, local: &[f32]) -> Result<Vec<f32>, GpuError> {
        self.gather(local)
    }

    fn all_reduce_sum(&self, data: &mut [f32]) -> Result<(), GpuError> {
        let n = data.len();
        let all = self.gather(data)?;
        if all.len() != n * self.size {
            return Err(GpuError::Collective(format!(
                "all-reduce: {} values arrived from {} ranks, {n} each expected",
                all.len(),
                self.size
            )));
        }
        // In rank order, as the in-process group adds.
        data.copy_from_slice(&all[..n]);
        for part in all[n..].chunks_exact(n) {
            for (a, x) in data.iter_mut().zip(part) {
                *a += x;
            }
        }
        Ok(())
    }

    fn abort(&self, why: &str) {
        eprintln!("error: rank {}: {why}", self.rank);
        let w = self.world.lock().unwrap_or_else(|e| e.into_inner());
        w.world.abort(1);
    }

    fn seconds(&self) -> f64 {
        *self.seconds.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// This process's index among the ranks on its machine (Open MPI, MPICH or Slurm), to give
/// each rank its own GPU.
pub fn local_rank() -> Option<usize> {
    [
        "OMPI_COMM_WORLD_LOCAL_RANK",
        "MPI_LOCALRANKID",
        "SLURM_LOCALID",
    ]
    .iter()
    .find_map(|v| std::env::var(v).ok()?.trim().parse().ok())
}
