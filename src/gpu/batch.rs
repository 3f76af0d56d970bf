//! Command batching: many dispatches recorded into one encoder, each with its own slice of a
//! shared uniform arena for its parameters; finished batches queue up and reach the GPU
//! several in one submit (see `pending.rs`).
//!
//! Dispatch convention for 1-D kernels (see `shaders/elementwise.wgsl`): a linear count of
//! workgroups is folded into an (x, y) grid when it exceeds the per-dimension limit; kernels
//! compute `group = wid.x + wid.y * nwg.x` and guard against the tail.

use std::time::Instant;

use super::{Gpu, GpuBuffer, GpuError, Kernel, KernelParams};

/// How many workgroups a dispatch launches.
#[derive(Debug, Clone, Copy)]
pub enum Groups {
    /// A linear count, folded into a 2-D grid when it exceeds the device limit.
    Linear(u64),
    /// An explicit 3-D grid (each dimension must fit the device limit).
    Grid([u32; 3]),
}

/// Fold `n` workgroups into a grid of at most `max` per dimension.
pub fn fold_linear(n: u64, max: u32) -> Option<[u32; 3]> {
    let max = max as u64;
    if n <= max {
        return Some([n.max(1) as u32, 1, 1]);
    }
    let y = n.div_ceil(max);
    let x = n.div_ceil(y);
    if y > max {
        return None;
    }
    Some([x as u32, y as u32, 1])
}

/// Fail unless `P` is declared (by `kernel_params!`) as the parameters of `kernel`'s shader:
/// the layout `tests/kernel_params.rs` checks against that shader is the one bound.
fn declared_for<P: KernelParams>(kernel: Kernel) -> Result<(), GpuError> {
    if P::LAYOUT.shaders.contains(&kernel.shader) {
        return Ok(());
    }
    Err(GpuError::Launch {
        kernel: format!("{}::{}", kernel.shader, kernel.entry),
        reason: format!(
            "{} is not declared as this shader's parameters (it is for {:?})",
            P::LAYOUT.rust,
            P::LAYOUT.shaders
        ),
    })
}

const ARENA_BYTES: u64 = 64 * 1024;

/// Timestamp writes for the next pass (owned by a [`super::Profiler`]).
pub(crate) struct PendingTimestamp<'q> {
    pub query_set: &'q wgpu::QuerySet,
    pub begin: Option<u32>,
    pub end: Option<u32>,
}

/// A recording of GPU work, finished into one command buffer.
pub struct CommandBatch<'g> {
    gpu: &'g Gpu,
    /// The compute pass consecutive dispatches share (closed by a copy, an encoder access, a
    /// timestamped dispatch or the submit). One pass per dispatch costs wgpu a usage-scope
    /// merge and barrier pass each; within a pass it still orders dispatches that touch the
    /// same buffer, so sharing changes nothing but the host time.
    pass: Option<wgpu::ComputePass<'static>>,
    encoder: wgpu::CommandEncoder,
    arenas: Vec<(GpuBuffer, Vec<u8>)>,
    retained: Vec<GpuBuffer>,
    /// In-use tokens of every pooled buffer this batch touches (released by the queue submit
    /// that carries this batch).
    held: Vec<std::sync::Arc<()>>,
    dispatches: u32,
}

impl<'g> CommandBatch<'g> {
    /// An empty batch on `gpu`.
    pub fn new(gpu: &'g Gpu) -> Self {
        let encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("locomotion batch"),
            });
        Self {
            gpu,
            encoder,
            pass: None,
            arenas: Vec::new(),
            retained: Vec::new(),
            held: Vec::new(),
            dispatches: 0,
        }
    }

    /// The GPU this batch records for.
    pub fn gpu(&self) -> &'g Gpu {
        self.gpu
    }

    /// The encoder, for copies and clears between dispatches (ends the shared pass).
    pub fn encoder(&mut self) -> &mut wgpu::CommandEncoder {
        self.pass = None;
        &mut self.encoder
    }

    /// Keep the pool from handing `buf` to anyone else until this batch reaches the GPU, even
    /// if it is dropped meanwhile: an upload into a reused buffer would land before this batch
    /// runs and be overwritten by it. [`CommandBatch::dispatch`] and [`CommandBatch::copy`] do this for
    /// their buffers; call it for buffers used through [`CommandBatch::encoder`] or
    /// [`CommandBatch::dispatch_resources`].
    pub fn hold(&mut self, buf: &GpuBuffer) {
        self.held.push(buf.in_use_token());
    }

    /// Copy the first `bytes` of `src` into `dst` (both held until submit).
    pub fn copy(&mut self, src: &GpuBuffer, dst: &GpuBuffer, bytes: u64) {
        self.hold(src);
        self.hold(dst);
        self.note_copy();
        self.encoder()
            .copy_buffer_to_buffer(src.raw(), 0, dst.raw(), 0, bytes);
    }

    /// Count a copy recorded through [`CommandBatch::encoder`] (for the step trace).
    pub fn note_copy(&mut self) {
        if self.gpu.trace.on() {
            self.gpu.trace.copied();
        }
    }

    /// Keep `buf` (a scratch buffer this batch uses) until the batch reaches the GPU.
    pub fn retain(&mut self, buf: GpuBuffer) {
        self.retained.push(buf);
    }

    /// Dispatches recorded so far.
    pub fn len(&self) -> u32 {
        self.dispatches
    }

    /// True when nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.dispatches == 0
    }

    /// Reserve `bytes` of uniform space and return (arena index, offset).
    fn reserve_uniform(&mut self, bytes: &[u8]) -> Result<(usize, u64), GpuError> {
        let align = self.gpu.limits.min_uniform_buffer_offset_alignment as u64;
        let size = (bytes.len() as u64).max(16).next_multiple_of(16);
        let fits = self
            .arenas
            .last()
            .map(|(_, data)| (data.len() as u64).next_multiple_of(align) + size <= ARENA_BYTES)
            .unwrap_or(false);
        if !fits {
            let buf = self.gpu.pool.get(
                ARENA_BYTES,
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            )?;
            self.arenas
                .push((buf, Vec::with_capacity(ARENA_BYTES as usize)));
        }
        let idx = self.arenas.len() - 1;
        let data = &mut self.arenas[idx].1;
        let offset = (data.len() as u64).next_multiple_of(align);
        data.resize(offset as usize, 0);
        data.extend_from_slice(bytes);
        data.resize((offset + size) as usize, 0);
        Ok((idx, offset))
    }

    /// Record one dispatch of `kernel`: `params` at binding 0 (uniform), `buffers` at
    /// bindings 1.. in order.
    pub fn dispatch<P: KernelParams>(
        &mut self,
        kernel: Kernel,
        params: &P,
        buffers: &[&GpuBuffer],
        groups: Groups,
    ) -> Result<(), GpuError> {
        declared_for::<P>(kernel)?;
        for b in buffers {
            self.hold(b);
        }
        let resources: Vec<wgpu::BindingResource<'_>> =
            buffers.iter().map(|b| b.binding()).collect();
        self.dispatch_inner(kernel, bytemuck::bytes_of(params), &resources, groups, None)
    }

    /// Like [`CommandBatch::dispatch`] with arbitrary resources (texture views, buffer slices) at
    /// bindings 1.. in order.
    pub fn dispatch_resources<P: KernelParams>(
        &mut self,
        kernel: Kernel,
        params: &P,
        resources: &[wgpu::BindingResource<'_>],
        groups: Groups,
    ) -> Result<(), GpuError> {
        declared_for::<P>(kernel)?;
        self.dispatch_inner(kernel, bytemuck::bytes_of(params), resources, groups, None)
    }

    pub(crate) fn dispatch_inner(
        &mut self,
        kernel: Kernel,
        params: &[u8],
        resources: &[wgpu::BindingResource<'_>],
        groups: Groups,
        timestamp: Option<PendingTimestamp<'_>>,
    ) -> Result<(), GpuError> {
        let max = self.gpu.limits.max_compute_workgroups_per_dimension;
        let grid = match groups {
            Groups::Linear(n) => fold_linear(n, max),
            Groups::Grid(g) => g.iter().all(|&d| d <= max).then_some(g),
        }
        .ok_or_else(|| GpuError::DispatchTooLarge {
            kernel: format!("{}::{}", kernel.shader, kernel.entry),
            groups: match groups {
                Groups::Linear(n) => n,
                Groups::Grid(g) => g.iter().map(|&d| d as u64).product(),
            },
        })?;
        let traced = self.gpu.trace.on() && timestamp.is_none();
        let slot = if traced {
            self.gpu.trace.slot(self.gpu)
        } else {
            None
        };
        let t0 = traced.then(Instant::now);
        let compiled = self.gpu.pipelines.get(&self.gpu.device, kernel)?;
        let (arena, offset) = self.reserve_uniform(params)?;
        let size = (params.len() as u64).max(16).next_multiple_of(16);
        // With an explicit layout the parameters' offset is dynamic (set at dispatch), so the
        // bind group does not depend on where in the arena they landed.
        let dynamic = compiled.layout.is_some();
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: self.arenas[arena].0.raw(),
                offset: if dynamic { 0 } else { offset },
                size: wgpu::BufferSize::new(size),
            }),
        }];
        for (i, r) in resources.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: r.clone(),
            });
        }
        let (bind_group, reused) = match &compiled.layout {
            Some(layout) => self.gpu.bind_groups.get(
                &self.gpu.device,
                kernel,
                layout,
                &entries,
                self.gpu.pool.epoch(),
            ),
            None => {
                let group = self
                    .gpu
                    .device
                    .create_bind_group(&wgpu::BindGroupDescriptor {
                        label: None,
                        layout: &compiled.pipeline.get_bind_group_layout(0),
                        entries: &entries,
                    });
                (group, false)
            }
        };
        self.gpu.counters.bind_group(reused);
        let timestamp_writes = timestamp
            .map(|t| wgpu::ComputePassTimestampWrites {
                query_set: t.query_set,
                beginning_of_pass_write_index: t.begin,
                end_of_pass_write_index: t.end,
            })
            .or(slot.as_ref().map(|s| wgpu::ComputePassTimestampWrites {
                query_set: &s.set,
                beginning_of_pass_write_index: Some(s.index),
                end_of_pass_write_index: Some(s.index + 1),
            }));
        let label = Some(kernel.entry);
        let own_pass = timestamp_writes.is_some();
        let pass = if own_pass {
            // Timestamps belong to a pass: a timed dispatch gets a pass of its own.
            self.pass = Some(
                self.encoder()
                    .begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label,
                        timestamp_writes,
                    })
                    .forget_lifetime(),
            );
            self.pass.as_mut().expect("just opened")
        } else {
            let encoder = &mut self.encoder;
            self.pass.get_or_insert_with(|| {
                encoder
                    .begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("locomotion dispatches"),
                        timestamp_writes: None,
                    })
                    .forget_lifetime()
            })
        };
        pass.set_pipeline(&compiled.pipeline);
        if dynamic {
            pass.set_bind_group(0, &bind_group, &[offset as u32]);
        } else {
            pass.set_bind_group(0, &bind_group, &[]);
        }
        if grid.iter().all(|&d| d > 0) {
            pass.dispatch_workgroups(grid[0], grid[1], grid[2]);
        }
        if own_pass {
            self.pass = None;
        }
        self.dispatches += 1;
        self.gpu.counters.dispatch();
        if let Some(t0) = t0 {
            self.gpu
                .trace
                .dispatched(kernel.trace_name(), t0.elapsed(), slot.as_ref());
        }
        Ok(())
    }

    /// An empty pass that only writes timestamps (profiler markers).
    pub(crate) fn timestamp_marker(&mut self, t: PendingTimestamp<'_>) {
        let pass = self
            .encoder()
            .begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("timestamp"),
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: t.query_set,
                    beginning_of_pass_write_index: t.begin,
                    end_of_pass_write_index: t.end,
                }),
            });
        drop(pass);
    }

    /// Upload the parameters, finish the recording and queue it for the GPU (see
    /// [`Gpu::flush`]): it runs after everything queued before it and before any readback.
    pub fn submit(mut self) {
        let t0 = Instant::now();
        self.pass = None;
        for (buf, data) in &self.arenas {
            if !data.is_empty() {
                self.gpu.queue.write_buffer(buf.raw(), 0, data);
            }
        }
        let commands = self.encoder.finish();
        // Arenas and scratch buffers go back to the pool now (wgpu keeps them alive until the
        // GPU is done), held like every buffer used until the submit that carries this batch.
        let mut held = self.held;
        held.extend(self.arenas.iter().map(|(buf, _)| buf.in_use_token()));
        held.extend(self.retained.iter().map(GpuBuffer::in_use_token));
        drop(self.arenas);
        drop(self.retained);
        self.gpu
            .pending
            .push(commands, held, self.dispatches, t0.elapsed());
    }

    /// Queue this batch, submit everything queued and block until the GPU has finished it.
    pub fn submit_and_wait(self) -> Result<(), GpuError> {
        let gpu = self.gpu;
        self.submit();
        gpu.wait(None)
    }
}
