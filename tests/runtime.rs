//! The GPU runtime on whatever adapter is present: round trips, the elementwise kernel against
//! a CPU reference, the dispatch split, pool reuse, the pipeline cache, the no-adapter error.

mod common;

use common::{POISON, gpu, random, rel_err};
use locomotion::gpu::{AdapterRequest, CommandBatch, Gpu, GpuError, Profiler, fold_linear};
use locomotion::tensor::ops::elementwise::{Binary, binary};

#[test]
fn round_trip_of_random_data() {
    let g = gpu();
    for (n, seed) in [(1usize, 1u64), (1000, 2), (65_537, 3)] {
        let data = random(n, seed);
        let buf = g.upload(&data, "round trip").unwrap();
        assert_eq!(g.read::<f32>(&buf).unwrap(), data);
    }
    let bytes: Vec<u8> = (0..13u8).collect();
    let buf = g.upload(&bytes, "odd bytes").unwrap();
    assert_eq!(g.read::<u8>(&buf).unwrap(), bytes);
}

fn run_binary(g: &Gpu, op: Binary, n: usize, seed: u64) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let x = random(n, seed);
    let y = random(n, seed + 100);
    let bx = g.upload(&x, "x").unwrap();
    let by = g.upload(&y, "y").unwrap();
    let out = g.filled(4 * n as u64, POISON, "out").unwrap();
    let mut batch = CommandBatch::new(g);
    binary(&mut batch, op, &bx, &by, &out, n as u32).unwrap();
    batch.submit_and_wait().unwrap();
    (x, y, g.read(&out).unwrap())
}

#[test]
fn elementwise_matches_cpu_reference() {
    let g = gpu();
    for (op, n) in [
        (Binary::Add, 1000),
        (Binary::Mul, 77),
        (Binary::Axpby(0.5, -2.0), 4099),
    ] {
        let (x, y, got) = run_binary(&g, op, n, n as u64);
        let want: Vec<f32> = x
            .iter()
            .zip(&y)
            .map(|(&a, &b)| match op {
                Binary::Add => a + b,
                Binary::Mul => a * b,
                Binary::Axpby(al, be) => (al as f64 * a as f64 + be as f64 * b as f64) as f32,
            })
            .collect();
        assert!(
            got.iter().all(|v| v.is_finite()),
            "{op:?}: unwritten element"
        );
        let e = rel_err(&got, &want);
        assert!(e < 1e-6, "{op:?} n={n}: rel err {e}");
    }
}

#[test]
fn dispatch_split_covers_more_than_65535_workgroups() {
    let g = gpu();
    let max = g.limits.max_compute_workgroups_per_dimension as usize;
    let n = max * 64 + 64 * 3 + 5; // more than max workgroups of 64
    let grid = fold_linear(n.div_ceil(64) as u64, max as u32).unwrap();
    assert!(
        grid[1] > 1,
        "the test must exercise the folded grid: {grid:?}"
    );
    let (x, y, got) = run_binary(&g, Binary::Add, n, 7);
    let bad = got
        .iter()
        .zip(x.iter().zip(&y))
        .position(|(&o, (&a, &b))| o != a + b);
    assert_eq!(bad, None, "element {bad:?} of {n} is wrong");
}

#[test]
fn fold_linear_rejects_what_cannot_fit() {
    assert_eq!(fold_linear(10, 65_535), Some([10, 1, 1]));
    assert_eq!(fold_linear(65_536, 65_535), Some([32_768, 2, 1]));
    assert_eq!(fold_linear(65_535u64 * 65_535 + 1, 65_535), None);
}

#[test]
fn pool_reuses_released_buffers() {
    // A private device so other tests' traffic cannot disturb the counters.
    let g = Gpu::new(&AdapterRequest::default()).unwrap();
    let a = g.pool.storage(10_000, "a").unwrap();
    let cap = a.capacity();
    let before = g.pool.stats();
    drop(a);
    let b = g.pool.storage(9_000, "b").unwrap(); // same size class
    let after = g.pool.stats();
    assert_eq!(b.capacity(), cap);
    assert_eq!(
        after.allocations, before.allocations,
        "reallocated instead of reusing"
    );
    assert_eq!(after.reuses, before.reuses + 1);
    let c = g.pool.storage(1 << 20, "c").unwrap(); // another class: a fresh buffer
    assert_eq!(g.pool.stats().allocations, before.allocations + 1);
    drop((b, c));
}

#[test]
fn pool_rejects_buffers_over_the_binding_limit() {
    let g = gpu();
    let too_big = g.limits.max_storage_buffer_binding_size + 4;
    let err = g.pool.storage(too_big, "activations").unwrap_err();
    assert!(matches!(err, GpuError::TooLarge { .. }));
    assert!(err.to_string().contains("activations"), "{err}");
}

#[test]
fn pipelines_compile_once() {
    let g = Gpu::new(&AdapterRequest::default()).unwrap();
    for _ in 0..3 {
        run_binary(&g, Binary::Mul, 10, 1);
    }
    assert_eq!(g.pipelines.len(), 1);
}

#[test]
fn unknown_adapter_name_is_a_clear_error() {
    let err = Gpu::new(&AdapterRequest {
        name: Some("no-such-gpu-xyz".into()),
    })
    .err()
    .expect("must fail");
    let msg = err.to_string();
    assert!(msg.contains("no-such-gpu-xyz"), "{msg}");
    assert!(msg.contains("mesa-vulkan-drivers"), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
}

#[test]
fn profiler_times_a_kernel() {
    let g = gpu();
    let n = 1 << 16;
    let x = g.upload(&random(n, 1), "x").unwrap();
    let out = g.pool.storage(4 * n as u64, "out").unwrap();
    for force_wall in [false, true] {
        let mut p = Profiler::new(&g, force_wall);
        let t = p
            .time("add", 5, |b| binary(b, Binary::Add, &x, &x, &out, n as u32))
            .unwrap();
        assert!(t.seconds > 0.0 && t.seconds < 10.0, "{t:?}");
        assert_eq!(p.records.len(), 1);
    }
}

#[test]
fn poisoned_pool_hands_out_nan_filled_buffers() {
    let g = Gpu::new(&AdapterRequest::default()).unwrap();
    let clean = g.upload(&[1.0f32; 100], "clean").unwrap();
    drop(clean); // back in the pool with ones in it
    g.pool.set_poison(Some(POISON));
    let reused = g.pool.storage(400, "reused").unwrap();
    let got: Vec<f32> = g.read(&reused).unwrap();
    assert!(
        got.iter().all(|v| v.is_nan()),
        "stale data leaked: {:?}",
        &got[..4]
    );
    g.pool.set_poison(None);
    // Off again: a new buffer (another size class) is wgpu's zero-initialised memory.
    let fresh = g.pool.storage(1 << 16, "fresh").unwrap();
    assert!(g.read::<f32>(&fresh).unwrap().iter().all(|&v| v == 0.0));
    drop(reused);
}

#[test]
fn a_buffer_bound_by_an_unsubmitted_batch_is_not_handed_out_again() {
    // The race two training threads hit: one records a kernel reading `x`, drops `x` before
    // submitting; the other gets the same buffer from the pool and writes into it first.
    let g = Gpu::new(&AdapterRequest::default()).unwrap();
    let data = random(256, 9);
    let x = g.upload(&data, "x").unwrap();
    let out = g.pool.storage(1024, "out").unwrap();
    let mut batch = CommandBatch::new(&g);
    binary(&mut batch, Binary::Add, &x, &x, &out, 256).unwrap();
    drop(x);
    let before = g.pool.stats().allocations;
    let other = g.pool.storage(1024, "someone else's").unwrap();
    assert_eq!(
        g.pool.stats().allocations,
        before + 1,
        "the held buffer was reused"
    );
    g.write(&other, &[0.0f32; 256]);
    batch.submit_and_wait().unwrap();
    let got: Vec<f32> = g.read(&out).unwrap();
    let want: Vec<f32> = data.iter().map(|v| v + v).collect();
    assert_eq!(got, want);
    // After the submit, the released buffer is free again.
    drop(other);
    let again = g.pool.stats().reuses;
    let _x2 = g.pool.storage(1024, "x again").unwrap();
    assert_eq!(g.pool.stats().reuses, again + 1);
}
