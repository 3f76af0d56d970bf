//! Finished command buffers waiting for one queue submit.
//!
//! [`super::CommandBatch::submit`] does not submit: it finishes its encoder and queues the command
//! buffer here, with every buffer that command buffer uses. The queued work goes to the GPU in
//! one `queue.submit` when a readback needs it ([`Gpu::read`]), when the host waits
//! ([`Gpu::wait`], [`Gpu::flush`]), when a host write would otherwise overtake it
//! ([`Gpu::write`]), or once [`FLUSH_DISPATCHES`] dispatches are queued. A submit costs tens of
//! microseconds on a discrete GPU; an op-by-op forward would otherwise make one per op.
//!
//! The hazard this guards: `queue.write_buffer` data lands at the start of the next
//! `queue.submit`, before every command buffer in it. So the pool hands out no buffer a queued
//! command buffer uses (its in-use token is held here; uniform arenas and scratch buffers
//! included) until the submit that carries it, and a write to a buffer still in use submits
//! first.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Gpu;
use super::trace::{Counters, TraceState};

/// Queued dispatches after which the queue is submitted without waiting for a readback
/// (bounds the memory held back from the pool and lets the GPU start; candle's Metal backend
/// flushes every 50).
pub const FLUSH_DISPATCHES: u32 = 64;

#[derive(Default)]
struct Queued {
    commands: Vec<wgpu::CommandBuffer>,
    /// In-use tokens of every pooled buffer the queued work uses (its uniform arenas and
    /// scratch buffers included): the pool hands none of them out until the submit.
    held: Vec<Arc<()>>,
    dispatches: u32,
    /// Host time spent finishing the queued batches (the step trace's submit cost).
    host: Duration,
}

/// The queue of finished command buffers of one device (shared by every clone of its
/// [`Gpu`]); what is still queued when the last clone goes is submitted then.
pub(crate) struct PendingQueue {
    queue: wgpu::Queue,
    counters: Arc<Counters>,
    trace: Arc<TraceState>,
    /// Held across the `queue.submit`, so work queued by several threads reaches the GPU in
    /// the order it was queued.
    queued: Mutex<Queued>,
}

impl PendingQueue {
    pub(crate) fn new(queue: wgpu::Queue, counters: Arc<Counters>, trace: Arc<TraceState>) -> Self {
        Self {
            queue,
            counters,
            trace,
            queued: Mutex::default(),
        }
    }

    /// Queue `commands` (`dispatches` of them, `host` spent finishing them) with the in-use
    /// tokens of the buffers they use; submits everything once [`FLUSH_DISPATCHES`] are queued.
    pub(crate) fn push(
        &self,
        commands: wgpu::CommandBuffer,
        held: Vec<Arc<()>>,
        dispatches: u32,
        host: Duration,
    ) {
        let mut q = self.lock();
        q.commands.push(commands);
        q.held.extend(held);
        q.dispatches += dispatches;
        q.host += host;
        if q.dispatches >= FLUSH_DISPATCHES {
            self.submit_locked(&mut q, None);
        }
    }

    /// Submit everything queued, then `extra` (in the same submit); None when there was
    /// nothing to submit.
    pub(crate) fn submit(
        &self,
        extra: Option<wgpu::CommandBuffer>,
    ) -> Option<wgpu::SubmissionIndex> {
        let mut q = self.lock();
        if q.commands.is_empty() && extra.is_none() {
            return None;
        }
        Some(self.submit_locked(&mut q, extra))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queued> {
        self.queued.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn submit_locked(
        &self,
        q: &mut Queued,
        extra: Option<wgpu::CommandBuffer>,
    ) -> wgpu::SubmissionIndex {
        let t0 = Instant::now();
        let queued = std::mem::take(q);
        let index = self.queue.submit(queued.commands.into_iter().chain(extra));
        self.counters.submit();
        if self.trace.on() {
            self.trace.submitted(queued.host + t0.elapsed());
        }
        // The pool may hand the buffers out only now: a later write to one is queued after
        // this submission, and wgpu keeps them alive until the GPU is done.
        drop(queued.held);
        index
    }
}

impl Drop for PendingQueue {
    fn drop(&mut self) {
        self.submit(None);
    }
}

impl Gpu {
    /// Submit every queued batch now, without waiting (None when nothing was queued).
    pub fn flush(&self) -> Option<wgpu::SubmissionIndex> {
        self.pending.submit(None)
    }
}
