//! f64 CPU reference of scaled-dot-product attention, shared by the launcher and tape tests.

use locomotion::tensor::ops::attention::AttentionShape;

/// Per-row probabilities P (Tq x Tk per (b, h)) and lse, in f64; masked keys get P = 0.
pub fn cpu_probs(
    s: &AttentionShape,
    q: &[f64],
    k: &[f64],
    mask: Option<&[u32]>,
) -> (Vec<f64>, Vec<f64>) {
    let (h, tq, tk, d) = (
        s.heads as usize,
        s.tq as usize,
        s.tk as usize,
        s.head_dim as usize,
    );
    let bh = (s.batch * s.heads) as usize;
    let mut p = vec![0.0; bh * tq * tk];
    let mut lse = vec![f64::NEG_INFINITY; bh * tq];
    for g in 0..bh {
        let b = g / h;
        for i in 0..tq {
            let row: Vec<Option<f64>> = (0..tk)
                .map(|j| {
                    let present = mask.is_none_or(|m| m[b * tk + j] != 0);
                    present.then(|| {
                        let dot: f64 = (0..d)
                            .map(|c| q[(g * tq + i) * d + c] * k[(g * tk + j) * d + c])
                            .sum();
                        dot * s.scale as f64
                    })
                })
                .collect();
            let m = row
                .iter()
                .flatten()
                .cloned()
                .fold(f64::NEG_INFINITY, f64::max);
            if m == f64::NEG_INFINITY {
                continue;
            }
            let l: f64 = row.iter().flatten().map(|x| (x - m).exp()).sum();
            lse[g * tq + i] = m + l.ln();
            for (j, x) in row.iter().enumerate() {
                if let Some(x) = x {
                    p[(g * tq + i) * tk + j] = (x - m).exp() / l;
                }
            }
        }
    }
    (p, lse)
}

/// O = P V in f64.
pub fn cpu_forward(
    s: &AttentionShape,
    q: &[f64],
    k: &[f64],
    v: &[f64],
    mask: Option<&[u32]>,
) -> (Vec<f64>, Vec<f64>) {
    let (tq, tk, d) = (s.tq as usize, s.tk as usize, s.head_dim as usize);
    let (p, lse) = cpu_probs(s, q, k, mask);
    let mut o = vec![0.0; s.rows() as usize * d];
    for r in 0..s.rows() as usize {
        let g = r / tq;
        for j in 0..tk {
            let pij = p[r * tk + j];
            for c in 0..d {
                o[r * d + c] += pij * v[(g * tk + j) * d + c];
            }
        }
    }
    (o, lse)
}
