//! Bind groups are cached across steps: a repeated training step creates (almost) none, a
//! pooled buffer handed out again with another size gets a bind group of its own size (never a
//! stale one), and trimming the pool empties the cache. Each test opens its own device so the
//! counters see only its own work.

mod common;

use std::sync::Arc;

use locomotion::gpu::{AdapterRequest, BindGroupCache, Gpu, Kernels};
use locomotion::model::config::ModelConfig;
use locomotion::model::locomotion::LocoModel;
use locomotion::tensor::ops::adamw;
use locomotion::tensor::ops::elementwise::add;
use locomotion::tensor::{Tape, Tensor};
use locomotion::train::optim::AdamW;

fn own_gpu() -> Gpu {
    let g = Gpu::new(&AdapterRequest::default()).expect("a GPU adapter");
    g.pool.set_poison(Some(common::POISON));
    g
}

/// Steps run: the gradients of one step are alive during the next step's forward pass, so
/// the pool's free buffers (and hence the bind groups) settle over a few steps, not one
/// (on the CPU-kernel path by step 6, on the GPU path later).
const STEPS: u64 = 12;

/// [`STEPS`] tiny training steps; the counters of the last.
fn last_step_counters(g: &Gpu) -> locomotion::gpu::CounterSnapshot {
    let cfg = ModelConfig::preset("tiny").unwrap();
    let model = LocoModel::random(g, &cfg, 1, None).unwrap();
    let mut optim = AdamW::new(g, model.parameters(), adamw::AdamWHyper::default(), 1.0).unwrap();
    let inputs = common::step::StepInputs::new(&cfg, 3, 10);
    let mut last = None;
    for step in 0..STEPS {
        let before = g.counters();
        let pair = inputs.pair(g, step);
        let tape = Tape::new(g);
        let losses = model.forward_losses(&tape, &pair).unwrap();
        optim.zero_grad();
        tape.backward(&losses.total).unwrap();
        optim.step(1e-4).unwrap();
        let total = losses.total.to_vec().unwrap()[0];
        assert!(total.is_finite(), "step {step}: loss {total}");
        let counted = g.counters().since(&before);
        eprintln!("step {step}: {counted:?}");
        last = Some(counted);
    }
    last.unwrap()
}

fn assert_step_reuses(kernels: Kernels) {
    let g = own_gpu().with_kernels(kernels);
    let c = last_step_counters(&g);
    assert!(
        c.dispatches > 50,
        "{kernels:?}: a step dispatched only {c:?}"
    );
    // Every dispatch either reused or created a bind group.
    assert_eq!(c.bind_groups_created + c.bind_groups_reused, c.dispatches);
    // Kernels that bind textures (not cached: 16 a tiny step on the CPU-kernel path, 2.5 % of
    // its 649 dispatches with the multi-tensor AdamW) create theirs each step; everything
    // else is reused. Without the cache every dispatch creates one.
    assert!(
        c.bind_groups_created * 30 <= c.dispatches,
        "{kernels:?}: the last step created {} bind groups for {} dispatches",
        c.bind_groups_created,
        c.dispatches
    );
    assert!(!g.bind_groups.is_empty());
}

#[test]
fn a_repeated_training_step_creates_almost_no_bind_groups() {
    assert_step_reuses(Kernels::Cpu);
}

#[test]
fn a_repeated_training_step_on_the_gpu_path_creates_almost_no_bind_groups() {
    assert_step_reuses(Kernels::Gpu);
}

/// `x + y` of `n` elements on `g`, checked against the CPU.
fn add_checked(g: &Gpu, n: usize, seed: u64) {
    let (x, y) = (common::random(n, seed), common::random(n, seed + 1));
    let tape = Tape::new(g);
    let xt = Tensor::from_host(g, &x, [n]).unwrap();
    let yt = Tensor::from_host(g, &y, [n]).unwrap();
    let got = add(&tape, &xt, &yt).unwrap().to_vec().unwrap();
    let want: Vec<f32> = x.iter().zip(&y).map(|(a, b)| a + b).collect();
    assert_eq!(got, want, "add of {n} elements");
}

#[test]
fn a_reused_pool_buffer_of_another_size_gets_its_own_bind_group() {
    let g = own_gpu();
    // 300 and 370 floats share one size class: the second request gets the first's buffer.
    let first = g.pool.storage(300 * 4, "probe").unwrap();
    let raw = first.raw().clone();
    drop(first);
    let again = g.pool.storage(370 * 4, "probe").unwrap();
    assert_eq!(
        again.raw(),
        &raw,
        "the pool did not hand the same buffer out again"
    );
    drop(again);

    add_checked(&g, 300, 1);
    let before = g.counters();
    // The same buffers come back bound at a larger size: a stale bind group would bind only
    // the first 300 elements and leave the rest of the output unwritten (poisoned).
    add_checked(&g, 370, 3);
    let bigger = g.counters().since(&before);
    assert!(bigger.bind_groups_created >= 1, "{bigger:?}");
    let before = g.counters();
    add_checked(&g, 300, 5);
    add_checked(&g, 370, 7);
    let repeat = g.counters().since(&before);
    assert_eq!(repeat.bind_groups_created, 0, "{repeat:?}");
    assert!(repeat.bind_groups_reused >= 2, "{repeat:?}");
}

#[test]
fn trimming_the_pool_empties_the_cache() {
    let g = own_gpu();
    for n in [100, 1000, 5000] {
        add_checked(&g, n, n as u64);
    }
    let cached = g.bind_groups.len();
    assert!(cached >= 3, "{cached} bind groups cached");
    g.pool.trim();
    add_checked(&g, 100, 11);
    let after = g.bind_groups.len();
    assert!(
        after < cached,
        "{after} bind groups still cached after a trim"
    );
}

#[test]
fn the_cache_keeps_at_most_its_capacity_and_the_recent_entries() {
    let mut g = own_gpu();
    g.bind_groups = Arc::new(BindGroupCache::with_capacity(8));
    // Each length binds its buffers at other sizes: one new bind group per call.
    for n in 1..=30 {
        add_checked(&g, 10 * n, n as u64);
        assert!(g.bind_groups.len() <= 8, "{} cached", g.bind_groups.len());
    }
    // The most recent entry survived the evictions; the oldest did not.
    let before = g.counters();
    add_checked(&g, 300, 41);
    assert_eq!(g.counters().since(&before).bind_groups_created, 0);
    let before = g.counters();
    add_checked(&g, 10, 43);
    assert_eq!(g.counters().since(&before).bind_groups_created, 1);
}
