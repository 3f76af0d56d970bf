//! One F32 matrix in a safetensors file with JSON metadata: the similarity matrix of `eval
//! --save-similarity` (`similarity`, captions × videos, metadata `captions`, `videos`) and the
//! embeddings of `embed` (`embeddings`, n × d, metadata `ids`, `kind`).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

/// A row-major F32 matrix and the file's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixFile {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// `rows × cols` values, row-major.
    pub data: Vec<f32>,
    /// The safetensors metadata (`__metadata__`).
    pub metadata: HashMap<String, String>,
}

/// Write `data` (`rows × cols`) as tensor `name` with `metadata`, atomically.
pub fn write_matrix(
    path: &Path,
    name: &str,
    (rows, cols): (usize, usize),
    data: &[f32],
    metadata: HashMap<String, String>,
) -> Result<()> {
    anyhow::ensure!(
        data.len() == rows * cols,
        "matrix {name}: {rows}×{cols} but {} values",
        data.len()
    );
    let view = TensorView::new(Dtype::F32, vec![rows, cols], bytemuck::cast_slice(data))
        .map_err(|e| anyhow!("tensor {name}: {e}"))?;
    let bytes =
        safetensors::serialize([(name, view)], Some(metadata)).map_err(|e| anyhow!("{e}"))?;
    crate::util::fs::write_atomic(path, &bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Read tensor `name` (2-D F32) and the metadata of the safetensors file `path`.
pub fn read_matrix(path: &Path, name: &str) -> Result<MatrixFile> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let bad = |e: String| anyhow!("{} is not a valid safetensors file: {e}", path.display());
    let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(e.to_string()))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
    let t = st
        .tensor(name)
        .map_err(|_| anyhow!("{} holds no tensor \"{name}\"", path.display()))?;
    let shape = t.shape().to_vec();
    if t.dtype() != Dtype::F32 || shape.len() != 2 {
        bail!(
            "{}: tensor \"{name}\" must be a 2-D F32 matrix, got {:?} {shape:?}",
            path.display(),
            t.dtype()
        );
    }
    let data: Vec<f32> = t
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(MatrixFile {
        rows: shape[0],
        cols: shape[1],
        data,
        metadata: meta.metadata().clone().unwrap_or_default(),
    })
}

/// The JSON array of strings under metadata `key`.
pub fn metadata_strings(file: &MatrixFile, key: &str, path: &Path) -> Result<Vec<String>> {
    let text = file
        .metadata
        .get(key)
        .with_context(|| format!("{} has no metadata \"{key}\"", path.display()))?;
    serde_json::from_str(text).with_context(|| {
        format!(
            "{}: metadata \"{key}\" is not a JSON array of strings",
            path.display()
        )
    })
}
