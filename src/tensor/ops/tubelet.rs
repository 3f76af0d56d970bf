//! Launcher for `shaders/tubelet.wgsl` and the tubelet embedding on the tape: a video
//! `[B, T, C, H, W]` becomes one row per non-overlapping tubelet (im2col), then a linear
//! projection (a Conv3d with stride = kernel, as ViViT / VideoMAE embed video). The
//! rearrangement's gradient is its inverse scatter (col2im); tubelets do not overlap, so that
//! scatter has no races and needs no atomics.

use crate::gpu::kernel_params;

use super::forward;
use super::matmul::matmul_op;
use crate::gpu::{CommandBatch, GpuBuffer, GpuError, Groups, Kernel};
use crate::tensor::{Result, Shape, Tape, Tensor, TensorError};

/// The geometry of a batch of clips cut into tubelets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TubeletGrid {
    /// Clips B.
    pub batch: usize,
    /// Frames T.
    pub frames: usize,
    /// Channels C.
    pub channels: usize,
    /// Height H.
    pub height: usize,
    /// Width W.
    pub width: usize,
    /// Tubelet size (frames, height, width).
    pub tubelet: [usize; 3],
}

kernel_params! {
    pub(crate) struct Params for ["tubelet"] {
        batch: u32,
        frames: u32,
        channels: u32,
        height: u32,
        width: u32,
        tt: u32,
        ph: u32,
        pw: u32,
    }
}

impl TubeletGrid {
    /// The grid of a video tensor `[B, T, C, H, W]` cut into `tubelet` (t, h, w) pieces;
    /// fails unless the tubelet divides (T, H, W) exactly.
    pub fn new(video: &Shape, tubelet: [usize; 3]) -> Result<Self> {
        let bad = |why| TensorError::Shape {
            op: "tubelets",
            a: video.to_string(),
            b: format!("{tubelet:?}"),
            why,
        };
        let Ok([batch, frames, channels, height, width]) = <[usize; 5]>::try_from(video.dims())
        else {
            return Err(bad("the video must be [B, T, C, H, W]"));
        };
        let [tt, ph, pw] = tubelet;
        if tt == 0 || ph == 0 || pw == 0 || frames % tt != 0 || height % ph != 0 || width % pw != 0
        {
            return Err(bad("the tubelet (t, h, w) must divide (T, H, W)"));
        }
        Ok(Self {
            batch,
            frames,
            channels,
            height,
            width,
            tubelet,
        })
    }

    /// Tubelets along (time, rows, columns).
    pub fn grid(&self) -> [usize; 3] {
        let [tt, ph, pw] = self.tubelet;
        [self.frames / tt, self.height / ph, self.width / pw]
    }

    /// Tokens per clip N.
    pub fn tokens(&self) -> usize {
        self.grid().iter().product()
    }

    /// Values per tubelet D = C·t·h·w.
    pub fn dim(&self) -> usize {
        self.channels * self.tubelet.iter().product::<usize>()
    }

    /// Elements of the video (and of the patch matrix: the same values rearranged).
    pub fn numel(&self) -> usize {
        self.batch * self.frames * self.channels * self.height * self.width
    }

    fn params(&self) -> Params {
        let [tt, ph, pw] = self.tubelet.map(|v| v as u32);
        Params {
            batch: self.batch as u32,
            frames: self.frames as u32,
            channels: self.channels as u32,
            height: self.height as u32,
            width: self.width as u32,
            tt,
            ph,
            pw,
        }
    }
}

/// Record `entry` ("im2col": video → patches, or "col2im": patches → video) from `src` to
/// `dst`, both holding `g.numel()` floats.
pub fn launch(
    batch: &mut CommandBatch,
    entry: &'static str,
    g: &TubeletGrid,
    src: &GpuBuffer,
    dst: &GpuBuffer,
) -> std::result::Result<(), GpuError> {
    // One thread a tubelet row of pw values.
    let runs = g.numel() as u64 / g.tubelet[2].max(1) as u64;
    batch.dispatch(
        Kernel::new("tubelet", entry),
        &g.params(),
        &[src, dst],
        Groups::Linear(runs.div_ceil(64)),
    )
}

/// The video `[B, T, C, H, W]` as tubelet rows `[B, N, C·t·h·w]`; the gradient flows back to
/// the video by the inverse scatter.
pub fn tubelets(tape: &Tape, video: &Tensor, tubelet: [usize; 3]) -> Result<Tensor> {
    video.expect_f32("tubelets")?;
    let g = TubeletGrid::new(video.shape(), tubelet)?;
    let n = g.numel();
    let out = forward(tape.gpu(), n, "tubelets", |b, o| {
        launch(b, "im2col", &g, video.buffer(), o)
    })?;
    let shape = Shape(vec![g.batch, g.tokens(), g.dim()]);
    Ok(
        tape.record("tubelets", out, shape, &[video], move |b, _, dy| {
            let dx = b.gpu().pool.storage(4 * n.max(1) as u64, "tubelets grad")?;
            launch(b, "col2im", &g, dy, &dx)?;
            Ok(vec![Some(dx)])
        }),
    )
}

/// Tubelet embedding: `tubelets(video) · weight + bias`, weight `[C·t·h·w, hidden]` and bias
/// `[hidden]` → tokens `[B, N, hidden]`.
pub fn tubelet_embedding(
    tape: &Tape,
    video: &Tensor,
    tubelet: [usize; 3],
    weight: &Tensor,
    bias: &Tensor,
) -> Result<Tensor> {
    let patches = tubelets(tape, video, tubelet)?;
    matmul_op(tape, &patches, weight, Some(bias), false)
}
