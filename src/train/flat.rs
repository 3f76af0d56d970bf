//! The optimizer's flat layout: parameter tensors laid end to end in groups, each group one
//! buffer of parameters, gradients, first and second moments and a segment table, so a step's
//! clipping and AdamW are one dispatch per group (usually one group) instead of one per
//! tensor. A group holds at most one storage binding's worth of floats: larger models get
//! several size-bucketed groups.

use anyhow::{Result, bail};

use crate::gpu::{Gpu, GpuBuffer};

/// Split tensors of `lengths` (floats), in order, into groups of at most `max_len` floats:
/// a tensor starts a new group when it would overflow the current one.
pub fn bucket(lengths: &[u64], max_len: u64) -> Result<Vec<Vec<usize>>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut filled = 0u64;
    for (i, &n) in lengths.iter().enumerate() {
        if n > max_len {
            bail!(
                "AdamW: a parameter of {n} values is larger than one storage binding ({max_len} values) on this adapter"
            );
        }
        match groups.last_mut() {
            Some(g) if filled + n <= max_len => g.push(i),
            _ => {
                groups.push(vec![i]);
                filled = 0;
            }
        }
        filled += n;
    }
    Ok(groups)
}

/// One tensor's place in a group.
#[derive(Debug, Clone, Copy)]
pub struct Member {
    /// Index of the tensor in the optimizer's list.
    pub slot: usize,
    /// First element in the group's buffers.
    pub offset: u64,
    /// Elements.
    pub len: u64,
}

impl Member {
    /// (byte offset, bytes) of this tensor in a group buffer.
    pub fn bytes(&self) -> (u64, u64) {
        (4 * self.offset, 4 * self.len)
    }
}

/// Tensors laid end to end, with their flat buffers.
pub struct Group {
    /// The tensors, in buffer order.
    pub members: Vec<Member>,
    /// Elements in all.
    pub len: u64,
    /// Parameters (copied in from the tensors before a step and back after it).
    pub param: GpuBuffer,
    /// Gradients (copied in before a step; zero where a tensor has none).
    pub grad: GpuBuffer,
    /// First moments (the optimizer's state; zero at the start).
    pub m: GpuBuffer,
    /// Second moments (zero at the start).
    pub v: GpuBuffer,
    /// `[end, flags]` per member for `adamw_flat` (written before each step).
    pub segs: GpuBuffer,
}

impl Group {
    /// A group of tensors `slots` with `lengths[slot]` elements each, moments at zero.
    pub fn new(gpu: &Gpu, slots: &[usize], lengths: &[u64]) -> Result<Self> {
        let mut members = Vec::with_capacity(slots.len());
        let mut len = 0;
        for &slot in slots {
            members.push(Member {
                slot,
                offset: len,
                len: lengths[slot],
            });
            len += lengths[slot];
        }
        let bytes = 4 * len.max(1);
        Ok(Self {
            param: gpu.pool.storage(bytes, "AdamW flat parameters")?,
            grad: gpu.pool.storage(bytes, "AdamW flat gradients")?,
            m: gpu.filled(bytes, 0, "AdamW flat m")?,
            v: gpu.filled(bytes, 0, "AdamW flat v")?,
            segs: gpu
                .pool
                .storage(8 * members.len() as u64, "AdamW segment table")?,
            members,
            len,
        })
    }

    /// The segment table for this step: each member's end, bit 0 when `decay(slot)`, bit 1
    /// when `live(slot)` (it has a gradient).
    pub fn table(&self, decay: impl Fn(usize) -> bool, live: impl Fn(usize) -> bool) -> Vec<u32> {
        self.members
            .iter()
            .flat_map(|m| {
                let flags = u32::from(decay(m.slot)) | (u32::from(live(m.slot)) << 1);
                [(m.offset + m.len) as u32, flags]
            })
            .collect()
    }
}
