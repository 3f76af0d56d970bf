// The compositor: pastes sprites into background frames with per-frame affine motion.
//
// For every pixel (x, y) of frame t of clip b (a batch of B clips, T frames, H×W):
// start from the clip's background frame, then for each object k in z-order (back to
// front) map the pixel centre through that frame's inverse affine transform into sprite
// pixel coordinates, sample the sprite bilinearly (premultiplied alpha, transparent
// outside it) and blend over: out = s + (1 − s.a)·out.
//
// Two passes, so the common case costs a copy. The background pass writes every pixel of
// every frame from its background (RGBA8 output: buffer copies by the launcher; tensor
// output: `background_normalized`, 1-D, 64 pixels a workgroup). `objects_*` then recompute
// only the 8×8 tiles where an object may be visible, listed by the host (one workgroup a
// tile), from the background up, so no pixel is rounded twice.
//
// Shapes (all flat storage arrays; frames f = b·T + t run clip after clip):
//   backgrounds u32[...]        packed RGBA8 background frames of H×W, concatenated
//   frame_info  vec4<u32>[B·T]  (pixel offset of this frame's background, objects,
//                               background dimming in 1/65535 (0: as is), 0)
//   out         u32[B·T·H·W]    packed RGBA8 (entries *_rgba8), or
//               f32[B·T·3·H·W]  as bits, (rgb − mean) / std, the model's [B, T, 3, H, W]
//                               input (entries *_normalized)
//   sprites     u32[...]        packed premultiplied RGBA8 of every sprite with a one-texel
//                               transparent border, concatenated
//   sprite_info vec4<u32>[S]    (offset into sprites, width, height, stride = width + 2)
//   instances   Instance[B·T·4] inverse affine, sprite and pixel bounding box of object k
//   tiles       vec4<u32>[N]    (frame, tile x, tile y, bit mask of the objects touching it)

struct Params {
    width: u32,
    height: u32,
    // Frames (background pass) or tiles (object pass) in this dispatch.
    count: u32,
    base: u32,
    mean: vec4<f32>,
    inv_std: vec4<f32>,
}

struct Instance {
    // (a, b, c, d): u = a·x + b·y + tx, v = c·x + d·y + ty.
    m: vec4<f32>,
    t: vec2<f32>,
    sprite: u32,
    _pad: u32,
    // Pixel-space bounding box (min x, min y, max x, max y); the host builds `tiles` from it.
    bbox: vec4<f32>,
}

const MAX_OBJECTS: u32 = 4u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> backgrounds: array<u32>;
@group(0) @binding(2) var<storage, read> frame_info: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
@group(0) @binding(4) var<storage, read> sprites: array<u32>;
@group(0) @binding(5) var<storage, read> sprite_info: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read> instances: array<Instance>;
@group(0) @binding(7) var<storage, read> tiles: array<vec4<u32>>;

fn linear_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.y * nwg.x + wid.x;
}

// ---------------------------------------------------------------- the background pass

fn write_normalized(f: u32, px: u32, c: vec4<f32>) {
    let plane = p.width * p.height;
    let n = (c - p.mean) * p.inv_std;
    let i = f * 3u * plane + px;
    out[i] = bitcast<u32>(n.r);
    out[i + plane] = bitcast<u32>(n.g);
    out[i + 2u * plane] = bitcast<u32>(n.b);
}

@compute @workgroup_size(64)
fn background_normalized(@builtin(workgroup_id) wid: vec3<u32>,
                         @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_id) lid: vec3<u32>) {
    let plane = p.width * p.height;
    let i = linear_index(wid, nwg) * 64u + lid.x;
    if i >= p.count * plane {
        return;
    }
    let f = p.base + i / plane;
    let px = i % plane;
    write_normalized(f, px, background(f, px));
}

// Background pixel px of frame f, dimmed towards black by frame_info.z / 65535 (the
// pre-training curriculum fades the background in; 0 leaves it as is).
fn background(f: u32, px: u32) -> vec4<f32> {
    let c = unpack4x8unorm(backgrounds[frame_info[f].x + px]);
    let keep = 1.0 - f32(frame_info[f].z) / 65535.0;
    return vec4<f32>(c.rgb * keep, c.a);
}

// ---------------------------------------------------------------- the object pass

// Texel (x, y), x in [−1, width], y in [−1, height]: the atlas gives every sprite a
// one-texel transparent border, so edge taps need no bounds test.
fn texel(info: vec4<u32>, x: i32, y: i32) -> vec4<f32> {
    return unpack4x8unorm(sprites[info.x + u32(y + 1) * info.w + u32(x + 1)]);
}

// The composited colour of pixel (x, y) of frame f: its background with the objects in
// `mask` blended over it, back to front.
fn shade(f: u32, x: u32, y: u32, mask: u32) -> vec4<f32> {
    var c = background(f, y * p.width + x);
    let px = f32(x) + 0.5;
    let py = f32(y) + 0.5;
    for (var k = 0u; k < MAX_OBJECTS; k++) {
        if (mask & (1u << k)) == 0u {
            continue;
        }
        let ins = instances[f * MAX_OBJECTS + k];
        let info = sprite_info[ins.sprite];
        let u = ins.m.x * px + ins.m.y * py + ins.t.x;
        let v = ins.m.z * px + ins.m.w * py + ins.t.y;
        // Outside the sprite and its one-texel filter border: nothing to blend.
        if u <= -0.5 || v <= -0.5 || u >= f32(info.y) + 0.5 || v >= f32(info.z) + 0.5 {
            continue;
        }
        let fx = u - 0.5;
        let fy = v - 0.5;
        let x0 = floor(fx);
        let y0 = floor(fy);
        let wx = fx - x0;
        let wy = fy - y0;
        let ix = i32(x0);
        let iy = i32(y0);
        let top = mix(texel(info, ix, iy), texel(info, ix + 1, iy), wx);
        let bottom = mix(texel(info, ix, iy + 1), texel(info, ix + 1, iy + 1), wx);
        let s = mix(top, bottom, wy);
        c = s + (1.0 - s.a) * c;
    }
    return c;
}

// The tile entry, frame and pixel of this invocation; `ok` is false past the edges.
struct TilePixel {
    f: u32,
    x: u32,
    y: u32,
    mask: u32,
    ok: bool,
}

fn tile_pixel(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> TilePixel {
    var t: TilePixel;
    let w = linear_index(wid, nwg);
    t.ok = w < p.count;
    if !t.ok {
        return t;
    }
    let e = tiles[p.base + w];
    t.f = e.x;
    t.x = e.y * 8u + lid.x % 8u;
    t.y = e.z * 8u + lid.x / 8u;
    t.mask = e.w;
    t.ok = t.x < p.width && t.y < p.height;
    return t;
}

@compute @workgroup_size(64)
fn objects_rgba8(@builtin(workgroup_id) wid: vec3<u32>,
                 @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_id) lid: vec3<u32>) {
    let t = tile_pixel(wid, nwg, lid);
    if !t.ok {
        return;
    }
    let c = shade(t.f, t.x, t.y, t.mask);
    out[(t.f * p.height + t.y) * p.width + t.x] = pack4x8unorm(vec4<f32>(c.rgb, 1.0));
}

@compute @workgroup_size(64)
fn objects_normalized(@builtin(workgroup_id) wid: vec3<u32>,
                      @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_id) lid: vec3<u32>) {
    let t = tile_pixel(wid, nwg, lid);
    if !t.ok {
        return;
    }
    write_normalized(t.f, t.y * p.width + t.x, shade(t.f, t.x, t.y, t.mask));
}
