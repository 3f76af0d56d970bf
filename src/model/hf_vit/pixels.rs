//! The checkpoint's input normalisation folded into its patch embedding. The engine feeds
//! every video encoder ImageNet-normalised pixels, `x_e = (r − m_e) / s_e` per channel (r in
//! [0, 1]); a checkpoint trained on `x_h = (r − m_h) / s_h` (its `preprocessor_config.json`'s
//! `image_mean` / `image_std`) sees `x_h = a·x_e + d` with `a = s_e / s_h` and
//! `d = (m_e − m_h) / s_h`. Patches do not overlap and have no padding, so the patch kernel
//! scaled by `a` per channel and the bias plus `Σ d·W` give the checkpoint's embedding of the
//! same picture exactly.

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use serde_json::Value;

use super::HfVision;
use crate::model::checkpoint::HostTensor;

/// Per-channel pixel statistics (mean, std) of an RGB input.
pub type PixelStats = ([f32; 3], [f32; 3]);

/// `image_mean` and `image_std` of `dir/preprocessor_config.json`; `None` when the file is
/// absent or says `do_normalize: false`. A malformed file is an error naming it.
pub fn read_pixel_stats(dir: &Path) -> Result<Option<PixelStats>> {
    let path = dir.join("preprocessor_config.json");
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| anyhow!("{} is not valid JSON: {e}", path.display()))?;
    if v.get("do_normalize") == Some(&Value::Bool(false)) {
        return Ok(None);
    }
    let triple = |name: &str| -> Result<[f32; 3]> {
        let bad = || anyhow!("{}: {name} must be 3 numbers", path.display());
        let a = v.get(name).and_then(Value::as_array).ok_or_else(bad)?;
        let n: Vec<f32> = a
            .iter()
            .filter_map(|x| x.as_f64().map(|f| f as f32))
            .collect();
        <[f32; 3]>::try_from(n.as_slice()).map_err(|_| bad())
    };
    let (mean, std) = (triple("image_mean")?, triple("image_std")?);
    if std.iter().any(|&s| !(s.is_finite() && s > 0.0)) {
        bail!("{}: image_std must be positive", path.display());
    }
    Ok(Some((mean, std)))
}

impl HfVision {
    /// Make the patch embedding take `engine`-normalised pixels as the checkpoint took its
    /// own (`self.pixel_stats`); false (nothing changed) when the folder states none.
    pub fn fold_pixel_stats(&mut self, engine: PixelStats) -> Result<bool> {
        let Some((mh, sh)) = self.pixel_stats else {
            return Ok(false);
        };
        let (me, se) = engine;
        let [hv, ch, p, q] = self.patch.shape[..] else {
            bail!(
                "{}: the patch kernel has shape {:?}, not [H, C, p, p]",
                self.file,
                self.patch.shape
            );
        };
        if ch != 3 {
            bail!(
                "{}: preprocessor_config.json states RGB statistics but the patch kernel has {ch} channels",
                self.file
            );
        }
        let area = p * q;
        let mut bias = match self.patch_bias.take() {
            Some(b) if b.data.len() == hv => b.data,
            Some(b) => bail!(
                "{}: the patch bias has shape {:?}, not [{hv}]",
                self.file,
                b.shape
            ),
            None => vec![0.0; hv],
        };
        for (h, b) in bias.iter_mut().enumerate() {
            let mut shift = 0.0f64;
            for c in 0..3 {
                let (a, d) = (se[c] / sh[c], (me[c] - mh[c]) / sh[c]);
                let w = &mut self.patch.data[(h * 3 + c) * area..(h * 3 + c + 1) * area];
                shift += d as f64 * w.iter().map(|&v| v as f64).sum::<f64>();
                w.iter_mut().for_each(|v| *v *= a);
            }
            *b = (*b as f64 + shift) as f32;
        }
        self.patch_bias = Some(HostTensor::new(vec![hv], bias));
        Ok(true)
    }
}
