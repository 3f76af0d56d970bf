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
    pub m: [f32; 4],
    pub t: [f32; 2],
    pub sprite: u32,
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
    background_ids: HashMap<String, u32>,
}

/// Side of the tiles the compositor's object pass works in.
pub const TILE: u32 = 8;

/// Per batch of clips: `frame_info[b·T + t]` = (background pixel offset, objects, 0, 0),
/// `instances[(b·T + t)·SLOTS + k]`, and the work list of the compositor's object pass.
#[derive(Debug, Clone)]
pub struct FrameTables {
    pub frame_info: Vec<[u32; 4]>,
    pub instances: Vec<Instance>,
    /// (frame, tile x, tile y, bit mask of the objects whose bounding box meets the tile)
    /// for every TILE×TILE tile that any object touches.
    pub tiles: Vec<[u32; 4]>,
}

/// True when tile (tx, ty) cannot see the sprite: its corners, mapped into sprite space,
/// all lie beyond one edge of the sprite's filter footprint. With the bounding box test
/// this is the separating-axis test of two rectangles, so rotated objects claim only the
/// tiles they cross.
fn tile_misses_sprite(ins: &Instance, w: u32, h: u32, tx: u32, ty: u32) -> bool {
    let [a, b, c, d] = ins.m.map(|v| v as f64);
    let (x0, y0) = ((tx * TILE) as f64, (ty * TILE) as f64);
    let corners = [
        (x0, y0),
        (x0 + TILE as f64, y0),
        (x0, y0 + TILE as f64),
        (x0 + TILE as f64, y0 + TILE as f64),
    ];
    let uv: Vec<(f64, f64)> = corners
        .iter()
        .map(|&(x, y)| {
            (
                a * x + b * y + ins.t[0] as f64,
                c * x + d * y + ins.t[1] as f64,
            )
        })
        .collect();
    // One texel of filter border plus one of slack for f32 rounding on the GPU.
    let (lo, hi_u, hi_v) = (-1.5, w as f64 + 1.5, h as f64 + 1.5);
    uv.iter().all(|p| p.0 < lo)
        || uv.iter().all(|p| p.0 > hi_u)
        || uv.iter().all(|p| p.1 < lo)
        || uv.iter().all(|p| p.1 > hi_v)
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
        }
        let mut bgs = Vec::new();
        let mut background_frames = Vec::new();
        let mut background_ids = HashMap::new();
        let frame_px = (backgrounds.height * backgrounds.width) as usize;
        for (i, v) in backgrounds.videos.iter().enumerate() {
            background_frames.push(((bgs.len() / frame_px) as u32, v.frames.len() as u32));
            for f in &v.frames {
                bgs.extend(pack(f));
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

    /// The tiles of frame `f` whose pixel centres some object's bounding box may cover,
    /// with the mask of those objects, in row-major tile order.
    pub fn touched_tiles(&self, f: u32, objects: &[Instance]) -> Vec<[u32; 4]> {
        let (tw, th) = (self.width.div_ceil(TILE), self.height.div_ceil(TILE));
        let mut mask = vec![0u32; (tw * th) as usize];
        for (k, ins) in objects.iter().enumerate().take(SLOTS) {
            let [x0, y0, x1, y1] = ins.bbox;
            if x1 < 0.0 || y1 < 0.0 || x0 >= self.width as f32 || y0 >= self.height as f32 {
                continue;
            }
            let tile = |v: f32, n: u32| ((v.max(0.0) / TILE as f32) as u32).min(n - 1);
            let [_, sw, sh, _] = self.sprite_info[ins.sprite as usize];
            for ty in tile(y0, th)..=tile(y1, th) {
                for tx in tile(x0, tw)..=tile(x1, tw) {
                    if !tile_misses_sprite(ins, sw, sh, tx, ty) {
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
