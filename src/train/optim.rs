//! The AdamW optimizer over the model's parameter tensors: first and second moments on the
//! GPU in flat groups (see [`super::flat`]), global gradient-norm clipping whose scale AdamW
//! reads on the GPU, and one batch (one submit, no readback) per step. The norm is read only
//! when a caller logs it.

use std::collections::HashSet;

use anyhow::{Result, anyhow, bail};

use super::flat::{self, Group, Member};
use crate::gpu::{CommandBatch, Gpu, GpuBuffer};
use crate::tensor::Tensor;
use crate::tensor::ops::adamw::{self, adamw_flat_step, clip_grad_norm, partials_len};

/// Whether the usual recipe (BERT, ViT, VindLU) decays a parameter: matrices decay; biases,
/// LayerNorm gains, embeddings, position tables, the [CLS] vector and the temperature do not.
pub fn decays(name: &str, shape: &[usize]) -> bool {
    let table = name.contains("embeddings.") || name.contains(".pos.");
    shape.len() >= 2 && !table
}

/// One optimized tensor and where it lives in the flat layout.
struct Slot {
    name: String,
    tensor: Tensor,
    decay: bool,
    /// Its group and its index among the group's members.
    group: usize,
    member: usize,
}

/// AdamW with decoupled weight decay and global gradient-norm clipping, all on the GPU, over
/// the flat layout of [`super::flat`]: one norm dispatch per group, one clip dispatch and one
/// AdamW dispatch per group a step, whatever the number of tensors.
pub struct AdamW {
    gpu: Gpu,
    slots: Vec<Slot>,
    groups: Vec<Group>,
    /// β1, β2, ε and the weight decay; `lr` is replaced by each [`AdamW::step`]'s argument.
    pub hyper: adamw::AdamWHyper,
    /// Clip the global gradient norm to this value; 0 or less measures it without clipping.
    pub max_norm: f32,
    step: u32,
    partials: GpuBuffer,
    clip: GpuBuffer,
}

impl AdamW {
    /// An optimizer over named parameters (decay chosen by [`decays`]), moments at zero.
    /// Names and tensors must be unique: a tensor listed twice would be updated twice.
    pub fn new(
        gpu: &Gpu,
        params: impl IntoIterator<Item = (String, Tensor)>,
        hyper: adamw::AdamWHyper,
        max_norm: f32,
    ) -> Result<Self> {
        let max_len = gpu.limits.max_storage_buffer_binding_size / 4;
        Self::with_group_limit(gpu, params, hyper, max_norm, max_len)
    }

    /// Like [`AdamW::new`] with groups of at most `max_len` floats (the device's binding
    /// limit in [`AdamW::new`]; smaller to exercise several groups).
    pub fn with_group_limit(
        gpu: &Gpu,
        params: impl IntoIterator<Item = (String, Tensor)>,
        hyper: adamw::AdamWHyper,
        max_norm: f32,
        max_len: u64,
    ) -> Result<Self> {
        let (mut names, mut ids) = (HashSet::new(), HashSet::new());
        let mut slots = Vec::new();
        for (name, tensor) in params {
            if !tensor.is_param() {
                bail!("AdamW: '{name}' is not a trainable parameter tensor");
            }
            if !names.insert(name.clone()) || !ids.insert(tensor.id()) {
                bail!("AdamW: parameter '{name}' is listed twice");
            }
            slots.push(Slot {
                decay: decays(&name, tensor.shape().dims()),
                name,
                tensor,
                group: 0,
                member: 0,
            });
        }
        if slots.is_empty() {
            bail!("AdamW: no parameters to optimize");
        }
        let lengths: Vec<u64> = slots.iter().map(|s| s.tensor.numel() as u64).collect();
        let mut groups = Vec::new();
        for (gi, members) in flat::bucket(&lengths, max_len.min(u32::MAX as u64))?
            .iter()
            .enumerate()
        {
            for (mi, &slot) in members.iter().enumerate() {
                slots[slot].group = gi;
                slots[slot].member = mi;
            }
            groups.push(Group::new(gpu, members, &lengths)?);
        }
        let group_lengths: Vec<u32> = groups.iter().map(|g| g.len as u32).collect();
        let partials = gpu
            .pool
            .storage(4 * partials_len(&group_lengths).max(1), "clip partials")?;
        let clip = gpu.filled(8, 0, "gradient norm and clip scale")?;
        Ok(Self {
            gpu: gpu.clone(),
            slots,
            groups,
            hyper,
            max_norm,
            step: 0,
            partials,
            clip,
        })
    }

    /// Override the name rule for one parameter (e.g. to decay a table or exempt a matrix).
    pub fn set_decay(&mut self, name: &str, decay: bool) -> Result<()> {
        match self.slots.iter_mut().find(|s| s.name == name) {
            Some(s) => {
                s.decay = decay;
                Ok(())
            }
            None => bail!("AdamW: no parameter named '{name}'"),
        }
    }

    /// Whether `name` is decayed (None for an unknown name).
    pub fn decay_of(&self, name: &str) -> Option<bool> {
        self.slot(name).map(|s| s.decay)
    }

    /// Optimizer steps taken so far.
    pub fn steps(&self) -> u32 {
        self.step
    }

    /// Set the step count a resumed run continues from (AdamW's bias correction reads it).
    pub fn set_steps(&mut self, steps: u32) {
        self.step = steps;
    }

    /// Flat groups (one unless the parameters pass one storage binding).
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    fn slot(&self, name: &str) -> Option<&Slot> {
        self.slots.iter().find(|s| s.name == name)
    }

    /// The group buffers and the member of `name`, or an error naming it.
    fn place(&self, name: &str) -> Result<(&Group, Member)> {
        let s = self
            .slot(name)
            .ok_or_else(|| anyhow!("AdamW: no parameter named '{name}'"))?;
        let g = &self.groups[s.group];
        Ok((g, g.members[s.member]))
    }

    /// The first and second moments of `name` on the host (for checkpoints), or None for an
    /// unknown name. Waits for the GPU.
    pub fn moments_to_host(&self, name: &str) -> Result<Option<(Vec<f32>, Vec<f32>)>> {
        if self.slot(name).is_none() {
            return Ok(None);
        }
        let (g, member) = self.place(name)?;
        let (offset, bytes) = member.bytes();
        let pool = &self.gpu.pool;
        let (m, v) = (
            pool.storage(bytes.max(4), "AdamW m readback")?,
            pool.storage(bytes.max(4), "AdamW v readback")?,
        );
        let mut batch = CommandBatch::new(&self.gpu);
        for (src, dst) in [(&g.m, &m), (&g.v, &v)] {
            copy_range(&mut batch, src, offset, dst, 0, bytes);
        }
        batch.submit();
        let read = |b: &GpuBuffer| -> Result<Vec<f32>> {
            let mut x = self.gpu.read::<f32>(b)?;
            x.truncate(member.len as usize);
            Ok(x)
        };
        Ok(Some((read(&m)?, read(&v)?)))
    }

    /// Replace the moments of `name` (a resumed run's); `m` and `v` must have its length.
    pub fn set_moments(&self, name: &str, m: &[f32], v: &[f32]) -> Result<()> {
        let (g, member) = self.place(name)?;
        for (what, data) in [("m", m), ("v", v)] {
            if data.len() as u64 != member.len {
                bail!(
                    "AdamW: {what} of '{name}' has {} values, the parameter {}",
                    data.len(),
                    member.len
                );
            }
        }
        let offset = member.bytes().0;
        if member.len > 0 {
            self.gpu.write_at(&g.m, offset, m);
            self.gpu.write_at(&g.v, offset, v);
        }
        Ok(())
    }

    /// Forget every parameter's accumulated gradient (call before the next backward).
    pub fn zero_grad(&self) {
        self.slots.iter().for_each(|s| s.tensor.zero_grad());
    }

    /// One step at learning rate `lr` (from the schedule) over every parameter that has a
    /// gradient: gather gradients and parameters into the flat groups (copies), clip the
    /// global norm, update parameters and moments in one dispatch per group, copy the
    /// parameters back. Records everything into one batch and submits it without waiting;
    /// returns the [norm, scale] buffer (read it with [`AdamW::grad_norm`] only when logging).
    pub fn step(&mut self, lr: f32) -> Result<&GpuBuffer> {
        let guards: Vec<_> = self.slots.iter().map(|s| s.tensor.grad()).collect();
        if guards.iter().all(|g| g.is_none()) {
            bail!("AdamW: no parameter has a gradient; run backward before the step");
        }
        self.step += 1;
        let mut batch = CommandBatch::new(&self.gpu);
        for g in &self.groups {
            let table = g.table(|i| self.slots[i].decay, |i| guards[i].is_some());
            self.gpu.write(&g.segs, &table);
            for member in &g.members {
                let (offset, bytes) = member.bytes();
                if bytes == 0 {
                    continue;
                }
                match guards[member.slot].as_ref() {
                    Some(grad) => {
                        let param = self.slots[member.slot].tensor.buffer();
                        copy_range(&mut batch, grad, 0, &g.grad, offset, bytes);
                        copy_range(&mut batch, param, 0, &g.param, offset, bytes);
                    }
                    // No gradient: zero, so it adds nothing to the norm (AdamW skips it).
                    None => {
                        batch.hold(&g.grad);
                        batch
                            .encoder()
                            .clear_buffer(g.grad.raw(), offset, Some(bytes));
                    }
                }
            }
        }
        let grads: Vec<(&GpuBuffer, u32)> = self
            .groups
            .iter()
            .map(|g| (&g.grad, g.len as u32))
            .collect();
        clip_grad_norm(
            &mut batch,
            &grads,
            self.max_norm,
            &self.partials,
            &self.clip,
        )?;
        let hyper = adamw::AdamWHyper { lr, ..self.hyper };
        for g in &self.groups {
            adamw_flat_step(
                &mut batch,
                &hyper,
                self.step,
                &g.param,
                &g.grad,
                &g.m,
                &g.v,
                &self.clip,
                &g.segs,
                g.len as u32,
            )?;
        }
        for g in &self.groups {
            for member in g.members.iter().filter(|m| guards[m.slot].is_some()) {
                let (offset, bytes) = member.bytes();
                let param = self.slots[member.slot].tensor.buffer();
                copy_range(&mut batch, &g.param, offset, param, 0, bytes);
            }
        }
        drop(guards);
        batch.submit();
        Ok(&self.clip)
    }

    /// The global gradient norm of the last step, before clipping (waits for the GPU).
    pub fn grad_norm(&self) -> Result<f32> {
        adamw::read_grad_norm(&self.gpu, &self.clip)
    }
}

/// Record a copy of `bytes` from `src` at `from` to `dst` at `to` (both held until submit).
fn copy_range(
    batch: &mut CommandBatch,
    src: &GpuBuffer,
    from: u64,
    dst: &GpuBuffer,
    to: u64,
    bytes: u64,
) {
    if bytes == 0 {
        return;
    }
    batch.hold(src);
    batch.hold(dst);
    batch.note_copy();
    batch
        .encoder()
        .copy_buffer_to_buffer(src.raw(), from, dst.raw(), to, bytes);
}
