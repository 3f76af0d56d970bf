//! The two-stage column sum (bias gradients; layer norm's dgamma / dbeta second stage) against
//! an f64 reference and, bit for bit, against the same fixed order in f32 on the CPU, on shapes
//! that are not multiples of the tile (one row, odd rows and columns, many chunks); run-to-run
//! determinism; the bias gradient of a broadcast add over many rows by finite differences.

mod common;
mod gradcheck;

use common::{POISON, gpu, gpu_path, random, rel_err};
use gradcheck::{check, input};
use locomotion::gpu::{CommandBatch, Gpu, Kernels};
use locomotion::tensor::ops::colsum::{CHUNK_ROWS, chunking, column_sum};
use locomotion::tensor::ops::elementwise;

/// The kernel's order on `g` in f32: each chunk's rows added in order, then the chunks in
/// order.
fn two_stage_f32(g: &Gpu, x: &[f32], rows: usize, c: usize) -> Vec<f32> {
    let (chunk_rows, chunks) = chunking(g, rows);
    let partial: Vec<Vec<f32>> = (0..chunks)
        .map(|g| {
            let r1 = ((g + 1) * chunk_rows).min(rows);
            (0..c)
                .map(|j| (g * chunk_rows..r1).fold(0f32, |s, r| s + x[r * c + j]))
                .collect()
        })
        .collect();
    if chunks == 1 {
        return partial[0].clone();
    }
    (0..c)
        .map(|j| partial.iter().fold(0f32, |s, p| s + p[j]))
        .collect()
}

/// The column sums of x (rows, c) on `g`, output poisoned before the kernel runs.
fn gpu_column_sum(g: &Gpu, x: &[f32], rows: usize, c: usize) -> Vec<f32> {
    let bx = g.upload(x, "x").unwrap();
    let out = g.filled(4 * c as u64, POISON, "out").unwrap();
    let mut b = CommandBatch::new(g);
    column_sum(&mut b, &bx, &out, rows, c).unwrap();
    b.submit_and_wait().unwrap();
    g.read(&out).unwrap()
}

#[test]
fn column_sums_match_the_reference_and_the_fixed_order_bit_for_bit() {
    // GPUs: chunks of 64 rows, then the chunks; CPU drivers: one pass (one chunk).
    let (cpu, gpus) = (gpu().with_kernels(Kernels::Cpu), gpu_path());
    assert_eq!(chunking(&gpus, 301), (CHUNK_ROWS, 5));
    assert_eq!(chunking(&cpu, 301), (301, 1));
    let shapes = [
        (1, 7),
        (CHUNK_ROWS - 1, 65),
        (CHUNK_ROWS, 5),
        (CHUNK_ROWS + 1, 1),
        (301, 131),
        (2000, 3),
        // C % 4 = 0: four columns an invocation (colsum4), one strip and several.
        (CHUNK_ROWS + 1, 4),
        (301, 260),
        (2000, 64),
    ];
    for g in [&cpu, &gpus] {
        for (i, (rows, c)) in shapes.into_iter().enumerate() {
            let x = random(rows * c, 100 + i as u64);
            let got = gpu_column_sum(g, &x, rows, c);
            assert!(
                got.iter().all(|v| v.to_bits() != POISON),
                "{rows}x{c}: unwritten"
            );
            let want: Vec<f32> = (0..c)
                .map(|j| (0..rows).map(|r| x[r * c + j] as f64).sum::<f64>() as f32)
                .collect();
            let e = rel_err(&got, &want);
            assert!(e < 1e-5, "{rows}x{c}: rel err {e} against f64");
            // Additions only: no driver can contract them, so the fixed order fixes every bit.
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            let exact = two_stage_f32(g, &x, rows, c);
            assert_eq!(bits(&got), bits(&exact), "{rows}x{c}: not the fixed order");
            if rows <= CHUNK_ROWS || g.cpu_kernels() {
                // One chunk: exactly the old one-pass row-order sum.
                let one_pass: Vec<f32> = (0..c)
                    .map(|j| (0..rows).fold(0f32, |s, r| s + x[r * c + j]))
                    .collect();
                assert_eq!(bits(&got), bits(&one_pass), "{rows}x{c}: one chunk");
            }
        }
    }
}

#[test]
fn column_sums_are_the_same_bits_on_every_run() {
    let (rows, c) = (1000, 77);
    let x = random(rows * c, 9);
    for g in [gpu().with_kernels(Kernels::Cpu), gpu_path()] {
        let first = gpu_column_sum(&g, &x, rows, c);
        for _ in 0..3 {
            let again = gpu_column_sum(&g, &x, rows, c);
            assert!(
                first
                    .iter()
                    .zip(&again)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "a rerun changed the bits"
            );
        }
    }
}

#[test]
fn bias_gradient_over_many_rows_matches_finite_differences() {
    // 150 rows: three chunks, so the gradient goes through both stages; 12 columns go four
    // an invocation (colsum4), 9 one.
    let rows = 150;
    for (g, c) in [(gpu(), 9), (gpu_path(), 9), (gpu(), 12), (gpu_path(), 12)] {
        check(
            &g,
            &[input(&[rows, c], 1), input(&[c], 2)],
            |t, x| elementwise::add(t, &x[0], &x[1]).unwrap(),
            |x| {
                x[0].iter()
                    .enumerate()
                    .map(|(i, v)| v + x[1][i % c])
                    .collect()
            },
            1e-3,
        );
    }
}
