//! `bench train --devices`: the pre-training rows data-parallel on several devices at once
//! (one thread and one replica per device, as `pretrain --devices` trains), with the share
//! of the step the gradient all-reduce and the other collectives take.

use std::sync::Arc;

use anyhow::Result;

use super::train::{
    PRETRAIN_SEED, StepCost, TrainBench, TrainRow, median, pretrain_config, pretrain_parts, row,
    time_steps,
};
use crate::dist::{Collective, Shard, ThreadGroup, run_replicas, timeout_from_env};
use crate::gpu::Gpu;
use crate::model::config::LossWeights;
use crate::train::state::{Replica, train_step};

/// What one replica measured: its step costs, and per step the all-reduce's and every
/// collective's host seconds.
struct ReplicaRun {
    costs: Vec<StepCost>,
    allreduce: Vec<f64>,
    collective: Vec<f64>,
    config: String,
}

fn replica(
    gpu: &Gpu,
    o: &TrainBench,
    preset: &str,
    weights: LossWeights,
    shard: &Shard,
) -> Result<ReplicaRun> {
    let (cfg, model, mut optim, mut source) = pretrain_parts(gpu, o, preset, weights)?;
    source.set_shard(Some(shard.range.clone()));
    let (mut allreduce, mut collective) = (Vec::new(), Vec::new());
    let mut step = |n: u64| -> Result<u64> {
        let before = shard.comm.seconds();
        let replica = Replica { shard, extra: &[] };
        let out = train_step(
            gpu,
            &model,
            &mut optim,
            source.batch(n)?,
            (PRETRAIN_SEED, n),
            1e-4,
            Some(replica),
        )?;
        drop(out.losses);
        gpu.wait(None)?;
        allreduce.push(out.allreduce_seconds);
        collective.push(shard.comm.seconds() - before);
        Ok(out.forward_flops)
    };
    let (costs, _) = time_steps(gpu, o, &mut step)?;
    // The timed steps are the last ones.
    let keep = costs.len();
    let tail = |v: &[f64]| v[v.len() - keep..].to_vec();
    Ok(ReplicaRun {
        allreduce: tail(&allreduce),
        collective: tail(&collective),
        costs,
        config: pretrain_config(&cfg, o.batch),
    })
}

/// The pre-training row of `preset` with `weights` on every device of `gpus` at once.
fn replica_row(
    gpus: &[Gpu],
    o: &TrainBench,
    preset: &str,
    weights: LossWeights,
    objectives: &str,
) -> Result<TrainRow> {
    let groups = ThreadGroup::new(gpus.len(), timeout_from_env()?);
    let comms = groups
        .into_iter()
        .map(|g| Arc::new(g) as Arc<dyn Collective>)
        .collect();
    let runs = run_replicas(gpus, comms, |gpu, comm| {
        let shard = Shard::new(Arc::clone(comm), o.batch, None)?;
        replica(gpu, o, preset, weights, &shard)
    });
    let mut runs = runs.into_iter().collect::<Result<Vec<_>>>()?;
    // Every replica's matmul work counts towards the step's FLOPs; the times are the first
    // replica's (the collectives keep the replicas in step).
    let mut first = runs.remove(0);
    for (i, c) in first.costs.iter_mut().enumerate() {
        c.forward_flops += runs.iter().map(|r| r.costs[i].forward_flops).sum::<u64>();
    }
    let name = format!("pretrain-{preset} ({objectives}) x{}", gpus.len());
    let config = format!("{}, split over {} devices", first.config, gpus.len());
    let mut r = row(name, config, &first.costs, Some(o.batch));
    r.devices = gpus.len();
    r.allreduce_share = Some(median(&mut first.allreduce) / r.step_s);
    r.collective_share = Some(median(&mut first.collective) / r.step_s);
    Ok(r)
}

/// The pre-training rows `o` asks for, data-parallel on all of `gpus` (at least 2).
pub fn replica_rows(gpus: &[Gpu], o: &TrainBench) -> Result<Vec<TrainRow>> {
    anyhow::ensure!(
        gpus.len() >= 2,
        "data-parallel rows need at least 2 devices"
    );
    let Some(preset) = &o.preset else {
        anyhow::bail!("--devices times the pre-training rows: add pretrain to --rows")
    };
    let mut rows = Vec::new();
    if o.vtc_only {
        let vtc = LossWeights {
            vtc: 1.0,
            vtm: 0.0,
            mlm: 0.0,
        };
        rows.push(replica_row(gpus, o, preset, vtc, "vtc")?);
    }
    if o.all_objectives {
        let all = LossWeights::default();
        rows.push(replica_row(gpus, o, preset, all, "vtc+vtm+mlm")?);
    }
    for r in &rows {
        eprintln!("  {}: {:.1} ms/step", r.name, r.step_s * 1e3);
    }
    Ok(rows)
}
