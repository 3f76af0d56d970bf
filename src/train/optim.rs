//! The AdamW optimizer over the model's parameter tensors: first and second moments on the
//! GPU, global gradient-norm clipping whose scale AdamW reads on the GPU, and one batch (one
//! submit, no readback) per step. The norm is read only when a caller logs it.

use std::collections::HashSet;

use anyhow::{Result, bail};

use crate::gpu::{Batch, Gpu, GpuBuffer};
use crate::tensor::Tensor;
use crate::tensor::ops::adamw::{self, adamw_step, clip_grad_norm, partials_len};

/// Whether the usual recipe (BERT, ViT, VindLU) decays a parameter: matrices decay; biases,
/// LayerNorm gains, embeddings, position tables, the [CLS] vector and the temperature do not.
pub fn decays(name: &str, shape: &[usize]) -> bool {
    let table = name.contains("embeddings.") || name.contains(".pos.");
    shape.len() >= 2 && !table
}

/// One optimized tensor and its moment buffers.
struct Slot {
    name: String,
    tensor: Tensor,
    decay: bool,
    m: GpuBuffer,
    v: GpuBuffer,
}

/// AdamW with decoupled weight decay and global gradient-norm clipping, all on the GPU.
pub struct AdamW {
    gpu: Gpu,
    slots: Vec<Slot>,
    /// β1, β2, ε and the weight decay; `lr` is replaced by each [`AdamW::step`]'s argument.
    pub hyper: adamw::AdamW,
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
        hyper: adamw::AdamW,
        max_norm: f32,
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
            let bytes = 4 * tensor.numel().max(1) as u64;
            slots.push(Slot {
                decay: decays(&name, tensor.shape().dims()),
                m: gpu.filled(bytes, 0, &format!("AdamW m of {name}"))?,
                v: gpu.filled(bytes, 0, &format!("AdamW v of {name}"))?,
                name,
                tensor,
            });
        }
        if slots.is_empty() {
            bail!("AdamW: no parameters to optimize");
        }
        let lengths: Vec<u32> = slots.iter().map(|s| s.tensor.numel() as u32).collect();
        let partials = gpu
            .pool
            .storage(4 * partials_len(&lengths).max(1), "clip partials")?;
        let clip = gpu.filled(8, 0, "gradient norm and clip scale")?;
        Ok(Self {
            gpu: gpu.clone(),
            slots,
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
        self.slots.iter().find(|s| s.name == name).map(|s| s.decay)
    }

    /// Optimizer steps taken so far.
    pub fn steps(&self) -> u32 {
        self.step
    }

    /// Set the step count a resumed run continues from (AdamW's bias correction reads it).
    pub fn set_steps(&mut self, steps: u32) {
        self.step = steps;
    }

    /// The first and second moments of `name` (for checkpoints).
    pub fn moments(&self, name: &str) -> Option<(&GpuBuffer, &GpuBuffer)> {
        self.slots
            .iter()
            .find(|s| s.name == name)
            .map(|s| (&s.m, &s.v))
    }

    /// Forget every parameter's accumulated gradient (call before the next backward).
    pub fn zero_grad(&self) {
        self.slots.iter().for_each(|s| s.tensor.zero_grad());
    }

    /// One step at learning rate `lr` (from the schedule) over every parameter that has a
    /// gradient: clip the global norm, then update parameters and moments in place. Records
    /// everything into one batch and submits it without waiting; returns the [norm, scale]
    /// buffer (read it with [`AdamW::grad_norm`] only when logging).
    pub fn step(&mut self, lr: f32) -> Result<&GpuBuffer> {
        let guards: Vec<_> = self.slots.iter().map(|s| s.tensor.grad()).collect();
        let live: Vec<(usize, &GpuBuffer)> = guards
            .iter()
            .enumerate()
            .filter_map(|(i, g)| g.as_ref().map(|b| (i, b)))
            .collect();
        if live.is_empty() {
            bail!("AdamW: no parameter has a gradient; run backward before the step");
        }
        self.step += 1;
        let mut batch = Batch::new(&self.gpu);
        let grads: Vec<(&GpuBuffer, u32)> = live
            .iter()
            .map(|&(i, b)| (b, self.slots[i].tensor.numel() as u32))
            .collect();
        clip_grad_norm(
            &mut batch,
            &grads,
            self.max_norm,
            &self.partials,
            &self.clip,
        )?;
        for &(i, grad) in &live {
            let s = &self.slots[i];
            let hyper = adamw::AdamW {
                lr,
                weight_decay: if s.decay {
                    self.hyper.weight_decay
                } else {
                    0.0
                },
                ..self.hyper
            };
            let n = s.tensor.numel() as u32;
            adamw_step(
                &mut batch,
                &hyper,
                self.step,
                s.tensor.buffer(),
                grad,
                &s.m,
                &s.v,
                &self.clip,
                n,
            )?;
        }
        drop(grads);
        drop(live);
        drop(guards);
        batch.submit();
        Ok(&self.clip)
    }

    /// The global gradient norm of the last step, before clipping (waits for the GPU).
    pub fn grad_norm(&self) -> Result<f32> {
        adamw::read_grad_norm(&self.gpu, &self.clip)
    }
}
