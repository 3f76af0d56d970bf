//! Several devices per MPI rank (`mpirun … pretrain --distributed mpi --devices N`): the
//! replicas of one process meet in a [`ThreadGroup`], and its first replica carries the
//! process's part across ranks over MPI. Replica `rank · N + i` is device i of rank `rank`,
//! so gathers come out in the same order as on one machine.

use std::sync::Arc;

use super::{Collective, ThreadGroup};
use crate::gpu::GpuError;

/// One replica's handle: its process's group and, shared by the process, the MPI link.
pub struct Hybrid {
    local: ThreadGroup,
    world: Arc<dyn Collective>,
}

impl Hybrid {
    /// Handles for the replicas of `local` (this process's devices), joined across
    /// processes by `world` (one member per process).
    pub fn new(local: ThreadGroup, world: Arc<dyn Collective>) -> Self {
        Self { local, world }
    }

    /// `data` of the process's first replica, handed to every replica of the process.
    fn share(&self, data: Vec<f32>) -> Result<Vec<f32>, GpuError> {
        let mine = if self.local.rank() == 0 {
            data
        } else {
            Vec::new()
        };
        self.local.all_gather(&mine)
    }
}

impl Collective for Hybrid {
    fn rank(&self) -> usize {
        self.world.rank() * self.local.size() + self.local.rank()
    }

    fn size(&self) -> usize {
        self.world.size() * self.local.size()
    }

    fn all_gather(&self, local: &[f32]) -> Result<Vec<f32>, GpuError> {
        let process = self.local.all_gather(local)?;
        let all = if self.local.rank() == 0 {
            self.world.all_gather(&process)?
        } else {
            Vec::new()
        };
        self.share(all)
    }

    fn all_reduce_sum(&self, data: &mut [f32]) -> Result<(), GpuError> {
        // The process's replicas in order, then the processes in rank order: the same result
        // whichever replica or process is faster.
        self.local.all_reduce_sum(data)?;
        let sum = if self.local.rank() == 0 {
            self.world.all_reduce_sum(data)?;
            data.to_vec()
        } else {
            Vec::new()
        };
        data.copy_from_slice(&self.share(sum)?);
        Ok(())
    }

    fn abort(&self, why: &str) {
        self.local.abort(why);
        self.world.abort(why);
    }

    fn seconds(&self) -> f64 {
        self.local.seconds()
            + if self.local.rank() == 0 {
                self.world.seconds()
            } else {
                0.0
            }
    }
}
