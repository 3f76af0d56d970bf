//! The GPU tensor: a shape, a dtype and a pooled buffer, shared cheaply; parameters also carry
//! their accumulated gradient.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use half::f16;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Result, Shape, TensorError};
use crate::gpu::{Gpu, GpuBuffer};

/// Element type of a tensor's storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    /// 32-bit float: what every op computes in.
    F32,
    /// 16-bit float storage (adapters with SHADER_F16): half the memory, converted on the host.
    F16,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F16 => 2,
        }
    }
}

struct Inner {
    id: u64,
    shape: Shape,
    dtype: DType,
    buf: Arc<GpuBuffer>,
    gpu: Gpu,
    param: bool,
    requires_grad: bool,
    grad: Mutex<Option<GpuBuffer>>,
}

/// A tensor on the GPU; clones share the buffer.
#[derive(Clone)]
pub struct Tensor(Arc<Inner>);

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Tensor {
    fn build(
        gpu: &Gpu,
        buf: Arc<GpuBuffer>,
        shape: Shape,
        dtype: DType,
        param: bool,
        rg: bool,
    ) -> Self {
        Tensor(Arc::new(Inner {
            id: next_id(),
            shape,
            dtype,
            buf,
            gpu: gpu.clone(),
            param,
            requires_grad: rg || param,
            grad: Mutex::new(None),
        }))
    }

    /// An f32 tensor holding `data` in `shape` (a constant: no gradient).
    pub fn from_host(gpu: &Gpu, data: &[f32], shape: impl Into<Shape>) -> Result<Self> {
        let shape = shape.into();
        if data.len() != shape.numel() {
            return Err(TensorError::Length {
                what: "tensor".into(),
                len: data.len(),
                shape: shape.to_string(),
            });
        }
        let buf = gpu.upload(data, "tensor")?;
        Ok(Self::build(
            gpu,
            Arc::new(buf),
            shape,
            DType::F32,
            false,
            false,
        ))
    }

    /// A trainable parameter holding `data`: backward accumulates its gradient in [`Tensor::grad`].
    pub fn param(gpu: &Gpu, data: &[f32], shape: impl Into<Shape>) -> Result<Self> {
        let t = Self::from_host(gpu, data, shape)?;
        Ok(Self::build(
            gpu,
            Arc::clone(&t.0.buf),
            t.0.shape.clone(),
            DType::F32,
            true,
            true,
        ))
    }

    /// A parameter drawn uniformly from [-scale, scale) with `seed` (the same seed gives the
    /// same values on every machine).
    pub fn param_random(gpu: &Gpu, shape: impl Into<Shape>, scale: f32, seed: u64) -> Result<Self> {
        let shape = shape.into();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let data: Vec<f32> = (0..shape.numel())
            .map(|_| rng.random_range(-scale..scale))
            .collect();
        Self::param(gpu, &data, shape)
    }

    /// An f16-storage tensor of `data` (rounded on the host), where the adapter has f16.
    pub fn from_host_f16(gpu: &Gpu, data: &[f32], shape: impl Into<Shape>) -> Result<Self> {
        let shape = shape.into();
        if data.len() != shape.numel() {
            return Err(TensorError::Length {
                what: "f16 tensor".into(),
                len: data.len(),
                shape: shape.to_string(),
            });
        }
        let halves: Vec<f16> = data.iter().map(|&v| f16::from_f32(v)).collect();
        let buf = gpu.upload(&halves, "f16 tensor")?;
        Ok(Self::build(
            gpu,
            Arc::new(buf),
            shape,
            DType::F16,
            false,
            false,
        ))
    }

    /// Wrap a buffer produced by a kernel as a tensor of `shape`.
    pub fn from_buffer(gpu: &Gpu, buf: GpuBuffer, shape: Shape, requires_grad: bool) -> Self {
        Self::build(gpu, Arc::new(buf), shape, DType::F32, false, requires_grad)
    }

    /// An uninitialised f32 output of `shape` from the pool.
    pub fn empty(gpu: &Gpu, shape: Shape, what: &str) -> Result<GpuBuffer> {
        Ok(gpu.pool.storage(4 * shape.numel().max(1) as u64, what)?)
    }

    /// The same storage seen with another shape of the same size (a view; no copy).
    pub(crate) fn view(&self, shape: Shape, requires_grad: bool) -> Self {
        Self::build(
            &self.0.gpu,
            Arc::clone(&self.0.buf),
            shape,
            self.0.dtype,
            false,
            requires_grad,
        )
    }

    /// Unique id of this tensor (views have their own).
    pub fn id(&self) -> u64 {
        self.0.id
    }
    /// Its shape.
    pub fn shape(&self) -> &Shape {
        &self.0.shape
    }
    /// Its storage type.
    pub fn dtype(&self) -> DType {
        self.0.dtype
    }
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.0.shape.numel()
    }
    /// The buffer underneath (for raw launchers).
    pub fn buffer(&self) -> &GpuBuffer {
        &self.0.buf
    }
    /// The device it lives on.
    pub fn gpu(&self) -> &Gpu {
        &self.0.gpu
    }
    /// True for trainable parameters.
    pub fn is_param(&self) -> bool {
        self.0.param
    }
    /// True when backward will compute a gradient for it.
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad
    }

    /// The values as f32 on the host (waits for the GPU; converts f16 storage).
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        Ok(match self.0.dtype {
            DType::F32 => self.0.gpu.read::<f32>(&self.0.buf)?,
            DType::F16 => self
                .0
                .gpu
                .read::<f16>(&self.0.buf)?
                .iter()
                .map(|h| h.to_f32())
                .collect(),
        })
    }

    /// The accumulated gradient of a parameter (None before backward or after zeroing).
    pub fn grad(&self) -> MutexGuard<'_, Option<GpuBuffer>> {
        self.0.grad.lock().unwrap()
    }

    /// The gradient on the host, if any.
    pub fn grad_to_vec(&self) -> Result<Option<Vec<f32>>> {
        let g = self.grad();
        Ok(match g.as_ref() {
            Some(b) => Some(self.0.gpu.read::<f32>(b)?[..self.numel()].to_vec()),
            None => None,
        })
    }

    /// Forget the accumulated gradient (the next backward starts from zero).
    pub fn zero_grad(&self) {
        *self.grad() = None;
    }

    /// Fail unless the storage is f32 (ops compute in f32 only).
    pub(crate) fn expect_f32(&self, op: &'static str) -> Result<()> {
        match self.0.dtype {
            DType::F32 => Ok(()),
            DType::F16 => Err(TensorError::Dtype { op }),
        }
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Tensor#{}({}, {:?})",
            self.0.id, self.0.shape, self.0.dtype
        )
    }
}
