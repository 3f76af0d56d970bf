//! Batches queue up and reach the GPU several in one submit (src/gpu/pending.rs): the work
//! still runs in recording order, host writes and pool reuse cannot overtake it, and the
//! submits are far fewer than the batches.

mod common;

use common::random;
use locomotion::gpu::{AdapterRequest, CommandBatch, FLUSH_DISPATCHES, Gpu};
use locomotion::tensor::accumulate;
use locomotion::tensor::ops::elementwise::{Binary, binary};

/// A device of its own, so other tests' work does not count in its submits.
fn own_gpu() -> Gpu {
    Gpu::new(&AdapterRequest::default()).unwrap()
}

#[test]
fn a_write_to_a_buffer_a_queued_batch_reads_lands_after_that_batch() {
    let g = own_gpu();
    let data = random(256, 3);
    let x = g.upload(&data, "x").unwrap();
    let out = g.pool.storage(1024, "out").unwrap();
    let before = g.counters().submits;
    let mut batch = CommandBatch::new(&g);
    binary(&mut batch, Binary::Add, &x, &x, &out, 256).unwrap();
    batch.submit();
    assert_eq!(g.counters().submits, before, "one small batch stays queued");
    // `write_buffer` data lands at the start of the next submit: without submitting the
    // queued batch first, it would read the zeros.
    g.write(&x, &[0.0f32; 256]);
    let got: Vec<f32> = g.read(&out).unwrap();
    let want: Vec<f32> = data.iter().map(|v| v + v).collect();
    assert_eq!(got, want);
    assert_eq!(g.read::<f32>(&x).unwrap(), vec![0.0; 256]);
}

#[test]
fn many_small_batches_share_few_submits_and_keep_their_order() {
    let g = own_gpu();
    let n = 300;
    let acc = g.upload(&vec![0.0f32; n], "acc").unwrap();
    let batches = 5 * FLUSH_DISPATCHES as usize / 2;
    let mut want = vec![0.0f64; n];
    let before = g.counters();
    for i in 0..batches {
        // A fresh upload each time, dropped at once: were the pool to hand it out again
        // before its batch ran, the next upload would overwrite it. Each batch's parameters
        // (alpha) differ, so an arena rewritten while queued would show too.
        let x = random(n, 100 + i as u64);
        let alpha = 1.0 + i as f32 / 8.0;
        for (w, v) in want.iter_mut().zip(&x) {
            *w += alpha as f64 * *v as f64;
        }
        let buf = g.upload(&x, "addend").unwrap();
        let mut batch = CommandBatch::new(&g);
        accumulate(&mut batch, &buf, &acc, alpha, n).unwrap();
        drop(buf);
        batch.submit();
    }
    let got: Vec<f32> = g.read(&acc).unwrap();
    let spent = g.counters().since(&before);
    assert_eq!(spent.dispatches, batches as u64);
    // Two bounded flushes and the readback's submit, not one submit per batch.
    assert_eq!(
        spent.submits,
        (batches / FLUSH_DISPATCHES as usize) as u64 + 1
    );
    for (a, b) in got.iter().zip(&want) {
        assert!(
            (*a as f64 - b).abs() <= 1e-4 * (1.0 + b.abs()),
            "{a} vs {b}"
        );
    }
}

#[test]
fn wait_submits_what_is_queued() {
    let g = own_gpu();
    let x = g.upload(&random(64, 5), "x").unwrap();
    let out = g.pool.storage(256, "out").unwrap();
    let mut batch = CommandBatch::new(&g);
    binary(&mut batch, Binary::Mul, &x, &x, &out, 64).unwrap();
    batch.submit();
    let before = g.counters().submits;
    g.wait(None).unwrap();
    assert_eq!(g.counters().submits, before + 1);
    assert!(g.flush().is_none(), "nothing left queued");
}
