//! Bicubic resizing of a square grid of position embeddings, as Hugging Face's
//! `interpolate_pos_encoding` does it (`torch.nn.functional.interpolate(mode="bicubic",
//! align_corners=False)` to a target size): Keys' cubic with a = −0.75, source coordinate
//! `(dst + 0.5)·in/out − 0.5`, neighbours past an edge clamped to it, rows then columns.

/// Keys' cubic-convolution parameter PyTorch uses.
const A: f64 = -0.75;

/// The four weights of the neighbours at offsets −1, 0, 1, 2 of a point `t` ∈ [0, 1) past
/// the integer coordinate.
fn cubic_weights(t: f64) -> [f64; 4] {
    let near = |x: f64| ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let far = |x: f64| ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
    [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)]
}

/// For each of `out` destination coordinates: the four (clamped source index, weight) pairs
/// that resize an axis of `inp` samples.
fn axis_taps(inp: usize, out: usize) -> Vec<[(usize, f64); 4]> {
    let scale = inp as f64 / out as f64;
    (0..out)
        .map(|o| {
            let src = (o as f64 + 0.5) * scale - 0.5;
            let i0 = src.floor();
            let w = cubic_weights(src - i0);
            std::array::from_fn(|k| {
                let i = (i0 as isize + k as isize - 1).clamp(0, inp as isize - 1);
                (i as usize, w[k])
            })
        })
        .collect()
}

/// Resize `grid` `[gh·gw, dim]` (row-major rows of a gh × gw grid) to `[oh·ow, dim]`.
/// The same size returns the grid unchanged.
pub fn resize_bicubic(
    grid: &[f32],
    (gh, gw): (usize, usize),
    (oh, ow): (usize, usize),
    dim: usize,
) -> Vec<f32> {
    assert_eq!(grid.len(), gh * gw * dim, "grid size");
    if (gh, gw) == (oh, ow) {
        return grid.to_vec();
    }
    let (rows, cols) = (axis_taps(gh, oh), axis_taps(gw, ow));
    let mut out = vec![0.0f32; oh * ow * dim];
    for (y, ry) in rows.iter().enumerate() {
        for (x, cx) in cols.iter().enumerate() {
            for d in 0..dim {
                let mut acc = 0.0f64;
                for &(sy, wy) in ry {
                    let row: f64 = cx
                        .iter()
                        .map(|&(sx, wx)| wx * grid[(sy * gw + sx) * dim + d] as f64)
                        .sum();
                    acc += wy * row;
                }
                out[(y * ow + x) * dim + d] = acc as f32;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_and_interpolate_at_the_samples() {
        for t in [0.0, 0.25, 0.5, 0.9] {
            let s: f64 = cubic_weights(t).iter().sum();
            assert!((s - 1.0).abs() < 1e-12, "{t}: {s}");
        }
        assert_eq!(cubic_weights(0.0), [0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn a_constant_stays_constant_and_a_ramp_matches_pytorch() {
        // A constant grid resizes to the constant (the weights sum to 1, edges clamped).
        let c = resize_bicubic(&[2.5; 9], (3, 3), (5, 4), 1);
        assert!(c.iter().all(|v| (v - 2.5).abs() < 1e-6), "{c:?}");
        // 2 → 4 along a row of [0, 1]: source coordinates −0.25, 0.25, 0.75, 1.25 with the
        // edges clamped; PyTorch's F.interpolate gives these (exact in binary).
        let r = resize_bicubic(&[0.0, 1.0], (1, 2), (1, 4), 1);
        let want = [-0.10546875, 0.2265625, 0.7734375, 1.10546875];
        for (a, b) in r.iter().zip(want) {
            assert!((*a as f64 - b).abs() < 1e-6, "{r:?}");
        }
    }
}
