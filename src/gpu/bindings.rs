//! Bind groups cached across dispatches and steps. Pooled buffers recur step after step, and
//! a kernel's parameters are bound with a dynamic offset into the uniform arena, so the same
//! (kernel, buffers, offsets, sizes) comes back every step and its bind group can be reused.
//!
//! Safety of reuse: the key holds a clone of every bound `wgpu::Buffer`, so a cached bind
//! group's buffers stay alive and their identities are never handed to new buffers while the
//! entry exists; a pooled buffer handed out again for another tensor keeps its identity and
//! usage (the pool keys its free lists by both) but may be bound with another size: the size
//! is part of the key, so that is another entry. Entries are dropped least recently used
//! first beyond [`CAPACITY`], and all at once when the pool frees its buffers
//! ([`super::BufferPool::trim`]), so the cache never keeps freed memory alive for long.

use std::collections::HashMap;
use std::sync::Mutex;

use super::Kernel;

/// Most bind groups kept; beyond it the least recently used half is dropped.
pub const CAPACITY: usize = 16384;

/// One bound buffer: identity, offset and binding size.
type Bound = (wgpu::Buffer, u64, Option<wgpu::BufferSize>);

#[derive(PartialEq, Eq, Hash)]
struct Key {
    kernel: Kernel,
    bound: Vec<Bound>,
}

#[derive(Default)]
struct Inner {
    /// Bind group and the tick of its last use.
    map: HashMap<Key, (wgpu::BindGroup, u64)>,
    tick: u64,
    /// The pool's trim count when the entries were made.
    pool_epoch: u64,
}

/// The cache; one per device (shared by every clone of a [`super::Gpu`]).
pub struct BindGroupCache {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl Default for BindGroupCache {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl BindGroupCache {
    /// A cache of at most `capacity` bind groups (at least 2).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            inner: Mutex::default(),
            capacity: capacity.max(2),
        }
    }

    /// The bind group of `kernel` over `entries` with `layout`, and whether it came from the
    /// cache. Entries that are not all buffers (texture views) are created every time.
    pub(crate) fn get(
        &self,
        device: &wgpu::Device,
        kernel: Kernel,
        layout: &wgpu::BindGroupLayout,
        entries: &[wgpu::BindGroupEntry<'_>],
        pool_epoch: u64,
    ) -> (wgpu::BindGroup, bool) {
        let create = || {
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout,
                entries,
            })
        };
        let Some(bound) = entries
            .iter()
            .map(|e| match &e.resource {
                wgpu::BindingResource::Buffer(b) => Some((b.buffer.clone(), b.offset, b.size)),
                _ => None,
            })
            .collect::<Option<Vec<Bound>>>()
        else {
            return (create(), false);
        };
        let key = Key { kernel, bound };
        let mut inner = self.inner.lock().unwrap();
        if inner.pool_epoch != pool_epoch {
            inner.map.clear();
            inner.pool_epoch = pool_epoch;
        }
        inner.tick += 1;
        let tick = inner.tick;
        if let Some((group, used)) = inner.map.get_mut(&key) {
            *used = tick;
            return (group.clone(), true);
        }
        if inner.map.len() >= self.capacity {
            evict_older_half(&mut inner.map);
        }
        let group = create();
        inner.map.insert(key, (group.clone(), tick));
        (group, false)
    }

    /// Bind groups held now.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap().map.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Drop the least recently used half of `map`.
// A `wgpu::Buffer` hashes and compares by identity, which its interior state never changes.
#[allow(clippy::mutable_key_type)]
fn evict_older_half(map: &mut HashMap<Key, (wgpu::BindGroup, u64)>) {
    let mut ticks: Vec<u64> = map.values().map(|(_, t)| *t).collect();
    ticks.sort_unstable();
    let cut = ticks[ticks.len() / 2];
    map.retain(|_, (_, t)| *t >= cut);
}
