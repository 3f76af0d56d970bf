// The compositor: pastes sprites into background frames with per-frame affine motion.
//
// For every pixel (x, y) of frame t of clip b (a batch of B clips, T frames, H×W):
// start from the clip's background frame, then for each object k in z-order (back to
// front) map the pixel centre through that frame's inverse affine transform into sprite
// pixel coordinates, sample the sprite bilinearly (premultiplied alpha, transparent
// outside it) and blend over: out = s + (1 − s.a)·out.
//
// Shapes (all flat storage arrays):
//   sprites     u32[...]        packed premultiplied RGBA8 of every sprite, concatenated
//   sprite_info vec4<u32>[S]    (offset into sprites, width, height, 0)
//   backgrounds u32[...]        packed RGBA8 background frames of H×W, concatenated
//   frame_info  vec4<u32>[B·T]  (offset of this frame's background, objects, 0, 0)
//   instances   Instance[B·T·4] the inverse affine, sprite and pixel bounding box of
//                               object k of frame (b, t)
//   out         u32[B·T·H·W]    packed RGBA8 (entry rgba8), or
//               f32[B·T·3·H·W]  as bits, (rgb − mean) / std, the model's [B, T, 3, H, W]
//                               input (entry normalized)
// Workgroup 8×8 pixels; grid (⌈W/8⌉, ⌈H/8⌉, frames in this dispatch); frame = base + z.

struct Params {
    width: u32,
    height: u32,
    frames: u32,
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
    // Pixel-space bounding box of the pasted sprite (min x, min y, max x, max y).
    bbox: vec4<f32>,
}

const MAX_OBJECTS: u32 = 4u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> sprites: array<u32>;
@group(0) @binding(2) var<storage, read> sprite_info: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> backgrounds: array<u32>;
@group(0) @binding(4) var<storage, read> frame_info: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read> instances: array<Instance>;
@group(0) @binding(6) var<storage, read_write> out: array<u32>;

fn texel(info: vec4<u32>, x: i32, y: i32) -> vec4<f32> {
    if x < 0 || y < 0 || x >= i32(info.y) || y >= i32(info.z) {
        return vec4<f32>(0.0);
    }
    return unpack4x8unorm(sprites[info.x + u32(y) * info.y + u32(x)]);
}

// The object slots of frame f whose bounding box meets the 8×8 tile at `tile` (a bit
// each). Everything here is uniform across the workgroup, so a CPU driver takes the
// branch once per tile instead of once per pixel.
fn tile_mask(f: u32, n: u32, tile: vec2<u32>) -> u32 {
    let lo = vec2<f32>(tile * 8u);
    let hi = lo + vec2<f32>(8.0);
    var mask = 0u;
    for (var k = 0u; k < min(n, MAX_OBJECTS); k++) {
        let b = instances[f * MAX_OBJECTS + k].bbox;
        if b.x < hi.x && b.z > lo.x && b.y < hi.y && b.w > lo.y {
            mask |= 1u << k;
        }
    }
    return mask;
}

// Blend the objects in `mask` of frame f over colour c at pixel (x, y), back to front.
fn paste(c0: vec4<f32>, x: u32, y: u32, f: u32, mask: u32) -> vec4<f32> {
    var c = c0;
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

@compute @workgroup_size(8, 8)
fn rgba8(@builtin(global_invocation_id) gid: vec3<u32>,
         @builtin(workgroup_id) wid: vec3<u32>) {
    // The frame comes from workgroup_id so drivers see it is uniform across the workgroup.
    let f = p.base + wid.z;
    if gid.x >= p.width || gid.y >= p.height || wid.z >= p.frames {
        return;
    }
    let fi = frame_info[f];
    let mask = tile_mask(f, fi.y, wid.xy);
    let bg = backgrounds[fi.x + gid.y * p.width + gid.x];
    let o = (f * p.height + gid.y) * p.width + gid.x;
    if mask == 0u {
        // No object near this tile: the background word is already the answer.
        out[o] = bg | 0xff000000u;
        return;
    }
    let c = paste(unpack4x8unorm(bg), gid.x, gid.y, f, mask);
    out[o] = pack4x8unorm(vec4<f32>(c.rgb, 1.0));
}

@compute @workgroup_size(8, 8)
fn normalized(@builtin(global_invocation_id) gid: vec3<u32>,
              @builtin(workgroup_id) wid: vec3<u32>) {
    let f = p.base + wid.z;
    if gid.x >= p.width || gid.y >= p.height || wid.z >= p.frames {
        return;
    }
    let fi = frame_info[f];
    let mask = tile_mask(f, fi.y, wid.xy);
    var c = unpack4x8unorm(backgrounds[fi.x + gid.y * p.width + gid.x]);
    if mask != 0u {
        c = paste(c, gid.x, gid.y, f, mask);
    }
    c = (c - p.mean) * p.inv_std;
    let plane = p.height * p.width;
    let i = f * 3u * plane + gid.y * p.width + gid.x;
    out[i] = bitcast<u32>(c.r);
    out[i + plane] = bitcast<u32>(c.g);
    out[i + 2u * plane] = bitcast<u32>(c.b);
}
