//! Reading safetensors files (checkpoints, Hugging Face weights) as f32 host tensors, with
//! a look at the header's shapes before any tensor is converted.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use super::checkpoint::{HostTensor, TensorMap};

/// Read every tensor of a safetensors file as f32. With `convert`, f16, bf16 and f64 are
/// converted; without it, any dtype but f32 is an error naming the tensor.
pub fn read_safetensors(path: &Path, convert: bool) -> Result<TensorMap> {
    read_safetensors_where(path, convert, |_| true)
}

/// [`read_safetensors`] limited to the tensors whose name passes `keep` (the others are not
/// converted, so they may have any dtype).
pub fn read_safetensors_where(
    path: &Path,
    convert: bool,
    keep: impl Fn(&str) -> bool,
) -> Result<TensorMap> {
    read_safetensors_checked(path, convert, keep, |_| Ok(()))
}

/// Every tensor's shape by name, as a weights file's header declares it.
pub type ShapeMap = BTreeMap<String, Vec<usize>>;

/// [`read_safetensors_where`] that first hands the header's shapes to `check`, so a
/// config can be compared with the weights before any tensor is converted.
pub fn read_safetensors_checked(
    path: &Path,
    convert: bool,
    keep: impl Fn(&str) -> bool,
    check: impl FnOnce(&ShapeMap) -> Result<()>,
) -> Result<TensorMap> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| anyhow!("{} is not a valid safetensors file: {e}", path.display()))?;
    check(
        &st.tensors()
            .iter()
            .map(|(n, v)| (n.clone(), v.shape().to_vec()))
            .collect(),
    )?;
    let mut out = TensorMap::new();
    for (name, view) in st.tensors() {
        if !keep(&name) {
            continue;
        }
        let data = to_f32(&view, convert)
            .map_err(|e| anyhow!("{}: tensor {name}: {e}", path.display()))?;
        out.insert(
            name,
            HostTensor {
                shape: view.shape().to_vec(),
                data,
            },
        );
    }
    Ok(out)
}

fn to_f32(view: &TensorView<'_>, convert: bool) -> Result<Vec<f32>> {
    let raw = view.data();
    let le2 = |c: &[u8]| u16::from_le_bytes([c[0], c[1]]);
    Ok(match view.dtype() {
        Dtype::F32 => raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 if convert => raw
            .chunks_exact(2)
            .map(|c| half::f16::from_bits(le2(c)).to_f32())
            .collect(),
        Dtype::BF16 if convert => raw
            .chunks_exact(2)
            .map(|c| half::bf16::from_bits(le2(c)).to_f32())
            .collect(),
        Dtype::F64 if convert => raw
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
            .collect(),
        other if convert => bail!("dtype {other:?} is not a floating-point type"),
        other => bail!("dtype is {other:?}, checkpoints hold f32 only"),
    })
}
