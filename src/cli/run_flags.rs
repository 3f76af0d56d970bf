//! The flags `demo` and `experiment` share: the motion benchmark's size and how the
//! pre-training runs; their defaults are the recipe's ([`crate::train::recipe`]).

use clap::Args;

use crate::train::recipe;

/// The motion benchmark's size.
#[derive(Debug, Clone, Args)]
pub struct BenchmarkFlags {
    /// Motion benchmark groups. Default: 32 for `demo`, 128 for `experiment` (whose seeds
    /// are compared: 128 queries would add ±4 points of sampling noise to each score).
    #[arg(long)]
    pub groups: Option<usize>,
    /// Motion benchmark clips per group.
    #[arg(long, default_value_t = recipe::BENCHMARK_PER_GROUP)]
    pub per_group: usize,
}

/// How the pre-training runs and what it prints.
#[derive(Debug, Clone, Args)]
pub struct RunFlags {
    /// Steps over which the backgrounds fade in from black while pre-training from scratch
    /// (default: half of --steps; 0: full backgrounds from the start).
    #[arg(long, value_name = "STEPS")]
    pub background_fade: Option<u64>,
    /// Clips per motion group in a pre-training batch (1: independent clips). Default: the
    /// recipe's 2 when it divides --batch, else 1.
    #[arg(long, value_name = "G")]
    pub group_size: Option<usize>,
    /// No stage lines or progress bars.
    #[arg(long)]
    pub quiet: bool,
    /// Train even when more than 5 % of the captions are longer than the model's text
    /// length and lose their end (refused otherwise).
    #[arg(long)]
    pub allow_truncated_captions: bool,
}

impl RunFlags {
    /// --background-fade, or half of `steps`.
    pub fn background_fade(&self, steps: u64) -> u64 {
        self.background_fade.unwrap_or(steps / 2)
    }

    /// --group-size, or the recipe's for a batch of `batch`.
    pub fn group_size(&self, batch: usize) -> usize {
        self.group_size.unwrap_or(recipe::group_size(batch))
    }
}

impl BenchmarkFlags {
    /// --groups, or `default` (the command's).
    pub fn groups(&self, default: usize) -> usize {
        self.groups.unwrap_or(default)
    }
}
