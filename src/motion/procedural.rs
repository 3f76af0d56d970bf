//! Built-in background videos that need no files: textures, gradients and noise scenes,
//! some static and some with a slow camera pan or zoom. Deterministic (no seed needed).

use super::params::{BackgroundRef, BackgroundVideo};

/// How the camera moves over a built-in scene.
#[derive(Debug, Clone, Copy)]
enum Camera {
    Static,
    /// Pan by (dx, dy) of the frame width per frame.
    Pan(f32, f32),
    /// Zoom in by this factor per frame.
    Zoom(f32),
}

/// (id, caption name, camera): the scenes and the short phrase a web caption would use.
/// How many built-in background scenes there are.
pub const SCENE_COUNT: usize = SCENES.len();

const SCENES: [(&str, &str, Camera); 10] = [
    ("sand", "sandy texture", Camera::Static),
    ("grass", "grassy field", Camera::Pan(0.006, 0.0)),
    ("sky", "blue sky gradient", Camera::Static),
    ("sunset", "sunset sky", Camera::Pan(0.0, 0.003)),
    ("clouds", "cloudy sky", Camera::Pan(0.008, 0.0)),
    ("water", "rippling water", Camera::Pan(0.0, 0.005)),
    ("bricks", "brick wall", Camera::Static),
    ("wood", "wooden floor", Camera::Zoom(1.006)),
    ("tiles", "tiled floor", Camera::Zoom(1.008)),
    ("night", "starry night sky", Camera::Static),
];

/// Every built-in background at `height`×`width`; moving scenes get `frames` frames, static
/// ones a single frame (looped).
pub fn builtin_backgrounds(height: u32, width: u32, frames: u32) -> Vec<BackgroundVideo> {
    SCENES
        .iter()
        .map(|&(id, name, camera)| {
            let n = if matches!(camera, Camera::Static) {
                1
            } else {
                frames.max(1)
            };
            let frames = (0..n)
                .map(|t| render(id, camera, t, height, width))
                .collect();
            BackgroundVideo {
                background: BackgroundRef {
                    id: format!("builtin:{id}"),
                    name: name.to_string(),
                },
                frames,
            }
        })
        .collect()
}

fn render(id: &str, camera: Camera, t: u32, height: u32, width: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity((height * width * 4) as usize);
    let w = width as f32;
    for y in 0..height {
        for x in 0..width {
            // Scene coordinates: width-normalised, then moved by the camera.
            let (mut u, mut v) = ((x as f32 + 0.5) / w, (y as f32 + 0.5) / w);
            match camera {
                Camera::Static => {}
                Camera::Pan(dx, dy) => {
                    u += dx * t as f32;
                    v += dy * t as f32;
                }
                Camera::Zoom(z) => {
                    let k = z.powi(t as i32);
                    let (cu, cv) = (0.5, 0.5 * height as f32 / w);
                    u = cu + (u - cu) / k;
                    v = cv + (v - cv) / k;
                }
            }
            let rgb = shade(id, u, v, (y as f32 + 0.5) / height as f32);
            out.extend(rgb.map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8));
            out.push(255);
        }
    }
    out
}

/// Colour of scene `id` at scene point (u, v); `fy` is the screen height fraction (gradients
/// follow the screen, not the scene).
fn shade(id: &str, u: f32, v: f32, fy: f32) -> [f32; 3] {
    let mix = |a: [f32; 3], b: [f32; 3], k: f32| {
        let k = k.clamp(0.0, 1.0);
        [0, 1, 2].map(|i| a[i] + (b[i] - a[i]) * k)
    };
    match id {
        "sand" => {
            let n = fbm(u * 24.0, v * 24.0, 4);
            mix([0.76, 0.66, 0.45], [0.93, 0.84, 0.62], n)
        }
        "grass" => {
            let n = fbm(u * 30.0, v * 8.0, 4);
            mix([0.15, 0.42, 0.12], [0.38, 0.68, 0.22], n)
        }
        "sky" => mix([0.25, 0.5, 0.9], [0.75, 0.88, 1.0], fy),
        "sunset" => {
            let base = mix([0.35, 0.2, 0.55], [1.0, 0.55, 0.2], v * 1.4);
            mix(base, [1.0, 0.85, 0.4], (v - 0.55) * 3.0)
        }
        "clouds" => {
            let n = fbm(u * 5.0, v * 5.0, 5);
            mix([0.35, 0.6, 0.92], [0.97, 0.97, 0.99], (n - 0.35) * 2.0)
        }
        "water" => {
            let r = (u * 40.0 + 3.0 * fbm(u * 6.0, v * 6.0, 3)).sin() * 0.5 + 0.5;
            mix(
                [0.05, 0.3, 0.5],
                [0.3, 0.6, 0.75],
                r * 0.6 + 0.4 * fbm(u * 12.0, v * 12.0, 2),
            )
        }
        "bricks" => {
            let (bh, bw) = (0.08, 0.18);
            let row = (v / bh).floor();
            let shift = if row as i64 % 2 == 0 { 0.0 } else { bw / 2.0 };
            let (fu, fv) = (((u + shift) / bw).fract(), (v / bh).fract());
            if fu < 0.06 || fv < 0.1 {
                [0.8, 0.78, 0.72]
            } else {
                mix(
                    [0.55, 0.18, 0.12],
                    [0.72, 0.3, 0.2],
                    fbm(u * 20.0, v * 20.0, 3),
                )
            }
        }
        "wood" => {
            let g = (v * 60.0 + 4.0 * fbm(u * 3.0, v * 10.0, 3)).sin() * 0.5 + 0.5;
            let plank = ((u / 0.25).floor() * 0.37).fract();
            mix([0.45, 0.27, 0.12], [0.7, 0.48, 0.26], g * 0.7 + plank * 0.3)
        }
        "tiles" => {
            let (fu, fv) = ((u / 0.125).fract(), (v / 0.125).fract());
            let odd = ((u / 0.125).floor() + (v / 0.125).floor()) as i64 % 2 == 0;
            if fu < 0.05 || fv < 0.05 {
                [0.3, 0.3, 0.3]
            } else if odd {
                [0.85, 0.85, 0.82]
            } else {
                [0.55, 0.62, 0.68]
            }
        }
        _ => {
            // Night: dark gradient with sparse stars from a hash lattice.
            let base = mix([0.02, 0.02, 0.1], [0.1, 0.1, 0.25], fy);
            let (cx, cy) = ((u * 90.0).floor(), (v * 90.0).floor());
            if hash(cx, cy) > 0.985 {
                [0.95, 0.95, 0.85]
            } else {
                base
            }
        }
    }
}

/// A hash of a lattice point in [0, 1).
fn hash(x: f32, y: f32) -> f32 {
    let h =
        (x as i32 as u32).wrapping_mul(0x8da6_b343) ^ (y as i32 as u32).wrapping_mul(0xd816_3841);
    let h = (h ^ (h >> 13)).wrapping_mul(0x85eb_ca6b);
    let h = h ^ (h >> 16);
    (h & 0xff_ffff) as f32 / 16_777_216.0
}

/// Smooth value noise in [0, 1].
fn noise(x: f32, y: f32) -> f32 {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let s = |t: f32| t * t * (3.0 - 2.0 * t);
    let (sx, sy) = (s(fx), s(fy));
    let a = hash(x0, y0) + (hash(x0 + 1.0, y0) - hash(x0, y0)) * sx;
    let b = hash(x0, y0 + 1.0) + (hash(x0 + 1.0, y0 + 1.0) - hash(x0, y0 + 1.0)) * sx;
    a + (b - a) * sy
}

/// Fractal sum of `octaves` noise layers, in [0, 1].
fn fbm(x: f32, y: f32, octaves: u32) -> f32 {
    let (mut sum, mut amp, mut f, mut norm) = (0.0, 0.5, 1.0, 0.0);
    for _ in 0..octaves {
        sum += amp * noise(x * f, y * f);
        norm += amp;
        amp *= 0.5;
        f *= 2.0;
    }
    sum / norm
}
