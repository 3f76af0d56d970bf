//! The builder that names every parameter once (candle's `VarBuilder`): a layer is built
//! from a builder whose prefix is its place in the model (`vb.pp("layers").pp(0).pp("attn")`),
//! asks it for its parameters by their last name (`weight`, `gamma`, …) and keeps what it
//! gets in typed fields. The same building code runs over every [`Source`]: one uploads
//! weights to the GPU ([`Upload`]), one only records names and shapes ([`Shapes`]), so the
//! parameter list that random init, the optimizer and checkpoints use is the list the
//! layers were built from, in the order they were built.

use std::cell::RefCell;
use std::fmt::Display;
use std::rc::Rc;

use anyhow::{Context, Result, bail};

use crate::gpu::Gpu;
use crate::model::checkpoint::{TensorMap, tensor_of};
use crate::model::params::ParamShape;
use crate::tensor::{Shape, Tensor};

/// Where a builder's parameters come from.
pub trait Source {
    /// What a layer holds for one parameter.
    type Param: Clone;
    /// The parameter of full name `name` and `shape`.
    fn load(&mut self, name: &str, shape: &[usize]) -> Result<Self::Param>;
}

struct Inner<S: Source> {
    source: S,
    built: Vec<(String, S::Param)>,
}

/// A name prefix over a shared [`Source`]; [`Builder::pp`] extends the prefix, and every
/// parameter it hands out is recorded, under its full name, for [`Builder::parameters`].
pub struct Builder<S: Source> {
    inner: Rc<RefCell<Inner<S>>>,
    prefix: String,
}

impl<S: Source> Clone for Builder<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Rc::clone(&self.inner),
            prefix: self.prefix.clone(),
        }
    }
}

impl<S: Source> Builder<S> {
    /// A root builder (empty prefix) over `source`.
    pub fn new(source: S) -> Self {
        Self {
            inner: Rc::new(RefCell::new(Inner {
                source,
                built: Vec::new(),
            })),
            prefix: String::new(),
        }
    }

    /// The builder one level down: prefix `{prefix}.{part}` (or `part` at the root).
    pub fn pp(&self, part: impl Display) -> Self {
        Self {
            inner: Rc::clone(&self.inner),
            prefix: self.full(&part.to_string()),
        }
    }

    fn full(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    /// The parameter `{prefix}.{name}` of `shape`, from the source.
    pub fn param(&self, name: &str, shape: &[usize]) -> Result<S::Param> {
        let full = self.full(name);
        let mut inner = self.inner.borrow_mut();
        if inner.built.iter().any(|(n, _)| *n == full) {
            bail!("parameter {full} is built twice");
        }
        let p = inner.source.load(&full, shape)?;
        inner.built.push((full, p.clone()));
        Ok(p)
    }

    /// Every parameter handed out so far by this builder or any other over its source, with
    /// its full name, in the order they were built.
    pub fn parameters(&self) -> Vec<(String, S::Param)> {
        self.inner.borrow().built.clone()
    }
}

/// A source that only records names and shapes: each parameter is its own `(name, shape)`,
/// so a layer built from it knows what it would hold. It never fails.
pub struct Shapes;

impl Source for Shapes {
    type Param = ParamShape;
    fn load(&mut self, name: &str, shape: &[usize]) -> Result<ParamShape> {
        Ok((name.to_string(), shape.to_vec()))
    }
}

/// The parameter list (names and shapes, in build order) of what `build` builds.
pub fn shapes_of<T>(build: impl FnOnce(&Builder<Shapes>) -> Result<T>) -> Vec<ParamShape> {
    let root = Builder::new(Shapes);
    // Shapes never fails, and layers fail only through their source: every parameter asked
    // for is recorded either way.
    let _ = build(&root);
    root.parameters().into_iter().map(|(_, p)| p).collect()
}

/// A source that uploads weights from a host map to the GPU; a missing or misshapen weight
/// is an error naming it and the module being built ([`tensor_of`]).
pub struct Upload<'a> {
    gpu: &'a Gpu,
    what: &'static str,
    weights: &'a TensorMap,
}

impl<'a> Upload<'a> {
    /// Upload `weights` (engine names and layouts) for the module `what` (for errors).
    pub fn new(gpu: &'a Gpu, what: &'static str, weights: &'a TensorMap) -> Self {
        Self { gpu, what, weights }
    }
}

impl Source for Upload<'_> {
    type Param = Tensor;
    fn load(&mut self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let t = tensor_of(self.weights, self.what, name, shape)?;
        Tensor::param(self.gpu, &t.data, Shape(shape.to_vec())).with_context(|| name.to_string())
    }
}

/// A source that lends weights from a host map as slices (for CPU references).
pub struct Host<'a> {
    what: &'static str,
    weights: &'a TensorMap,
}

impl<'a> Host<'a> {
    /// Lend `weights` (engine names and layouts) for the module `what` (for errors).
    pub fn new(what: &'static str, weights: &'a TensorMap) -> Self {
        Self { what, weights }
    }
}

impl<'a> Source for Host<'a> {
    type Param = &'a [f32];
    fn load(&mut self, name: &str, shape: &[usize]) -> Result<&'a [f32]> {
        Ok(&tensor_of(self.weights, self.what, name, shape)?.data)
    }
}

/// `params` in name order: how modules hand their parameters to the optimizer and to
/// checkpoints (the order their flat layout and sums follow).
pub fn by_name<P>(mut params: Vec<(String, P)>) -> Vec<(String, P)> {
    params.sort_by(|a, b| a.0.cmp(&b.0));
    params
}
