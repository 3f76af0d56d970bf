//! Launchers for `shaders/tubelets.wgsl` (video (B, T, C, H, W) to flattened tubelets
//! (B, N, D) and back) and the tape op: the im2col half of a 3-D patch embedding, whose
//! other half is a matmul.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, GpuBuffer, GpuError, Groups, Kernel};
use crate::tensor::{Result, Shape, Tape, Tensor, TensorError};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    b: u32,
    t: u32,
    c: u32,
    h: u32,
    w: u32,
    tt: u32,
    th: u32,
    tw: u32,
}

/// Record `tubelets` (video -> patches) or, with `inverse`, `untubelets` (patches -> video).
/// `video` is [B, T, C, H, W]; `tubelet` is (tt, th, tw) and must divide (T, H, W).
pub fn launch(
    batch: &mut Batch,
    src: &GpuBuffer,
    dst: &GpuBuffer,
    video: [usize; 5],
    tubelet: [usize; 3],
    inverse: bool,
) -> std::result::Result<(), GpuError> {
    let [b, t, c, h, w] = video.map(|v| v as u32);
    let [tt, th, tw] = tubelet.map(|v| v as u32);
    let n = video.iter().product::<usize>() as u64;
    let entry = if inverse { "untubelets" } else { "tubelets" };
    batch.dispatch(
        Kernel::new("tubelets", entry),
        &Params {
            b,
            t,
            c,
            h,
            w,
            tt,
            th,
            tw,
        },
        &[src, dst],
        Groups::Linear(n.div_ceil(64)),
    )
}

/// Flatten `video` [B, T, C, H, W] into tubelets [B, N, D]: N = (T/tt)(H/th)(W/tw) tokens in
/// (time, row, column) order, D = C·tt·th·tw values in (channel, t, y, x) order.
pub fn tubelets(tape: &Tape, video: &Tensor, tubelet: [usize; 3]) -> Result<Tensor> {
    video.expect_f32("tubelets")?;
    let bad = |why| TensorError::Shape {
        op: "tubelets",
        a: video.shape().to_string(),
        b: format!("tubelet {tubelet:?}"),
        why,
    };
    let Ok(dims) = <[usize; 5]>::try_from(video.shape().dims()) else {
        return Err(bad("the video must be (B, T, C, H, W)"));
    };
    let [b, t, c, h, w] = dims;
    let [tt, th, tw] = tubelet;
    if tt == 0 || th == 0 || tw == 0 || t % tt != 0 || h % th != 0 || w % tw != 0 {
        return Err(bad("the tubelet must divide (T, H, W)"));
    }
    let tokens = (t / tt) * (h / th) * (w / tw);
    let n = video.numel();
    let out = super::forward(tape.gpu(), n, "tubelets", |bt, o| {
        launch(bt, video.buffer(), o, dims, tubelet, false)
    })?;
    Ok(tape.record(
        "tubelets",
        out,
        Shape(vec![b, tokens, c * tt * th * tw]),
        &[video],
        move |bt, _, dy| {
            let dx = bt
                .gpu()
                .pool
                .storage(4 * n.max(1) as u64, "tubelets grad")?;
            launch(bt, dy, &dx, dims, tubelet, true)?;
            Ok(vec![Some(dx)])
        },
    ))
}
