//! The learning-rate schedule: linear warmup, then cosine decay to a floor (the schedule of
//! Hugging Face's `get_cosine_schedule_with_warmup`, with an optional final learning rate).

use serde::{Deserialize, Serialize};

/// Linear warmup from 0 over `warmup_steps`, then a half cosine from `base_lr` down to
/// `final_lr` at `total_steps`; `final_lr` afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LrSchedule {
    /// Peak learning rate, reached at the end of warmup.
    pub base_lr: f64,
    /// Final learning rate.
    pub final_lr: f64,
    /// Warmup steps.
    pub warmup_steps: u64,
    /// Total steps of the run.
    pub total_steps: u64,
}

impl LrSchedule {
    /// The learning rate for optimizer step `step` (0-based).
    pub fn lr(&self, step: u64) -> f64 {
        if step < self.warmup_steps {
            return self.base_lr * step as f64 / self.warmup_steps as f64;
        }
        if step >= self.total_steps {
            return self.final_lr;
        }
        let decay = (self.total_steps - self.warmup_steps).max(1) as f64;
        let progress = (step - self.warmup_steps) as f64 / decay;
        let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
        self.final_lr + (self.base_lr - self.final_lr) * cosine
    }
}
