//! Where a training run runs: its devices (one replica each, any vendor), the batch weights
//! and, under MPI, this process's rank; `pretrain` and `finetune` share it.

use std::sync::Arc;

use anyhow::{Result, bail};

use super::pretrain::TrainConfigArgs;
use crate::dist::devices::{open_devices, parse_weights};
use crate::dist::{Collective, Shard};
use crate::gpu::{AdapterRequest, Gpu};
use crate::train::config::TrainConfig;
use crate::train::trainer::{TrainSummary, train_devices, train_devices_across, train_replica};

/// Where a run trains: its devices (one replica each), the batch weights, and, under MPI,
/// this process's link to the other ranks.
pub struct Launch {
    pub gpus: Vec<Gpu>,
    pub weights: Option<Vec<f64>>,
    pub comm: Option<Arc<dyn Collective>>,
}

impl Launch {
    /// True for the process that prints and writes (rank 0, or the only process).
    pub fn writer(&self) -> bool {
        self.comm.as_ref().is_none_or(|c| c.rank() == 0)
    }
}

/// The devices, batch weights and ranks `--devices`, `--device-weights` and `--distributed`
/// ask for.
pub fn launch(req: &AdapterRequest, args: &TrainConfigArgs) -> Result<Launch> {
    let weights = args
        .device_weights
        .as_deref()
        .map(parse_weights)
        .transpose()?;
    let (gpus, comm) = match args.distributed.trim() {
        "none" => {
            let gpus = if args.devices.trim() == "1" {
                vec![Gpu::new(req)?]
            } else {
                open_devices(&args.devices, req)?
            };
            (gpus, None)
        }
        "mpi" => {
            let (gpu, comm) = mpi_rank(req)?;
            let gpus = if args.devices.trim() == "1" {
                vec![gpu]
            } else {
                // Several devices on every rank: this rank's, as --devices names them.
                drop(gpu);
                open_devices(&args.devices, req)?
            };
            (gpus, Some(comm))
        }
        other => bail!("--distributed {other:?}: choose none or mpi"),
    };
    let replicas = gpus.len() * comm.as_ref().map_or(1, |c| c.size());
    if let Some(w) = &weights
        && w.len() != replicas
    {
        bail!(
            "--device-weights gives {} weights for {replicas} devices",
            w.len()
        );
    }
    crate::dist::shares(args.batch, replicas, weights.as_deref())?;
    Ok(Launch {
        gpus,
        weights,
        comm,
    })
}

/// Join the MPI world and open this rank's device.
#[cfg(feature = "mpi")]
fn mpi_rank(req: &AdapterRequest) -> Result<(Gpu, Arc<dyn Collective>)> {
    use crate::dist::mpi::{MpiComm, local_rank};
    let comm = MpiComm::init(crate::dist::timeout_from_env()?)?;
    let gpus: Vec<wgpu::Adapter> = crate::gpu::discover()
        .into_iter()
        .filter(|a| a.get_info().device_type != wgpu::DeviceType::Cpu)
        .collect();
    let gpu = match (&req.name, local_rank()) {
        (None, Some(local)) if gpus.len() > 1 => Gpu::open(gpus[local % gpus.len()].clone())?,
        _ => Gpu::new(req)?,
    };
    Ok((gpu, Arc::new(comm)))
}

#[cfg(not(feature = "mpi"))]
fn mpi_rank(_: &AdapterRequest) -> Result<(Gpu, Arc<dyn Collective>)> {
    bail!(
        "--distributed mpi needs the MPI build: install Open MPI and clang (Debian: apt-get install openmpi-bin libopenmpi-dev clang), then cargo build --release --features mpi"
    )
}

/// Train as `launch` says: on its devices in this process, or as this MPI rank.
pub fn run_training(launch: &Launch, cfg: &TrainConfig) -> Result<TrainSummary> {
    let Some(comm) = &launch.comm else {
        return train_devices(&launch.gpus, cfg, launch.weights.as_deref());
    };
    if launch.gpus.len() > 1 {
        let world = Some(Arc::clone(comm));
        let out = train_devices_across(&launch.gpus, cfg, launch.weights.as_deref(), world);
        if let Err(e) = &out {
            comm.abort(&format!("{e:#}"));
        }
        return out;
    }
    let shard = Shard::new(Arc::clone(comm), cfg.batch, launch.weights.as_deref())?;
    let out = train_replica(&launch.gpus[0], cfg, Some(shard));
    if let Err(e) = &out {
        // Stops every rank (MPI_Abort) instead of leaving them waiting.
        comm.abort(&format!("{e:#}"));
    }
    out
}

/// The adapters of `gpus`: "name" for one, "N × name" or "a + b" for several.
pub fn adapters(gpus: &[Gpu]) -> String {
    let names: Vec<&str> = gpus.iter().map(|g| g.summary.name.as_str()).collect();
    match names.as_slice() {
        [one] => one.to_string(),
        [first, ..] if names.iter().all(|n| n == first) => format!("{} × {first}", names.len()),
        _ => names.join(" + "),
    }
}
