//! The flat tables the compositor reads, shared by the GPU launcher and the CPU reference:
//! every sprite and background frame packed once (the atlas), and per batch of clips the
//! background offset and object transforms of every frame.

use std::collections::HashMap;

use anyhow::{Context, bail};
use bytemuck::{Pod, Zeroable};

use super::backgrounds::BackgroundLibrary;
use super::params::ClipParams;
use super::path::{InverseAffine, inverse_affine, object_state};
use super::sprites::ObjectLibrary;

/// Object slots per frame in the instance table (the most a clip may hold).
pub const SLOTS: usize = 4;

/// One object in one frame: its inverse affine (`m` = a, b, c, d; `t` = tx, ty) and sprite.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, Pod, Zeroable, PartialEq)]
pub struct Instance {
    /// (a, b, c, d): u = a·x + b·y + tx, v = c·x + d·y + ty, pixels to sprite texels.
    pub m: [f32; 4],
    /// (tx, ty).
    pub t: [f32; 2],
    /// Index into the atlas's sprite table.
    pub sprite: u32,
    /// Keeps the WGSL struct layout (std430: `bbox` at byte 32).
    pub _pad: u32,
    /// Pixel-space bounding box of the pasted sprite: (min x, min y, max x, max y).
    pub bbox: [f32; 4],
}

impl Instance {
    /// The instance pasting sprite `sprite` (`w`×`h`) through inverse affine `a`, with the
    /// bounding box of its filter footprint (one texel border, one pixel of slack).
    pub fn new(a: &InverseAffine, sprite: u32, w: u32, h: u32) -> Self {
        let [ia, ib, ic, id] = [a.a, a.b, a.c, a.d].map(|v| v as f64);
        let det = ia * id - ib * ic;
        let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
        for (u, v) in [
            (-0.5, -0.5),
            (w as f64 + 0.5, -0.5),
            (-0.5, h as f64 + 0.5),
            (w as f64 + 0.5, h as f64 + 0.5),
        ] {
            let (du, dv) = (u - a.tx as f64, v - a.ty as f64);
            let p = [(id * du - ib * dv) / det, (-ic * du + ia * dv) / det];
            for i in 0..2 {
                lo[i] = lo[i].min(p[i]);
                hi[i] = hi[i].max(p[i]);
            }
        }
        Self {
            m: [a.a, a.b, a.c, a.d],
            t: [a.tx, a.ty],
            sprite,
            _pad: 0,
            bbox: [lo[0] - 1.0, lo[1] - 1.0, hi[0] + 1.0, hi[1] + 1.0].map(|v| v as f32),
        }
    }
}

/// Every sprite and background frame of two libraries, packed as RGBA8 words (red in the
/// low byte), at one clip size.
#[derive(Debug, Clone)]
pub struct Atlas {
    /// Clip height and width in pixels (the background frames' size).
    pub height: u32,
    pub width: u32,
    /// Premultiplied sprite texels, all sprites concatenated, each with a one-texel
    /// transparent border.
    pub sprites: Vec<u32>,
    /// Per sprite: (offset of its bordered block in `sprites`, width, height, row stride =
    /// width + 2); texel (x, y) is at offset + (y + 1)·stride + x + 1.
    pub sprite_info: Vec<[u32; 4]>,
    /// Background frames of height × width, all backgrounds concatenated.
    pub backgrounds: Vec<u32>,
    /// Per background: (first frame, frame count).
    pub background_frames: Vec<(u32, u32)>,
    sprite_ids: HashMap<String, u32>,
    /// Per sprite, its [`coverage_table`]: lets the object pass skip tiles that see only
    /// transparent texels (the corners of a circle, the gaps of a star).
    coverage: Vec<Vec<u32>>,
    background_ids: HashMap<String, u32>,
}

/// Side of the tiles the compositor's object pass works in.
pub const TILE: u32 = 8;

/// Per batch of clips: `frame_info[b·T + t]` = (background pixel offset, objects, dimming, 0),
/// `instances[(b·T + t)·SLOTS + k]`, and the work list of the compositor's object pass.
#[derive(Debug, Clone)]
pub struct FrameTables {
    /// Per frame: (background pixel offset, objects, background dimming in 1/65535, 0).
    pub frame_info: Vec<[u32; 4]>,
    /// Per frame, SLOTS object instances (unused ones zero).
    pub instances: Vec<Instance>,
    /// (frame, tile x, tile y, bit mask of the objects that may be visible in the tile) for
    /// every TILE×TILE tile where some object may be visible.
    pub tiles: Vec<[u32; 4]>,
}

/// Summed-area table of "this texel is not fully transparent" over a `w`×`h` sprite,
/// (w + 1)·(h + 1) entries: counts of visible texels in any rectangle in O(1).
fn coverage_table(rgba: &[u8], w: usize, h: usize) -> Vec<u32> {
    let mut t = vec![0u32; (w + 1) * (h + 1)];
    for y in 0..h {
        for x in 0..w {
            let a = (rgba[(y * w + x) * 4 + 3] > 0) as u32;
            t[(y + 1) * (w + 1) + x + 1] =
                a + t[y * (w + 1) + x + 1] + t[(y + 1) * (w + 1) + x] - t[y * (w + 1) + x];
        }
    }
    t
}

fn pack(rgba: &[u8]) -> impl Iterator<Item = u32> + '_ {
    rgba.chunks_exact(4)
        .map(|p| u32::from_le_bytes([p[0], p[1], p[2], p[3]]))
}

impl Atlas {
    /// Pack both libraries; the backgrounds fix the clip size.
    pub fn new(objects: &ObjectLibrary, backgrounds: &BackgroundLibrary) -> Self {
        let mut sprites = Vec::new();
        let mut sprite_info = Vec::new();
        let mut sprite_ids = HashMap::new();
        let mut coverage = Vec::new();
        for (i, (obj, s)) in objects.objects.iter().enumerate() {
            // A one-texel transparent border: bilinear taps at the edges need no bounds test.
            let stride = s.width + 2;
            sprite_info.push([sprites.len() as u32, s.width, s.height, stride]);
            sprites.extend(std::iter::repeat_n(0, stride as usize));
            for row in s.rgba.chunks_exact(s.width as usize * 4) {
                sprites.push(0);
                sprites.extend(pack(row));
                sprites.push(0);
            }
            sprites.extend(std::iter::repeat_n(0, stride as usize));
            sprite_ids.insert(obj.id.clone(), i as u32);
            coverage.push(coverage_table(&s.rgba, s.width as usize, s.height as usize));
        }
        let mut bgs = Vec::new();
        let mut background_frames = Vec::new();
        let mut background_ids = HashMap::new();
        let frame_px = (backgrounds.height * backgrounds.width) as usize;
        for (i, v) in backgrounds.videos.iter().enumerate() {
            background_frames.push(((bgs.len() / frame_px) as u32, v.frames.len() as u32));
            for f in &v.frames {
                // Opaque whatever the source said: RGBA8 output copies these words as they are.
                bgs.extend(pack(f).map(|w| w | 0xff00_0000));
            }
            background_ids.insert(v.background.id.clone(), i as u32);
        }
        Self {
            height: backgrounds.height,
            width: backgrounds.width,
            sprites,
            sprite_info,
            backgrounds: bgs,
            background_frames,
            sprite_ids,
            coverage,
            background_ids,
        }
    }

    /// The per-frame tables of `clips`; an error names a clip whose size, object or
    /// background is not in this atlas.
    pub fn tables(&self, clips: &[ClipParams]) -> anyhow::Result<FrameTables> {
        let mut frame_info = Vec::new();
        let mut instances = Vec::new();
        let mut tiles = Vec::new();
        let frame_px = self.height * self.width;
        for clip in clips {
            if (clip.height, clip.width) != (self.height, self.width) {
                bail!(
                    "clip {} is {}x{} but the backgrounds were loaded at {}x{}",
                    clip.id,
                    clip.width,
                    clip.height,
                    self.width,
                    self.height
                );
            }
            if clip.objects.len() > SLOTS {
                bail!(
                    "clip {} has {} objects; at most {SLOTS}",
                    clip.id,
                    clip.objects.len()
                );
            }
            let bg = *self
                .background_ids
                .get(&clip.background.id)
                .with_context(|| {
                    format!(
                        "clip {}: unknown background '{}'",
                        clip.id, clip.background.id
                    )
                })?;
            let (first, count) = self.background_frames[bg as usize];
            let sprites = clip
                .objects
                .iter()
                .map(|m| {
                    self.sprite_ids.get(&m.object.id).copied().with_context(|| {
                        format!("clip {}: unknown object '{}'", clip.id, m.object.id)
                    })
                })
                .collect::<anyhow::Result<Vec<u32>>>()?;
            for t in 0..clip.frames {
                // Sources shorter than the clip loop.
                let frame = first + t % count;
                frame_info.push([frame * frame_px, clip.objects.len() as u32, 0, 0]);
                for (m, &s) in clip.objects.iter().zip(&sprites) {
                    let [_, sw, sh, _] = self.sprite_info[s as usize];
                    let a =
                        inverse_affine(&object_state(m, t), m.size_px as f64, sw, sh, self.width);
                    instances.push(Instance::new(&a, s, sw, sh));
                }
                let f = frame_info.len() - 1;
                tiles.extend(self.touched_tiles(f as u32, &instances[f * SLOTS..]));
                // Unused slots stay zero: the shader only reads the first `objects` of them.
                instances.resize(frame_info.len() * SLOTS, Instance::zeroed());
            }
        }
        Ok(FrameTables {
            frame_info,
            instances,
            tiles,
        })
    }

    /// True when some pixel of tile (tx, ty) may blend a visible texel of `ins`'s sprite:
    /// the tile's corners, mapped into sprite space, bound every point its pixels sample;
    /// their bilinear taps (one texel more on each side, for the GPU's f32 rounding) must
    /// hold a texel that is not fully transparent. Conservative, so never loses a pixel.
    fn tile_sees_sprite(&self, ins: &Instance, tx: u32, ty: u32) -> bool {
        let [_, w, h, _] = self.sprite_info[ins.sprite as usize];
        let [a, b, c, d] = ins.m.map(|v| v as f64);
        let (x0, y0, t) = ((tx * TILE) as f64, (ty * TILE) as f64, TILE as f64);
        let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
        for (x, y) in [(x0, y0), (x0 + t, y0), (x0, y0 + t), (x0 + t, y0 + t)] {
            let uv = [
                a * x + b * y + ins.t[0] as f64,
                c * x + d * y + ins.t[1] as f64,
            ];
            for i in 0..2 {
                lo[i] = lo[i].min(uv[i]);
                hi[i] = hi[i].max(uv[i]);
            }
        }
        let range = |lo: f64, hi: f64, n: u32| {
            let first = ((lo - 0.5).floor() as i64 - 1).max(0);
            let last = ((hi - 0.5).floor() as i64 + 2).min(n as i64 - 1);
            (first <= last).then_some((first as usize, last as usize))
        };
        let (Some((u0, u1)), Some((v0, v1))) = (range(lo[0], hi[0], w), range(lo[1], hi[1], h))
        else {
            return false;
        };
        let sat = &self.coverage[ins.sprite as usize];
        let stride = w as usize + 1;
        let at = |x: usize, y: usize| sat[y * stride + x] as i64;
        at(u1 + 1, v1 + 1) - at(u0, v1 + 1) - at(u1 + 1, v0) + at(u0, v0) > 0
    }

    /// The tiles of frame `f` where some of `objects` may be visible (inside its bounding
    /// box and seeing a visible texel), with the mask of those objects, row-major.
    pub fn touched_tiles(&self, f: u32, objects: &[Instance]) -> Vec<[u32; 4]> {
        let (tw, th) = (self.width.div_ceil(TILE), self.height.div_ceil(TILE));
        let mut mask = vec![0u32; (tw * th) as usize];
        for (k, ins) in objects.iter().enumerate().take(SLOTS) {
            let [x0, y0, x1, y1] = ins.bbox;
            if x1 < 0.0 || y1 < 0.0 || x0 >= self.width as f32 || y0 >= self.height as f32 {
                continue;
            }
            let tile = |v: f32, n: u32| ((v.max(0.0) / TILE as f32) as u32).min(n - 1);
            for ty in tile(y0, th)..=tile(y1, th) {
                for tx in tile(x0, tw)..=tile(x1, tw) {
                    if self.tile_sees_sprite(ins, tx, ty) {
                        mask[(ty * tw + tx) as usize] |= 1 << k;
                    }
                }
            }
        }
        mask.iter()
            .enumerate()
            .filter(|(_, m)| **m != 0)
            .map(|(i, &m)| [f, i as u32 % tw, i as u32 / tw, m])
            .collect()
    }
}
