//! The GPU compositor: sprites and background frames uploaded once and kept resident; each
//! call renders a batch of clips (all frames) into RGBA8 frames for export or into the
//! model's normalised input tensor [B, T, 3, H, W]: a background pass over every pixel,
//! then an object pass over only the tiles objects touch (see `shaders/composite.wgsl`).

use crate::gpu::kernel_params;

use super::atlas::{Atlas, FrameTables};
use super::backgrounds::BackgroundLibrary;
use super::params::ClipParams;
use super::sprites::ObjectLibrary;
use crate::gpu::{CommandBatch, Gpu, GpuBuffer, Groups, Kernel};

/// ImageNet per-channel statistics, the usual normalisation of video encoders' inputs.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// See [`IMAGENET_MEAN`].
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// What the compositor writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Output {
    /// Packed RGBA8 words, `[frames][H][W]` (4 bytes a pixel).
    Rgba8,
    /// f32 `[B, T, 3, H, W]`, (rgb − mean) / std per channel (12 bytes a pixel).
    Normalized { mean: [f32; 3], std: [f32; 3] },
}

impl Output {
    /// Bytes the output buffer needs for `frames` frames of height × width.
    pub fn bytes(&self, frames: u64, height: u32, width: u32) -> u64 {
        let px = frames * height as u64 * width as u64;
        match self {
            Output::Rgba8 => 4 * px,
            Output::Normalized { .. } => 12 * px,
        }
    }
}

kernel_params! {
    pub(crate) struct Params for ["composite"] {
        width: u32,
        height: u32,
        count: u32,
        base: u32,
        mean: [f32; 4],
        inv_std: [f32; 4],
    }
}

/// The per-batch tables on the GPU: keep it alive until the batch that reads them has been
/// submitted (a pooled buffer dropped earlier could be reused and overwritten first).
#[must_use = "the tables must outlive the batch's submit"]
pub struct Staged {
    frame_info: GpuBuffer,
    instances: GpuBuffer,
    tiles: GpuBuffer,
}

/// GPU-resident sprites and backgrounds, ready to render batches of clips.
pub struct Compositor {
    gpu: Gpu,
    /// The packed libraries (also what the CPU reference reads).
    pub atlas: Atlas,
    sprites: GpuBuffer,
    sprite_info: GpuBuffer,
    backgrounds: GpuBuffer,
}

impl Compositor {
    /// Pack both libraries and upload them once.
    pub fn new(
        gpu: &Gpu,
        objects: &ObjectLibrary,
        backgrounds: &BackgroundLibrary,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(!objects.is_empty(), "the object library is empty");
        anyhow::ensure!(!backgrounds.is_empty(), "the background library is empty");
        let atlas = Atlas::new(objects, backgrounds);
        Ok(Self {
            gpu: gpu.clone(),
            sprites: gpu.upload(&atlas.sprites, "sprite atlas")?,
            sprite_info: gpu.upload(&atlas.sprite_info, "sprite table")?,
            backgrounds: gpu.upload(&atlas.backgrounds, "background frames")?,
            atlas,
        })
    }

    /// Record the rendering of every frame of `clips` into `out` (sized by
    /// [`Output::bytes`]); frames are laid out clip after clip.
    pub fn record(
        &self,
        batch: &mut CommandBatch,
        clips: &[ClipParams],
        out: &GpuBuffer,
        output: Output,
    ) -> anyhow::Result<Staged> {
        self.record_faded(batch, clips, out, output, 1.0)
    }

    /// [`Compositor::record`] with every background scaled by `gain` in [0, 1] towards
    /// black (tensor output only): pre-training fades the background in, so the model
    /// meets the objects before the clutter a motion caption never names.
    pub fn record_faded(
        &self,
        batch: &mut CommandBatch,
        clips: &[ClipParams],
        out: &GpuBuffer,
        output: Output,
        gain: f32,
    ) -> anyhow::Result<Staged> {
        anyhow::ensure!(
            (0.0..=1.0).contains(&gain),
            "background gain {gain} is not in [0, 1]"
        );
        let mut tables = self.atlas.tables(clips)?;
        let dim = ((1.0 - gain as f64) * 65535.0).round() as u32;
        tables.frame_info.iter_mut().for_each(|fi| fi[2] = dim);
        self.record_tables(batch, &tables, out, output)
    }

    /// [`Compositor::record`] from tables already built (benchmarks reuse them).
    pub fn record_tables(
        &self,
        batch: &mut CommandBatch,
        tables: &FrameTables,
        out: &GpuBuffer,
        output: Output,
    ) -> anyhow::Result<Staged> {
        let (h, w) = (self.atlas.height, self.atlas.width);
        let frames = tables.frame_info.len() as u32;
        let need = output.bytes(frames as u64, h, w);
        anyhow::ensure!(
            out.bytes() >= need,
            "compositor output holds {} bytes but {frames} frames need {need}",
            out.bytes()
        );
        // An empty work list still needs a bindable buffer.
        let tiles: &[[u32; 4]] = if tables.tiles.is_empty() {
            &[[0; 4]]
        } else {
            &tables.tiles
        };
        let staged = Staged {
            frame_info: self.gpu.upload(&tables.frame_info, "frame table")?,
            instances: self.gpu.upload(&tables.instances, "object transforms")?,
            tiles: self.gpu.upload(tiles, "object tiles")?,
        };
        let (suffix, mean, inv_std) = match output {
            Output::Rgba8 => ("rgba8", [0.0; 4], [1.0; 4]),
            Output::Normalized { mean, std } => (
                "normalized",
                [mean[0], mean[1], mean[2], 0.0],
                [1.0 / std[0], 1.0 / std[1], 1.0 / std[2], 1.0],
            ),
        };
        let params = |count: u32, base: u32| Params {
            width: w,
            height: h,
            count,
            base,
            mean,
            inv_std,
        };
        // Background pass. RGBA8 frames are the background words themselves, so a buffer
        // copy per frame does it (a memcpy on CPU drivers); the tensor needs the kernel,
        // run in chunks whose pixel indices fit in a u32.
        let plane = (h * w) as u64;
        if output == Output::Rgba8 {
            anyhow::ensure!(
                tables.frame_info.iter().all(|fi| fi[2] == 0),
                "a faded background needs the tensor output (RGBA8 frames copy backgrounds as they are)"
            );
            batch.hold(&self.backgrounds);
            batch.hold(out);
            for (f, fi) in tables.frame_info.iter().enumerate() {
                batch.encoder().copy_buffer_to_buffer(
                    self.backgrounds.raw(),
                    fi[0] as u64 * 4,
                    out.raw(),
                    f as u64 * plane * 4,
                    plane * 4,
                );
            }
        } else {
            let per_chunk = ((1u64 << 31) / plane).max(1) as u32;
            let mut base = 0;
            while base < frames {
                let n = (frames - base).min(per_chunk);
                batch.dispatch(
                    Kernel::new("composite", "background_normalized"),
                    &params(n, base),
                    &[&self.backgrounds, &staged.frame_info, out],
                    Groups::Linear((n as u64 * plane).div_ceil(64)),
                )?;
                base += n;
            }
        }
        // Object pass: one workgroup per touched tile, after the background pass (wgpu
        // orders the two passes' accesses to `out`).
        let n = tables.tiles.len() as u32;
        if n > 0 {
            batch.dispatch(
                Kernel::new(
                    "composite",
                    if suffix == "rgba8" {
                        "objects_rgba8"
                    } else {
                        "objects_normalized"
                    },
                ),
                &params(n, 0),
                &[
                    &self.backgrounds,
                    &staged.frame_info,
                    out,
                    &self.sprites,
                    &self.sprite_info,
                    &staged.instances,
                    &staged.tiles,
                ],
                Groups::Linear(n as u64),
            )?;
        }
        Ok(staged)
    }

    /// Render `clips` and read the frames back as RGBA8 bytes, `[frames][H][W][4]`.
    pub fn render_rgba8(&self, clips: &[ClipParams]) -> anyhow::Result<Vec<u8>> {
        let frames: u64 = clips.iter().map(|c| c.frames as u64).sum();
        let out = self.gpu.pool.storage(
            Output::Rgba8.bytes(frames, self.atlas.height, self.atlas.width),
            "composited frames",
        )?;
        let mut batch = CommandBatch::new(&self.gpu);
        let staged = self.record(&mut batch, clips, &out, Output::Rgba8)?;
        batch.submit_and_wait()?;
        drop(staged);
        Ok(self.gpu.read::<u8>(&out)?)
    }
}
