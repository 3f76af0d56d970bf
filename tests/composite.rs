//! The GPU compositor against the CPU reference (random sprites, backgrounds and transforms:
//! non-square frames, objects partly outside, rotations of 0°, 90° and arbitrary angles),
//! the normalised tensor layout, and the on-screen meaning of position and rotation.

mod common;

use common::{POISON, gpu, rel_err};
use locomotion::gpu::CommandBatch;
use locomotion::motion::atlas::{Atlas, FrameTables, Instance, SLOTS};
use locomotion::motion::composite::{IMAGENET_MEAN, IMAGENET_STD};
use locomotion::motion::params::*;
use locomotion::motion::path::{ObjectState, inverse_affine};
use locomotion::motion::reference;
use locomotion::motion::{
    BackgroundLibrary, BackgroundVideo, Compositor, GenConfig, ObjectLibrary, Output, Sprite,
    sample_clip,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn obj(id: &str) -> ObjectRef {
    ObjectRef {
        id: id.into(),
        name: id.into(),
        category: Category::Other,
    }
}

/// A random premultiplied sprite (colour never above alpha), some texels fully clear.
fn random_sprite(rng: &mut ChaCha8Rng, w: u32, h: u32) -> Sprite {
    let mut rgba = Vec::new();
    for _ in 0..w * h {
        let a: u8 = if rng.random_bool(0.2) {
            0
        } else {
            rng.random()
        };
        for _ in 0..3 {
            rgba.push(rng.random_range(0..=a));
        }
        rgba.push(a);
    }
    Sprite {
        width: w,
        height: h,
        rgba,
    }
}

fn random_backgrounds(rng: &mut ChaCha8Rng, h: u32, w: u32) -> BackgroundLibrary {
    let videos = (0..2)
        .map(|i| BackgroundVideo {
            background: BackgroundRef {
                id: format!("bg{i}"),
                name: "noise".into(),
            },
            // Two-frame and three-frame sources: clips of 4 frames loop them.
            frames: (0..2 + i)
                .map(|_| {
                    (0..h * w)
                        .flat_map(|_| {
                            let c: [u8; 3] = rng.random();
                            [c[0], c[1], c[2], 255]
                        })
                        .collect()
                })
                .collect(),
        })
        .collect();
    BackgroundLibrary {
        height: h,
        width: w,
        videos,
    }
}

fn random_objects(rng: &mut ChaCha8Rng) -> ObjectLibrary {
    ObjectLibrary {
        objects: vec![
            (obj("a"), random_sprite(rng, 13, 9)),
            (obj("b"), random_sprite(rng, 7, 16)),
            (obj("c"), random_sprite(rng, 20, 20)),
        ],
    }
}

/// Tables with hand-made poses: 0°, 90° and arbitrary angles, some centres outside.
fn random_tables(rng: &mut ChaCha8Rng, atlas: &Atlas, frames: usize) -> FrameTables {
    let (w, h) = (atlas.width, atlas.height);
    let mut frame_info = Vec::new();
    let mut instances = Vec::new();
    let mut tiles = Vec::new();
    for f in 0..frames {
        let n = 1 + f % SLOTS;
        let bg = f % 2;
        let (first, count) = atlas.background_frames[bg];
        frame_info.push([(first + f as u32 % count) * w * h, n as u32, 0, 0]);
        for k in 0..SLOTS {
            let s = rng.random_range(0..atlas.sprite_info.len());
            let [_, sw, sh, _] = atlas.sprite_info[s];
            let angle = match (f + k) % 3 {
                0 => 0.0,
                1 => 90.0,
                _ => rng.random_range(-180.0..180.0),
            };
            let state = ObjectState {
                // Up to 20 % outside the frame on each side.
                x: rng.random_range(-0.2..1.2),
                y: rng.random_range(-0.2..1.2) * h as f64 / w as f64,
                angle,
                scale: rng.random_range(0.6..1.8),
            };
            let a = inverse_affine(&state, rng.random_range(6.0..18.0), sw, sh, w);
            instances.push(if k < n {
                Instance::new(&a, s as u32, sw, sh)
            } else {
                Instance::default()
            });
        }
        tiles.extend(atlas.touched_tiles(f as u32, &instances[f * SLOTS..f * SLOTS + n]));
    }
    FrameTables {
        frame_info,
        instances,
        tiles,
    }
}

fn max_channel_diff(a: &[u8], b: &[u8]) -> u8 {
    a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap()
}

#[test]
fn gpu_matches_cpu_reference_on_random_inputs() {
    let g = gpu();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for (h, w) in [(23u32, 37u32), (30, 17)] {
        let objects = random_objects(&mut rng);
        let backgrounds = random_backgrounds(&mut rng, h, w);
        let comp = Compositor::new(&g, &objects, &backgrounds).unwrap();
        let tables = random_tables(&mut rng, &comp.atlas, 9);
        let out = g
            .filled(Output::Rgba8.bytes(9, h, w), POISON, "out")
            .unwrap();
        let mut batch = CommandBatch::new(&g);
        let staged = comp
            .record_tables(&mut batch, &tables, &out, Output::Rgba8)
            .unwrap();
        batch.submit_and_wait().unwrap();
        drop(staged);
        let got: Vec<u8> = g.read(&out).unwrap();
        let want: Vec<u8> =
            bytemuck::cast_slice(&reference::composite_rgba8(&comp.atlas, &tables)).to_vec();
        let d = max_channel_diff(&got, &want);
        assert!(d <= 1, "{w}x{h}: GPU and CPU differ by {d}/255");
        // The objects did land: the frames are not just the backgrounds.
        let bg_only: usize = got
            .chunks_exact(4)
            .zip(tables.frame_info.iter().flat_map(|fi| {
                let s = fi[0] as usize;
                comp.atlas.backgrounds[s..s + (h * w) as usize].iter()
            }))
            .filter(|(p, b)| u32::from_le_bytes([p[0], p[1], p[2], p[3]]) == **b)
            .count();
        assert!(
            bg_only < (9 * h * w) as usize * 9 / 10,
            "objects barely visible"
        );
    }
}

#[test]
fn normalized_tensor_matches_reference_layout() {
    let g = gpu();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (h, w) = (19u32, 26u32);
    let comp = Compositor::new(
        &g,
        &random_objects(&mut rng),
        &random_backgrounds(&mut rng, h, w),
    )
    .unwrap();
    let tables = random_tables(&mut rng, &comp.atlas, 6);
    let (mean, std) = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
    let out_kind = Output::Normalized { mean, std };
    let out = g.filled(out_kind.bytes(6, h, w), POISON, "out").unwrap();
    let mut batch = CommandBatch::new(&g);
    let staged = comp
        .record_tables(&mut batch, &tables, &out, out_kind)
        .unwrap();
    batch.submit_and_wait().unwrap();
    drop(staged);
    let got: Vec<f32> = g.read(&out).unwrap();
    assert!(got.iter().all(|v| v.is_finite()), "unwritten element");
    let want = reference::composite_normalized(&comp.atlas, &tables, mean, std);
    let e = rel_err(&got, &want);
    assert!(e < 1e-4, "rel err {e}");
}

#[test]
fn sampled_clips_render_the_same_on_gpu_and_cpu() {
    let g = gpu();
    let cfg = GenConfig {
        frames: 5,
        height: 40,
        width: 56,
        objects: 3,
        nonlinear: true,
        scale_changes: true,
        ..GenConfig::default()
    };
    let objects = ObjectLibrary::builtin();
    let backgrounds = BackgroundLibrary::builtin(cfg.height, cfg.width, cfg.frames);
    let comp = Compositor::new(&g, &objects, &backgrounds).unwrap();
    let clips: Vec<ClipParams> = (0..3)
        .map(|i| sample_clip(3, i, &cfg, &objects, &backgrounds))
        .collect();
    let got = comp.render_rgba8(&clips).unwrap();
    let tables = comp.atlas.tables(&clips).unwrap();
    let want: Vec<u8> =
        bytemuck::cast_slice(&reference::composite_rgba8(&comp.atlas, &tables)).to_vec();
    assert_eq!(got.len(), (3 * 5 * 40 * 56 * 4) as usize);
    let d = max_channel_diff(&got, &want);
    assert!(d <= 1, "GPU and CPU differ by {d}/255");

    // The trainer's entry: the same clips straight into the model's input tensor.
    let kind = Output::Normalized {
        mean: IMAGENET_MEAN,
        std: IMAGENET_STD,
    };
    let out = g.filled(kind.bytes(15, 40, 56), POISON, "tensor").unwrap();
    let mut batch = CommandBatch::new(&g);
    let staged = comp.record(&mut batch, &clips, &out, kind).unwrap();
    batch.submit_and_wait().unwrap();
    drop(staged);
    let got: Vec<f32> = g.read(&out).unwrap();
    let want = reference::composite_normalized(&comp.atlas, &tables, IMAGENET_MEAN, IMAGENET_STD);
    let e = rel_err(&got, &want);
    assert!(e < 1e-4, "tensor rel err {e}");
}

/// A sprite whose left half is red and right half blue, on a black background.
fn halves() -> (ObjectLibrary, BackgroundLibrary) {
    let (sw, sh) = (20u32, 20u32);
    let rgba = (0..sw * sh)
        .flat_map(|i| {
            if i % sw < sw / 2 {
                [255, 0, 0, 255]
            } else {
                [0, 0, 255, 255]
            }
        })
        .collect();
    let objects = ObjectLibrary {
        objects: vec![(
            obj("halves"),
            Sprite {
                width: sw,
                height: sh,
                rgba,
            },
        )],
    };
    let backgrounds = BackgroundLibrary {
        height: 48,
        width: 64,
        videos: vec![BackgroundVideo {
            background: BackgroundRef {
                id: "black".into(),
                name: "black".into(),
            },
            frames: vec![[0u8, 0, 0, 255].repeat(48 * 64)],
        }],
    };
    (objects, backgrounds)
}

fn pixel(frame: &[u8], w: u32, x: u32, y: u32) -> [u8; 3] {
    let i = ((y * w + x) * 4) as usize;
    [frame[i], frame[i + 1], frame[i + 2]]
}

#[test]
fn position_and_clockwise_rotation_land_where_the_params_say() {
    let g = gpu();
    let (objects, backgrounds) = halves();
    let comp = Compositor::new(&g, &objects, &backgrounds).unwrap();
    let seg = Segment {
        start_frame: 0,
        end_frame: 1,
        still: true,
        direction: Direction::Right,
        speed: Speed::Slow,
        speed_value: 0.0,
        rotation: Rotation::Clockwise,
        degrees_per_frame: 90.0,
        scale: ScaleChange::None,
        scale_factor: 1.0,
        easing: Easing::Linear,
        path: PathShape::Straight,
    };
    // Centre at pixel (16, 24) of a 64×48 frame: x = 16/64, y = 24/64 (width-normalised).
    let k0 = Keyframe {
        frame: 0,
        x: 0.25,
        y: 0.375,
        angle: 0.0,
        scale: 1.0,
    };
    let clip = ClipParams {
        id: "c".into(),
        seed: 0,
        frames: 2,
        height: 48,
        width: 64,
        background: backgrounds.videos[0].background.clone(),
        objects: vec![ObjectMotion {
            object: obj("halves"),
            size_px: 20.0,
            keyframes: vec![
                k0,
                Keyframe {
                    frame: 1,
                    angle: 90.0,
                    ..k0
                },
            ],
            segments: vec![seg],
        }],
    };
    let px = comp.render_rgba8(&[clip]).unwrap();
    let (f0, f1) = px.split_at(64 * 48 * 4);
    // Frame 0: red left of the centre, blue right of it, black far away.
    assert_eq!(pixel(f0, 64, 11, 24), [255, 0, 0]);
    assert_eq!(pixel(f0, 64, 21, 24), [0, 0, 255]);
    assert_eq!(pixel(f0, 64, 40, 24), [0, 0, 0]);
    // Frame 1, turned 90° clockwise on screen: the right half now points down.
    assert_eq!(pixel(f1, 64, 16, 19), [255, 0, 0]);
    assert_eq!(pixel(f1, 64, 16, 29), [0, 0, 255]);
}

#[test]
fn faded_backgrounds_match_the_reference_and_gain_zero_is_black() {
    let g = gpu();
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let (h, w) = (17u32, 23u32);
    let comp = Compositor::new(
        &g,
        &random_objects(&mut rng),
        &random_backgrounds(&mut rng, h, w),
    )
    .unwrap();
    // Random dimming per frame, checked against the CPU reference.
    let mut tables = random_tables(&mut rng, &comp.atlas, 6);
    for fi in tables.frame_info.iter_mut() {
        fi[2] = rng.random_range(0..=65535);
    }
    let kind = Output::Normalized {
        mean: IMAGENET_MEAN,
        std: IMAGENET_STD,
    };
    let out = g.filled(kind.bytes(6, h, w), POISON, "out").unwrap();
    let mut batch = CommandBatch::new(&g);
    let staged = comp.record_tables(&mut batch, &tables, &out, kind).unwrap();
    batch.submit_and_wait().unwrap();
    drop(staged);
    let got: Vec<f32> = g.read(&out).unwrap();
    assert!(got.iter().all(|v| v.is_finite()), "unwritten element");
    let want = reference::composite_normalized(&comp.atlas, &tables, IMAGENET_MEAN, IMAGENET_STD);
    let e = rel_err(&got, &want);
    assert!(e < 1e-4, "rel err {e}");

    // Gain 0: every pixel no object covers is black; gain 1 is the plain record.
    let cfg = GenConfig {
        frames: 3,
        height: h,
        width: w,
        ..GenConfig::default()
    };
    let objects = ObjectLibrary::builtin();
    let backgrounds = BackgroundLibrary::builtin(h, w, 3);
    let comp = Compositor::new(&g, &objects, &backgrounds).unwrap();
    let clips: Vec<ClipParams> = (0..2)
        .map(|i| sample_clip(5, i, &cfg, &objects, &backgrounds))
        .collect();
    let render = |gain: f32| -> Vec<f32> {
        let out = g.filled(kind.bytes(6, h, w), POISON, "out").unwrap();
        let mut batch = CommandBatch::new(&g);
        let staged = comp
            .record_faded(&mut batch, &clips, &out, kind, gain)
            .unwrap();
        batch.submit_and_wait().unwrap();
        drop(staged);
        g.read(&out).unwrap()
    };
    let (dark, full) = (render(0.0), render(1.0));
    let plain = {
        let out = g.filled(kind.bytes(6, h, w), POISON, "out").unwrap();
        let mut batch = CommandBatch::new(&g);
        let staged = comp.record(&mut batch, &clips, &out, kind).unwrap();
        batch.submit_and_wait().unwrap();
        drop(staged);
        g.read::<f32>(&out).unwrap()
    };
    assert_eq!(full, plain);
    let plane = (h * w) as usize;
    let black: Vec<f32> = (0..3)
        .map(|c| -IMAGENET_MEAN[c] / IMAGENET_STD[c])
        .collect();
    let is_black = |v: &[f32], i: usize| {
        let (f, px) = (i / plane, i % plane);
        (0..3).all(|c| (v[(f * 3 + c) * plane + px] - black[c]).abs() < 1e-5)
    };
    let black_px = (0..6 * plane).filter(|&i| is_black(&dark, i)).count();
    assert!(
        black_px > 6 * plane / 2,
        "only {black_px} of {} pixels are black at gain 0",
        6 * plane
    );
    assert!((0..6 * plane).filter(|&i| is_black(&full, i)).count() < black_px / 10);
    // Out-of-range gains and RGBA8 frames with a faded background are refused.
    let out = g.filled(kind.bytes(6, h, w), POISON, "out").unwrap();
    let mut batch = CommandBatch::new(&g);
    assert!(
        comp.record_faded(&mut batch, &clips, &out, kind, 1.5)
            .is_err()
    );
    let err = comp
        .record_faded(&mut batch, &clips, &out, Output::Rgba8, 0.5)
        .err()
        .expect("RGBA8 with a faded background is refused")
        .to_string();
    assert!(err.contains("tensor output"), "{err}");
}
