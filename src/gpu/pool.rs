//! A buffer pool: released storage buffers go back to a free list keyed by size class and
//! are handed out again instead of being reallocated.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::GpuError;

/// Usage of every pooled storage buffer: bindable, and copyable both ways.
pub const STORAGE_USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// Counters that show whether the pool is doing its job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Buffers created on the device.
    pub allocations: u64,
    /// Requests served from the free list.
    pub reuses: u64,
    /// Bytes currently handed out (by size class).
    pub live_bytes: u64,
    /// Highest `live_bytes` seen.
    pub peak_bytes: u64,
    /// Bytes held in the free list.
    pub free_bytes: u64,
}

/// A released buffer, its in-use token and its serial number (order of creation).
type FreeBuffer = (wgpu::Buffer, Arc<()>, u64);

#[derive(Default)]
struct Inner {
    /// Released buffers with their in-use token: a buffer is handed out again only when no
    /// recording or queued (unsubmitted) [`super::CommandBatch`] still holds its token.
    free: HashMap<(u64, u32), Vec<FreeBuffer>>,
    stats: PoolStats,
}

/// The pool itself; cheap to clone (shared state).
#[derive(Clone)]
pub struct BufferPool {
    device: wgpu::Device,
    queue: wgpu::Queue,
    /// 0 = off; otherwise the word every storage buffer is filled with when handed out.
    poison: Arc<AtomicU32>,
    inner: Arc<Mutex<Inner>>,
    /// How many times [`BufferPool::trim`] freed buffers: bind groups made before are dropped.
    epoch: Arc<AtomicU64>,
    max_binding: u64,
    max_buffer: u64,
}

/// Size classes: powers of two and the midpoints between them (at most 33 % waste), 256 B min.
pub fn size_class(bytes: u64) -> u64 {
    let b = bytes.max(256);
    let p = b.next_power_of_two();
    let mid = p / 4 * 3;
    if b <= mid { mid } else { p }
}

impl BufferPool {
    /// A pool over `device` that checks requests against its limits.
    pub fn new(device: wgpu::Device, queue: wgpu::Queue, limits: &wgpu::Limits) -> Self {
        Self {
            device,
            queue,
            poison: Arc::default(),
            inner: Arc::default(),
            epoch: Arc::default(),
            max_binding: limits.max_storage_buffer_binding_size,
            max_buffer: limits.max_buffer_size,
        }
    }

    /// A storage buffer of at least `bytes` bytes (contents undefined when reused).
    pub fn storage(&self, bytes: u64, what: &str) -> Result<GpuBuffer, GpuError> {
        if bytes > self.max_binding {
            return Err(GpuError::TooLarge {
                what: what.to_string(),
                bytes,
                limit: self.max_binding,
                kind: "storage binding",
            });
        }
        let buf = self.get_named(bytes, STORAGE_USAGE, what)?;
        let word = self.poison.load(Ordering::Relaxed);
        if word != 0 {
            let words = vec![word; (bytes as usize).div_ceil(4)];
            self.queue
                .write_buffer(buf.raw(), 0, bytemuck::cast_slice(&words));
        }
        Ok(buf)
    }

    /// Tests: fill every storage buffer handed out from now on with `word` (e.g. a NaN bit
    /// pattern), so a kernel that leaves an output element unwritten, or that reads a buffer
    /// it assumed was zeroed, fails its comparison. `None` turns it off.
    pub fn set_poison(&self, word: Option<u32>) {
        self.poison.store(word.unwrap_or(0), Ordering::Relaxed);
    }

    /// The word storage buffers are filled with when handed out, if any.
    pub fn poison(&self) -> Option<u32> {
        Some(self.poison.load(Ordering::Relaxed)).filter(|&w| w != 0)
    }

    /// A buffer with arbitrary `usage` (uniform arenas, staging) from the same free lists.
    pub fn get(&self, bytes: u64, usage: wgpu::BufferUsages) -> Result<GpuBuffer, GpuError> {
        self.get_named(bytes, usage, "buffer")
    }

    /// [`BufferPool::get`] with the buffer's purpose for the error messages.
    fn get_named(
        &self,
        bytes: u64,
        usage: wgpu::BufferUsages,
        what: &str,
    ) -> Result<GpuBuffer, GpuError> {
        let class = size_class(bytes).min(self.max_buffer.max(bytes));
        if class > self.max_buffer {
            return Err(GpuError::TooLarge {
                what: what.into(),
                bytes,
                limit: self.max_buffer,
                kind: "buffer",
            });
        }
        let key = (class, usage.bits());
        let mut inner = self.inner.lock().unwrap();
        // A buffer bound by a batch that is still being recorded (on any thread) must not be
        // handed out: a write to it would land before that batch's kernels run. Of the others
        // the oldest is chosen, whatever order they came back in: a step that requests and
        // releases buffers in the same order as the last one then gets the same buffers, so
        // its bind groups are found in the cache (see `bindings.rs`).
        let reused = inner.free.get_mut(&key).and_then(|list| {
            let i = (0..list.len())
                .filter(|&i| Arc::strong_count(&list[i].1) == 1)
                .min_by_key(|&i| list[i].2)?;
            Some(list.swap_remove(i))
        });
        let (buffer, in_use, serial) = match reused {
            Some(b) => {
                inner.stats.reuses += 1;
                inner.stats.free_bytes -= class;
                b
            }
            None => {
                let live_bytes = inner.stats.live_bytes;
                // Out of memory is an uncaptured error (a panic) unless a scope catches it.
                let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
                let invalid = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
                let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("locomotion pool"),
                    size: class,
                    usage,
                    mapped_at_creation: false,
                });
                if let Some(e) = pollster::block_on(invalid.pop()) {
                    drop(oom);
                    return Err(GpuError::Device(format!(
                        "allocating {what} ({class} bytes): {e}"
                    )));
                }
                if let Some(e) = pollster::block_on(oom.pop()) {
                    return Err(GpuError::OutOfMemory {
                        what: what.into(),
                        bytes: class,
                        live_bytes,
                        reason: e.to_string(),
                    });
                }
                inner.stats.allocations += 1;
                (buffer, Arc::new(()), inner.stats.allocations)
            }
        };
        inner.stats.live_bytes += class;
        inner.stats.peak_bytes = inner.stats.peak_bytes.max(inner.stats.live_bytes);
        Ok(GpuBuffer {
            buffer: Some(buffer),
            in_use,
            serial,
            bytes,
            class,
            usage,
            pool: Arc::clone(&self.inner),
        })
    }

    /// Current counters.
    pub fn stats(&self) -> PoolStats {
        self.inner.lock().unwrap().stats
    }

    /// Start a new peak: `peak_bytes` becomes the bytes handed out now.
    pub fn reset_peak(&self) {
        let mut inner = self.inner.lock().unwrap();
        inner.stats.peak_bytes = inner.stats.live_bytes;
    }

    /// Drop every free buffer (returns device memory to the driver once no cached bind group
    /// holds it: the bind group cache empties itself on its next use after a trim).
    pub fn trim(&self) {
        let mut inner = self.inner.lock().unwrap();
        inner.free.clear();
        inner.stats.free_bytes = 0;
        self.epoch.fetch_add(1, Ordering::Relaxed);
    }

    /// How many times [`BufferPool::trim`] has run (the bind group cache's reset signal).
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Relaxed)
    }
}

/// A pooled buffer: `bytes` are in use, the allocation is one size class; returns to the pool
/// on drop.
pub struct GpuBuffer {
    buffer: Option<wgpu::Buffer>,
    /// Cloned by every batch that binds this buffer until it reaches the GPU (see the pool).
    in_use: Arc<()>,
    /// Order of creation in the pool (which free buffer is handed out first).
    serial: u64,
    bytes: u64,
    class: u64,
    usage: wgpu::BufferUsages,
    pool: Arc<Mutex<Inner>>,
}

impl GpuBuffer {
    /// The wgpu buffer underneath.
    pub fn raw(&self) -> &wgpu::Buffer {
        self.buffer.as_ref().expect("buffer present until drop")
    }
    /// The token a recording batch holds so the pool will not reuse this buffer before the
    /// batch is submitted.
    pub(crate) fn in_use_token(&self) -> Arc<()> {
        Arc::clone(&self.in_use)
    }
    /// True while a recording or queued batch uses this buffer (holds its in-use token).
    pub(crate) fn in_use(&self) -> bool {
        Arc::strong_count(&self.in_use) > 1
    }
    /// Bytes requested (the logical size; binding uses exactly this).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
    /// Bytes allocated (the size class).
    pub fn capacity(&self) -> u64 {
        self.class
    }
    /// A binding of the logical size rounded up to `align` bytes, for a kernel that reads
    /// and writes whole vec4s (`align` 16) past the last element into the allocation's
    /// padding; `None` where the allocation is too small for that.
    pub fn binding_rounded(&self, align: u64) -> Option<wgpu::BindingResource<'_>> {
        let size = self.bytes.max(align).next_multiple_of(align);
        (size <= self.class).then(|| {
            wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: self.raw(),
                offset: 0,
                size: wgpu::BufferSize::new(size),
            })
        })
    }
    /// A binding of exactly the logical size, so `arrayLength` in WGSL is right.
    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: self.raw(),
            offset: 0,
            size: wgpu::BufferSize::new(self.bytes.max(4).next_multiple_of(4)),
        })
    }
}

impl std::fmt::Debug for GpuBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuBuffer({} of {} bytes)", self.bytes, self.class)
    }
}

impl Drop for GpuBuffer {
    fn drop(&mut self) {
        if let Some(b) = self.buffer.take() {
            let mut inner = self.pool.lock().unwrap();
            inner.stats.live_bytes -= self.class;
            inner.stats.free_bytes += self.class;
            inner
                .free
                .entry((self.class, self.usage.bits()))
                .or_default()
                .push((b, Arc::clone(&self.in_use), self.serial));
        }
    }
}
