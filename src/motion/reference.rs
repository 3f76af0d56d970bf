//! The CPU reference compositor: the same blend as `shaders/composite.wgsl`, in plain
//! single-threaded loops with f64 arithmetic. Tests check the GPU against it and the
//! benchmark times it.

use super::atlas::{Atlas, FrameTables, SLOTS};

fn unpack(w: u32) -> [f64; 4] {
    w.to_le_bytes().map(|b| b as f64 / 255.0)
}

fn texel(atlas: &Atlas, info: [u32; 4], x: i64, y: i64) -> [f64; 4] {
    if x < 0 || y < 0 || x >= info[1] as i64 || y >= info[2] as i64 {
        return [0.0; 4];
    }
    unpack(atlas.sprites[(info[0] as i64 + (y + 1) * info[3] as i64 + x + 1) as usize])
}

/// Composited colour of pixel (x, y) of frame `f` of the tables, RGBA in [0, 1].
pub fn shade(atlas: &Atlas, tables: &FrameTables, f: usize, x: u32, y: u32) -> [f64; 4] {
    let fi = tables.frame_info[f];
    let mut c = unpack(atlas.backgrounds[(fi[0] + y * atlas.width + x) as usize]);
    let keep = 1.0 - fi[2] as f64 / 65535.0;
    c.iter_mut().take(3).for_each(|ch| *ch *= keep);
    let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
    for k in 0..(fi[1] as usize).min(SLOTS) {
        let ins = tables.instances[f * SLOTS + k];
        let info = atlas.sprite_info[ins.sprite as usize];
        let [a, b, cc, d] = ins.m.map(|v| v as f64);
        let u = a * px + b * py + ins.t[0] as f64;
        let v = cc * px + d * py + ins.t[1] as f64;
        if u <= -0.5 || v <= -0.5 || u >= info[1] as f64 + 0.5 || v >= info[2] as f64 + 0.5 {
            continue;
        }
        let (fx, fy) = (u - 0.5, v - 0.5);
        let (x0, y0) = (fx.floor(), fy.floor());
        let (wx, wy) = (fx - x0, fy - y0);
        let (ix, iy) = (x0 as i64, y0 as i64);
        let (t00, t10) = (texel(atlas, info, ix, iy), texel(atlas, info, ix + 1, iy));
        let (t01, t11) = (
            texel(atlas, info, ix, iy + 1),
            texel(atlas, info, ix + 1, iy + 1),
        );
        let s: [f64; 4] = std::array::from_fn(|ch| {
            let top = t00[ch] + (t10[ch] - t00[ch]) * wx;
            let bottom = t01[ch] + (t11[ch] - t01[ch]) * wx;
            top + (bottom - top) * wy
        });
        for ch in 0..4 {
            c[ch] = s[ch] + (1.0 - s[3]) * c[ch];
        }
    }
    c
}

/// Every frame of the tables as packed RGBA8 words, `[frames][H][W]` (alpha 255).
pub fn composite_rgba8(atlas: &Atlas, tables: &FrameTables) -> Vec<u32> {
    let mut out =
        Vec::with_capacity(tables.frame_info.len() * (atlas.height * atlas.width) as usize);
    for f in 0..tables.frame_info.len() {
        for y in 0..atlas.height {
            for x in 0..atlas.width {
                let c = shade(atlas, tables, f, x, y);
                let b = [0, 1, 2].map(|i| (c[i].clamp(0.0, 1.0) * 255.0).round() as u8);
                out.push(u32::from_le_bytes([b[0], b[1], b[2], 255]));
            }
        }
    }
    out
}

/// Every frame as the model's input: `[frames][3][H][W]`, (rgb − mean) / std.
pub fn composite_normalized(
    atlas: &Atlas,
    tables: &FrameTables,
    mean: [f32; 3],
    std: [f32; 3],
) -> Vec<f32> {
    let plane = (atlas.height * atlas.width) as usize;
    let mut out = vec![0.0f32; tables.frame_info.len() * 3 * plane];
    for f in 0..tables.frame_info.len() {
        for y in 0..atlas.height {
            for x in 0..atlas.width {
                let c = shade(atlas, tables, f, x, y);
                for ch in 0..3 {
                    let i = (f * 3 + ch) * plane + (y * atlas.width + x) as usize;
                    out[i] = ((c[ch] - mean[ch] as f64) / std[ch] as f64) as f32;
                }
            }
        }
    }
    out
}
