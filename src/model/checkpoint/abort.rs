//! The test hook that stops a [`super::Checkpoint::save`] dead after one of its filesystem
//! steps, as a kill there would.

use std::cell::Cell;

use anyhow::{Result, bail};

/// The filesystem steps of [`super::Checkpoint::save`], in order (see [`abort_save_after`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SaveStep {
    /// The temporary folder exists.
    Created = 1,
    /// The weights are written and synced.
    WeightsWritten = 2,
    /// The config is written and the folder synced.
    ConfigWritten = 3,
    /// The old checkpoint is moved aside.
    OldMoved = 4,
    /// The new checkpoint is in place (only removing the old one remains).
    NewMoved = 5,
}

thread_local! {
    /// 0: saves run to the end; n: a save stops dead after step n, as a kill would (tests).
    /// Per thread, so that a test's hook never stops a save of a test running beside it.
    static ABORT_AFTER: Cell<u8> = const { Cell::new(0) };
}

/// Tests: make every later [`super::Checkpoint::save`] on this thread stop after `step` without
/// cleaning up, as if killed there (`None` restores normal saves).
#[doc(hidden)]
pub fn abort_save_after(step: Option<SaveStep>) {
    ABORT_AFTER.with(|a| a.set(step.map_or(0, |s| s as u8)));
}

const ABORT_MSG: &str = "checkpoint save aborted by the test hook";

pub(super) fn save_step(step: SaveStep) -> Result<()> {
    if ABORT_AFTER.with(Cell::get) == step as u8 {
        bail!("{ABORT_MSG}");
    }
    Ok(())
}

pub(super) fn is_abort(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.to_string() == ABORT_MSG)
}
