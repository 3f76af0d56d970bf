//! The built-in objects: procedural, anti-aliased RGBA shapes in named colours, so that a
//! dataset can be made with no files at all.

use super::params::{Category, ObjectRef, Sprite};

/// The built-in shapes, by name.
pub const SHAPES: [&str; 8] = [
    "circle", "square", "triangle", "star", "ring", "cross", "heart", "arrow",
];

/// The built-in colours: (name, straight RGB).
pub const COLOURS: [(&str, [u8; 3]); 8] = [
    ("red", [220, 30, 35]),
    ("green", [40, 170, 60]),
    ("blue", [35, 80, 225]),
    ("yellow", [245, 215, 30]),
    ("orange", [245, 130, 20]),
    ("purple", [140, 50, 180]),
    ("white", [245, 245, 245]),
    ("black", [20, 20, 20]),
];

/// Side of a built-in sprite in pixels: large enough that the largest object of a 224² clip
/// (112 px) is only mildly upsampled.
pub const SPRITE_PX: u32 = 96;

/// Every built-in object: each shape in each colour ("a red star").
pub fn builtin_objects() -> Vec<(ObjectRef, Sprite)> {
    let masks: Vec<Vec<f32>> = SHAPES.iter().map(|s| coverage(s, SPRITE_PX)).collect();
    let mut out = Vec::new();
    for (shape, mask) in SHAPES.iter().zip(&masks) {
        for (colour, rgb) in COLOURS {
            let obj = ObjectRef {
                id: format!("builtin:{colour}_{shape}"),
                name: format!("{colour} {shape}"),
                category: Category::Shape,
            };
            out.push((obj, tint(mask, rgb, SPRITE_PX)));
        }
    }
    out
}

fn tint(mask: &[f32], rgb: [u8; 3], side: u32) -> Sprite {
    let mut rgba = Vec::with_capacity(mask.len() * 4);
    for &a in mask {
        // Premultiplied: colour scaled by coverage, so bilinear sampling has no dark fringe.
        for c in rgb {
            rgba.push((c as f32 * a).round() as u8);
        }
        rgba.push((a * 255.0).round() as u8);
    }
    Sprite {
        width: side,
        height: side,
        rgba,
    }
}

/// Anti-aliased coverage of `shape` on a `side`² grid: 4×4 supersamples a pixel.
fn coverage(shape: &str, side: u32) -> Vec<f32> {
    const SS: u32 = 4;
    let mut out = Vec::with_capacity((side * side) as usize);
    for py in 0..side {
        for px in 0..side {
            let mut hits = 0;
            for sy in 0..SS {
                for sx in 0..SS {
                    // Shape space: [-1, 1]², y down.
                    let x = ((px * SS + sx) as f32 + 0.5) / (side * SS) as f32 * 2.0 - 1.0;
                    let y = ((py * SS + sy) as f32 + 0.5) / (side * SS) as f32 * 2.0 - 1.0;
                    hits += inside(shape, x, y) as u32;
                }
            }
            out.push(hits as f32 / (SS * SS) as f32);
        }
    }
    out
}

fn inside(shape: &str, x: f32, y: f32) -> bool {
    let r = (x * x + y * y).sqrt();
    match shape {
        "circle" => r < 0.92,
        "square" => x.abs() < 0.8 && y.abs() < 0.8,
        "triangle" => in_polygon(&[(0.0, -0.9), (0.92, 0.75), (-0.92, 0.75)], x, y),
        "star" => in_polygon(&star_points(), x, y),
        "ring" => (0.55..0.92).contains(&r),
        "cross" => (x.abs() < 0.28 && y.abs() < 0.9) || (y.abs() < 0.28 && x.abs() < 0.9),
        "heart" => {
            // The classic implicit heart (x² + y² − 1)³ − x² y³ < 0, y up, scaled into the box.
            let (hx, hy) = (x * 1.25, -(y * 1.25) + 0.15);
            let q = hx * hx + hy * hy - 1.0;
            q * q * q - hx * hx * hy * hy * hy < 0.0
        }
        "arrow" => in_polygon(
            &[
                (-0.9, -0.22),
                (0.2, -0.22),
                (0.2, -0.6),
                (0.92, 0.0),
                (0.2, 0.6),
                (0.2, 0.22),
                (-0.9, 0.22),
            ],
            x,
            y,
        ),
        _ => false,
    }
}

fn star_points() -> Vec<(f32, f32)> {
    (0..10)
        .map(|i| {
            let r = if i % 2 == 0 { 0.95 } else { 0.4 };
            let a = -std::f32::consts::FRAC_PI_2 + i as f32 * std::f32::consts::PI / 5.0;
            (r * a.cos(), r * a.sin() + 0.08)
        })
        .collect()
}

/// Even-odd point-in-polygon test.
fn in_polygon(poly: &[(f32, f32)], x: f32, y: f32) -> bool {
    let mut inside = false;
    let mut j = poly.len() - 1;
    for i in 0..poly.len() {
        let (xi, yi) = poly[i];
        let (xj, yj) = poly[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}
