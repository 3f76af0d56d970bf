//! One hand-made clip's three captions and its verb-variation paraphrases (the README's
//! "Captions" example): `cargo run --release --example captions`.

use locomotion::caption::{CaptionKind, Paraphraser, describe};
use locomotion::motion::params::*;

fn segment(start: u32, direction: Direction, speed: Speed) -> Segment {
    Segment {
        start_frame: start,
        end_frame: start + 15,
        still: false,
        direction,
        speed,
        speed_value: 0.04,
        rotation: Rotation::None,
        degrees_per_frame: 0.0,
        scale: ScaleChange::None,
        scale_factor: 1.0,
        easing: Easing::Linear,
        path: PathShape::Straight,
    }
}

fn main() {
    let ball = ObjectMotion {
        object: ObjectRef {
            id: "builtin:red_ball".into(),
            name: "red ball".into(),
            category: Category::Ball,
        },
        size_px: 24.0,
        keyframes: Vec::new(),
        segments: vec![
            segment(0, Direction::Left, Speed::Fast),
            Segment {
                rotation: Rotation::Clockwise,
                degrees_per_frame: 6.0,
                easing: Easing::Decelerate,
                ..segment(15, Direction::UpLeft, Speed::Slow)
            },
        ],
    };
    let bird = ObjectMotion {
        object: ObjectRef {
            id: "builtin:white_bird".into(),
            name: "white bird".into(),
            category: Category::Bird,
        },
        size_px: 24.0,
        keyframes: Vec::new(),
        segments: vec![Segment {
            path: PathShape::Curve {
                turn: Turn::Right,
                degrees: 90.0,
            },
            ..segment(0, Direction::Up, Speed::Medium)
        }],
    };
    let clip = ClipParams {
        id: "clip-000000".into(),
        seed: 0,
        frames: 31,
        height: 96,
        width: 128,
        background: BackgroundRef {
            id: "builtin:sand".into(),
            name: "sandy texture".into(),
        },
        objects: vec![ball, bird],
    };
    for kind in CaptionKind::ALL {
        println!("{}: {}", kind.name(), describe(&clip, kind));
    }
    for p in Paraphraser::default().paraphrase(&clip, 4, 0) {
        println!("paraphrase: {p}");
    }
}
