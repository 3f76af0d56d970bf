//! f64 CPU references of the training losses, shared by the launcher and tape tests.

/// Log-sum-exp in f64.
pub fn lse(xs: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = xs.clone().fold(f64::NEG_INFINITY, f64::max);
    m + xs.map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// Mean cross-entropy over counted rows and its gradient (for dloss = 1).
pub fn cpu_ce(logits: &[f64], targets: &[u32], c: usize) -> (f64, Vec<f64>) {
    let n = targets.len();
    let counted: Vec<usize> = (0..n).filter(|&i| (targets[i] as usize) < c).collect();
    let count = counted.len() as f64;
    let mut loss = 0.0;
    let mut grad = vec![0.0; n * c];
    for &i in &counted {
        let row = &logits[i * c..(i + 1) * c];
        let l = lse(row.iter().cloned());
        let t = targets[i] as usize;
        loss += l - row[t];
        for j in 0..c {
            grad[i * c + j] = ((row[j] - l).exp() - f64::from(j == t)) / count;
        }
    }
    (if count > 0.0 { loss / count } else { 0.0 }, grad)
}

/// Symmetric InfoNCE over sim (B, B) with logits exp(t) sim; returns (loss, dsim, dt).
pub fn cpu_nce(sim: &[f64], t: f64, b: usize) -> (f64, Vec<f64>, f64) {
    let s = t.exp();
    let l = |i: usize, j: usize| s * sim[i * b + j];
    let rows: Vec<f64> = (0..b).map(|i| lse((0..b).map(move |j| l(i, j)))).collect();
    let cols: Vec<f64> = (0..b).map(|j| lse((0..b).map(move |i| l(i, j)))).collect();
    let loss = (0..b)
        .map(|i| rows[i] + cols[i] - 2.0 * l(i, i))
        .sum::<f64>()
        / (2.0 * b as f64);
    let mut dsim = vec![0.0; b * b];
    let mut dt = 0.0;
    for i in 0..b {
        for j in 0..b {
            let g = (l(i, j) - rows[i]).exp() + (l(i, j) - cols[j]).exp()
                - if i == j { 2.0 } else { 0.0 };
            let g = g / (2.0 * b as f64);
            dsim[i * b + j] = g * s;
            dt += g * l(i, j);
        }
    }
    (loss, dsim, dt)
}
