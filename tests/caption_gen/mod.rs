//! A seeded generator of valid random clip parameters for the caption tests: still
//! segments, rotation only, scale, easing, curves and circles, 1–4 objects, 1–5 segments.

#![allow(dead_code)]

use locomotion::motion::params::*;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Object names and categories, including names that hold motion words ("left shoe").
pub const OBJECTS: [(&str, Category); 11] = [
    ("red star", Category::Shape),
    ("blue ball", Category::Ball),
    ("yellow car", Category::Vehicle),
    ("brown dog", Category::Animal),
    ("white bird", Category::Bird),
    ("orange fish", Category::Fish),
    ("green leaf", Category::Leaf),
    ("person", Category::Person),
    ("purple triangle", Category::Shape),
    ("teddy bear", Category::Other),
    ("left shoe", Category::Other),
];

/// Background names.
pub const BACKGROUNDS: [&str; 4] = ["sandy texture", "grassy field", "city street", "ocean"];

fn segment(rng: &mut ChaCha8Rng, start: u32, len: u32) -> Segment {
    let still = rng.random_bool(0.2);
    let speed = *[Speed::Slow, Speed::Medium, Speed::Fast]
        .choose(rng)
        .unwrap();
    let speed_value = match speed {
        Speed::Slow => rng.random_range(0.005..0.015),
        Speed::Medium => rng.random_range(0.015..0.03),
        Speed::Fast => rng.random_range(0.03..0.05),
    };
    let rotation = *[
        Rotation::None,
        Rotation::None,
        Rotation::Clockwise,
        Rotation::CounterClockwise,
    ]
    .choose(rng)
    .unwrap();
    let scale = *[
        ScaleChange::None,
        ScaleChange::None,
        ScaleChange::None,
        ScaleChange::Grow,
        ScaleChange::Shrink,
    ]
    .choose(rng)
    .unwrap();
    let easing = *[
        Easing::Linear,
        Easing::Linear,
        Easing::Accelerate,
        Easing::Decelerate,
    ]
    .choose(rng)
    .unwrap();
    let turn = *[Turn::Left, Turn::Right].choose(rng).unwrap();
    let path = match rng.random_range(0..5) {
        0 => PathShape::Curve {
            turn,
            degrees: rng.random_range(30.0..120.0),
        },
        1 => PathShape::Circle {
            turn,
            radius: rng.random_range(0.05..0.2),
        },
        _ => PathShape::Straight,
    };
    Segment {
        start_frame: start,
        end_frame: start + len,
        still,
        direction: *Direction::ALL.choose(rng).unwrap(),
        speed,
        speed_value,
        rotation,
        degrees_per_frame: if rotation == Rotation::None {
            0.0
        } else {
            rng.random_range(2.0..10.0)
        },
        scale,
        scale_factor: match scale {
            ScaleChange::None => 1.0,
            ScaleChange::Grow => rng.random_range(1.2..2.0),
            ScaleChange::Shrink => rng.random_range(0.5..0.8),
        },
        easing,
        path,
    }
}

fn object(rng: &mut ChaCha8Rng, frames: u32) -> ObjectMotion {
    let (name, category) = *OBJECTS.choose(rng).unwrap();
    let n = rng.random_range(1..=5u32);
    let len = (frames - 1) / n;
    let segments: Vec<Segment> = (0..n).map(|i| segment(rng, i * len, len)).collect();
    let mut keyframes = vec![Keyframe {
        frame: 0,
        x: rng.random_range(0.2..0.8),
        y: rng.random_range(0.2..0.6),
        angle: 0.0,
        scale: 1.0,
    }];
    for s in &segments {
        let last = *keyframes.last().unwrap();
        let (ux, uy) = if s.still {
            (0.0, 0.0)
        } else {
            s.direction.unit()
        };
        let t = (s.end_frame - s.start_frame) as f32;
        keyframes.push(Keyframe {
            frame: s.end_frame,
            x: last.x + ux * s.speed_value * t,
            y: last.y + uy * s.speed_value * t,
            angle: last.angle + s.degrees_per_frame * t,
            scale: last.scale * s.scale_factor,
        });
    }
    ObjectMotion {
        object: ObjectRef {
            id: format!("builtin:{}", name.replace(' ', "_")),
            name: name.to_string(),
            category,
        },
        size_px: rng.random_range(16.0..48.0),
        keyframes,
        segments,
    }
}

/// A random valid clip from `seed`.
pub fn random_clip(seed: u64) -> ClipParams {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let frames = 61;
    let n = rng.random_range(1..=4);
    ClipParams {
        id: format!("clip-{seed:06}"),
        seed,
        frames,
        height: 96,
        width: 128,
        background: BackgroundRef {
            id: "builtin:bg".into(),
            name: BACKGROUNDS.choose(&mut rng).unwrap().to_string(),
        },
        objects: (0..n).map(|_| object(&mut rng, frames)).collect(),
    }
}

/// A straight, linear, non-rotating segment.
pub fn plain(direction: Direction, speed: Speed) -> Segment {
    Segment {
        start_frame: 0,
        end_frame: 10,
        still: false,
        direction,
        speed,
        speed_value: 0.02,
        rotation: Rotation::None,
        degrees_per_frame: 0.0,
        scale: ScaleChange::None,
        scale_factor: 1.0,
        easing: Easing::Linear,
        path: PathShape::Straight,
    }
}

/// A clip of one object per (name, category, segments).
pub fn clip_of(objects: Vec<(&str, Category, Vec<Segment>)>) -> ClipParams {
    ClipParams {
        id: "clip-000001".into(),
        seed: 1,
        frames: 41,
        height: 96,
        width: 128,
        background: BackgroundRef {
            id: "builtin:sand".into(),
            name: "sandy texture".into(),
        },
        objects: objects
            .into_iter()
            .map(|(name, category, segments)| ObjectMotion {
                object: ObjectRef {
                    id: format!("builtin:{name}"),
                    name: name.into(),
                    category,
                },
                size_px: 32.0,
                keyframes: Vec::new(),
                segments,
            })
            .collect(),
    }
}
