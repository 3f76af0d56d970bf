//! Axis domains with "nice" tick values (1, 2, 5 × 10^k), linear or log10.

/// A numeric axis: the domain it spans and the ticks to label.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Lower end of the domain (data units; for log axes the value, not its log).
    pub lo: f64,
    /// Upper end of the domain.
    pub hi: f64,
    /// Log10 scale.
    pub log: bool,
    /// Tick positions in data units, ascending, inside [lo, hi].
    pub ticks: Vec<f64>,
}

/// The 1-2-5 step nearest to `raw` from above.
fn nice_step(raw: f64) -> f64 {
    let mag = 10f64.powf(raw.log10().floor());
    let frac = raw / mag;
    let nice = if frac <= 1.0 {
        1.0
    } else if frac <= 2.0 {
        2.0
    } else if frac <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

impl Axis {
    /// A linear axis covering [min, max], widened to whole ticks (about `target` of them).
    /// A zero-width range (one point, a constant series) is widened so it still has ticks.
    pub fn linear(min: f64, max: f64, target: usize) -> Axis {
        let (mut min, mut max) = (min, max);
        if !(min.is_finite() && max.is_finite()) {
            (min, max) = (0.0, 1.0);
        }
        // Keep max - min finite; data beyond ±1e300 is not something a report plots.
        (min, max) = (min.clamp(-1e300, 1e300), max.clamp(-1e300, 1e300));
        // Widen a zero-width range (one point, a constant series, denormal noise) so the
        // step stays a normal float.
        let scale = max.abs().max(min.abs());
        if max - min <= f64::EPSILON * scale || max - min < 1e-250 {
            let pad = if scale < 1e-250 { 1.0 } else { scale * 0.1 };
            (min, max) = (min - pad, max + pad);
        }
        let step = nice_step((max - min) / target.max(2) as f64);
        let lo = (min / step).floor() * step;
        let hi = (max / step).ceil() * step;
        let n = ((hi - lo) / step).round() as usize;
        // Snap to the step grid so labels read "0.3", not "0.30000000000000004".
        let ticks = (0..=n).map(|i| snap(lo + i as f64 * step, step)).collect();
        Axis {
            lo: snap(lo, step),
            hi: snap(hi, step),
            log: false,
            ticks,
        }
    }

    /// The same axis cut to [lo, hi] (a metric's possible range), its ticks with it; the cut
    /// ends become the domain's ends.
    pub fn within(mut self, lo: f64, hi: f64) -> Axis {
        if self.log || lo.is_nan() || hi.is_nan() || lo >= hi {
            return self;
        }
        (self.lo, self.hi) = (self.lo.max(lo), self.hi.min(hi));
        if self.lo >= self.hi {
            (self.lo, self.hi) = (lo, hi);
        }
        let (a, b) = (self.lo, self.hi);
        self.ticks.retain(|t| (a..=b).contains(t));
        self
    }

    /// Unlabelled minor ticks for grid lines: 2–9 × each decade on a log axis, none on a
    /// linear one (its labelled ticks are close enough).
    pub fn minor_ticks(&self) -> Vec<f64> {
        if !self.log {
            return Vec::new();
        }
        let (lo, hi) = (
            self.lo.log10().round() as i32,
            self.hi.log10().round() as i32,
        );
        if hi - lo > 6 {
            return Vec::new();
        }
        (lo..hi)
            .flat_map(|e| (2..10).map(move |m| m as f64 * 10f64.powi(e)))
            .filter(|v| *v > self.lo && *v < self.hi)
            .collect()
    }

    /// A log10 axis covering [min, max] (both > 0), widened to whole decades.
    pub fn log10(min: f64, max: f64) -> Axis {
        let (mut lo, mut hi) = (min.log10().floor(), max.log10().ceil());
        if !(lo.is_finite() && hi.is_finite()) {
            (lo, hi) = (0.0, 1.0);
        }
        // Whole decades that f64 can hold, so 10^hi stays finite.
        (lo, hi) = (lo.clamp(-307.0, 307.0), hi.clamp(-307.0, 308.0));
        if hi <= lo {
            hi = lo + 1.0;
        }
        // At most ~8 labelled decades; skip every other one beyond that.
        let stride = ((hi - lo) / 8.0).ceil().max(1.0) as i32;
        let ticks = (lo as i32..=hi as i32)
            .filter(|e| (e - lo as i32) % stride == 0)
            .map(|e| 10f64.powi(e))
            .collect();
        Axis {
            lo: 10f64.powf(lo),
            hi: 10f64.powf(hi),
            log: true,
            ticks,
        }
    }

    /// Where `v` sits on the drawn (linear) scale: its log10 on a log axis, else itself.
    pub fn coord(&self, v: f64) -> f64 {
        if self.log { v.log10() } else { v }
    }

    /// The label of the tick nearest `c` (a position on the drawn scale, see [`Axis::coord`]).
    pub fn nearest_label(&self, c: f64) -> String {
        let off = |t: &f64| (self.coord(*t) - c).abs();
        let nearest = self.ticks.iter().min_by(|a, b| off(a).total_cmp(&off(b)));
        nearest.map_or_else(String::new, |&t| self.label(t))
    }

    /// A short label for tick `v`: as few decimals as the tick spacing needs, and
    /// exponent notation for very large or small values.
    pub fn label(&self, v: f64) -> String {
        // One notation per axis: when any linear tick needs an exponent (a learning rate of
        // 8e-4), every non-zero tick gets one, so "1e-3" never sits beside "8e-4" as "0.0010".
        let exp = |t: f64| t != 0.0 && !(1e-3..1e5).contains(&t.abs());
        if !self.log && self.ticks.iter().any(|&t| exp(t)) {
            return if v == 0.0 { "0".into() } else { format_exp(v) };
        }
        // Log ticks are powers of ten, so each value is its own spacing.
        let spacing = match (self.log, self.ticks.as_slice()) {
            (true, _) | (false, [_]) | (false, []) => v.abs().max(1e-300),
            (false, [a, b, ..]) => b - a,
        };
        format_tick(v, spacing)
    }
}

fn snap(v: f64, step: f64) -> f64 {
    let decimals = (-step.log10().floor()).max(0.0) as i32 + 1;
    if decimals > 15 {
        return v;
    }
    let scale = 10f64.powi(decimals);
    let s = (v * scale).round() / scale;
    if s == 0.0 { 0.0 } else { s }
}

/// Format `v` given the distance between neighbouring ticks.
pub fn format_tick(v: f64, spacing: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        return format_exp(v);
    }
    let decimals = (-spacing.log10().floor()).clamp(0.0, 6.0) as usize;
    format!("{v:.decimals$}")
}

/// `v` as mantissa and exponent: "8e-4", "2.5e5".
fn format_exp(v: f64) -> String {
    let exp = v.abs().log10().floor() as i32;
    let mant = v / 10f64.powi(exp);
    if (mant.round() - mant).abs() < 1e-9 {
        format!("{}e{exp}", mant.round())
    } else {
        format!("{mant:.1}e{exp}")
    }
}
