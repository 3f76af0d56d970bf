//! Autograd: a tape of recorded ops. Each forward op that touches a tensor needing a gradient
//! pushes a [`Backward`] rule; [`Tape::backward`] walks the tape in reverse, records every
//! backward kernel into one batch, and accumulates gradients on the GPU. A record (and the
//! activations it saved) is dropped as soon as its rule has run.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use super::{Result, Tensor, TensorError};
use crate::gpu::{CommandBatch, Gpu, GpuBuffer, GpuError};

/// The backward rule of one recorded op.
///
/// It receives the op's inputs (as recorded) and the gradient of its output, records kernels
/// into `batch`, and returns one gradient buffer per input (None where the input needs none).
/// Raw-buffer launchers (attention, losses) become tape ops by implementing this, or through
/// [`Tape::record`] with a closure.
pub trait Backward {
    /// The op's name (for errors and debugging).
    fn name(&self) -> &'static str;
    /// Record the gradients of the inputs given the output gradient `dy`.
    fn backward(
        &self,
        batch: &mut CommandBatch,
        inputs: &[Tensor],
        dy: &GpuBuffer,
    ) -> std::result::Result<Vec<Option<GpuBuffer>>, GpuError>;
}

type BackwardFn = dyn Fn(
    &mut CommandBatch,
    &[Tensor],
    &GpuBuffer,
) -> std::result::Result<Vec<Option<GpuBuffer>>, GpuError>;

struct FnRule {
    name: &'static str,
    f: Box<BackwardFn>,
}

impl Backward for FnRule {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(
        &self,
        batch: &mut CommandBatch,
        inputs: &[Tensor],
        dy: &GpuBuffer,
    ) -> std::result::Result<Vec<Option<GpuBuffer>>, GpuError> {
        (self.f)(batch, inputs, dy)
    }
}

struct Record {
    output: u64,
    inputs: Vec<Tensor>,
    rule: Box<dyn Backward>,
}

/// Dispatches recorded by backward before it submits and releases finished activations.
const RELEASE_EVERY: u32 = 64;

/// The autograd tape of one forward pass.
pub struct Tape {
    gpu: Gpu,
    records: RefCell<Vec<Record>>,
    grad_off: Cell<u32>,
}

/// Restores gradient recording when dropped (see [`Tape::no_grad`]).
pub struct NoGradGuard<'t>(&'t Tape);

impl Drop for NoGradGuard<'_> {
    fn drop(&mut self) {
        self.0.grad_off.set(self.0.grad_off.get() - 1);
    }
}

impl Tape {
    /// An empty tape on `gpu`.
    pub fn new(gpu: &Gpu) -> Self {
        Self {
            gpu: gpu.clone(),
            records: RefCell::new(Vec::new()),
            grad_off: Cell::new(0),
        }
    }

    /// The device.
    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// Stop recording until the guard drops (evaluation: no rules, no saved activations).
    pub fn no_grad(&self) -> NoGradGuard<'_> {
        self.grad_off.set(self.grad_off.get() + 1);
        NoGradGuard(self)
    }

    /// True while ops are recorded.
    pub fn grad_enabled(&self) -> bool {
        self.grad_off.get() == 0
    }

    /// Ops recorded and not yet consumed by backward.
    pub fn len(&self) -> usize {
        self.records.borrow().len()
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether an op over `inputs` must be recorded.
    pub fn wants(&self, inputs: &[&Tensor]) -> bool {
        self.grad_enabled() && inputs.iter().any(|t| t.requires_grad())
    }

    /// Wrap `buf` (a kernel's result over `inputs`) as a tensor, recording `rule` when any
    /// input needs a gradient. This is how every op, including raw launchers, joins the tape.
    pub fn output(
        &self,
        buf: GpuBuffer,
        shape: super::Shape,
        inputs: &[&Tensor],
        rule: impl Backward + 'static,
    ) -> Tensor {
        let wants = self.wants(inputs);
        let out = Tensor::from_buffer(&self.gpu, buf, shape, wants);
        if wants {
            self.push(&out, inputs, Box::new(rule));
        }
        out
    }

    /// Like [`Tape::output`] with the rule as a closure named `name`.
    pub fn record(
        &self,
        name: &'static str,
        buf: GpuBuffer,
        shape: super::Shape,
        inputs: &[&Tensor],
        f: impl Fn(
            &mut CommandBatch,
            &[Tensor],
            &GpuBuffer,
        ) -> std::result::Result<Vec<Option<GpuBuffer>>, GpuError>
        + 'static,
    ) -> Tensor {
        self.output(
            buf,
            shape,
            inputs,
            FnRule {
                name,
                f: Box::new(f),
            },
        )
    }

    /// A view of `t` with another shape of the same size; the gradient passes through.
    pub fn reshape(&self, t: &Tensor, shape: impl Into<super::Shape>) -> Result<Tensor> {
        let shape = shape.into();
        if shape.numel() != t.numel() {
            return Err(TensorError::Shape {
                op: "reshape",
                a: t.shape().to_string(),
                b: shape.to_string(),
                why: "element counts differ",
            });
        }
        let wants = self.wants(&[t]);
        let out = t.view(shape, wants);
        if wants {
            let rule = FnRule {
                name: "reshape",
                f: Box::new(
                    |batch: &mut CommandBatch, inputs: &[Tensor], dy: &GpuBuffer| {
                        Ok(vec![Some(copy(batch, dy, inputs[0].numel())?)])
                    },
                ),
            };
            self.push(&out, &[t], Box::new(rule));
        }
        Ok(out)
    }

    fn push(&self, out: &Tensor, inputs: &[&Tensor], rule: Box<dyn Backward>) {
        self.records.borrow_mut().push(Record {
            output: out.id(),
            inputs: inputs.iter().map(|&t| t.clone()).collect(),
            rule,
        });
    }

    /// Gradients of the one-value `loss` with respect to every parameter it depends on,
    /// accumulated into each parameter's [`Tensor::grad`]. Consumes the tape.
    pub fn backward(&self, loss: &Tensor) -> Result<()> {
        if loss.numel() != 1 {
            return Err(TensorError::NotScalar(loss.shape().to_string()));
        }
        let gpu = self.gpu.clone();
        let mut grads: HashMap<u64, GpuBuffer> = HashMap::new();
        grads.insert(loss.id(), gpu.upload(&[1.0f32], "loss gradient seed")?);
        let mut batch = CommandBatch::new(&gpu);
        // Records and gradients this walk has finished with. They stay alive until the batch
        // is submitted: released earlier, the pool could hand their buffers to another thread
        // whose uploads would run before this batch and be overwritten by it.
        let mut done = Vec::new();
        loop {
            let Some(rec) = self.records.borrow_mut().pop() else {
                break;
            };
            // An op whose output the loss does not depend on has no gradient: skip it.
            let Some(dy) = grads.remove(&rec.output) else {
                continue;
            };
            let dxs = rec.rule.backward(&mut batch, &rec.inputs, &dy)?;
            batch.retain(dy);
            for (input, dx) in rec.inputs.iter().zip(dxs) {
                let Some(dx) = dx else { continue };
                if !input.requires_grad() {
                    continue;
                }
                if input.is_param() {
                    let mut g = input.grad();
                    match g.as_ref() {
                        Some(acc) => {
                            accumulate(&mut batch, &dx, acc, 1.0, input.numel())?;
                            batch.retain(dx);
                        }
                        None => *g = Some(dx),
                    }
                } else {
                    match grads.get(&input.id()) {
                        Some(acc) => {
                            accumulate(&mut batch, &dx, acc, 1.0, input.numel())?;
                            batch.retain(dx);
                        }
                        None => {
                            grads.insert(input.id(), dx);
                        }
                    }
                }
            }
            done.push(rec);
            // Submit in chunks so saved activations go back to the pool as the walk proceeds,
            // not only at its end.
            if batch.len() >= RELEASE_EVERY {
                std::mem::replace(&mut batch, CommandBatch::new(&gpu)).submit();
                done.clear();
            }
        }
        batch.submit();
        drop(done);
        Ok(())
    }
}

/// Record `acc += alpha * x` over `n` elements (gradient accumulation; SGD with alpha = -lr).
pub fn accumulate(
    batch: &mut CommandBatch,
    x: &GpuBuffer,
    acc: &GpuBuffer,
    alpha: f32,
    n: usize,
) -> std::result::Result<(), GpuError> {
    super::ops::unary::launch(batch, "accumulate", x, acc, n, alpha, 0.0, 0)
}

/// A fresh copy of the first `n` floats of `src`, recorded into `batch`.
pub fn copy(
    batch: &mut CommandBatch,
    src: &GpuBuffer,
    n: usize,
) -> std::result::Result<GpuBuffer, GpuError> {
    let dst = batch
        .gpu()
        .pool
        .storage(4 * n.max(1) as u64, "gradient copy")?;
    batch.copy(src, &dst, 4 * n as u64);
    Ok(dst)
}

/// One plain SGD step on every parameter with a gradient: `p -= lr * grad` (for tests and toy
/// training; AdamW is the optimizer for real runs).
pub fn sgd_step(gpu: &Gpu, params: &[&Tensor], lr: f32) -> Result<()> {
    let mut batch = CommandBatch::new(gpu);
    for p in params {
        if let Some(g) = p.grad().as_ref() {
            accumulate(&mut batch, g, p.buffer(), -lr, p.numel())?;
        }
    }
    batch.submit();
    Ok(())
}
