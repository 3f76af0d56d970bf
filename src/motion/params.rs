//! The parameters of one generated clip: the single source of truth that the compositor
//! renders, the manifest stores and the captioner describes.
//!
//! Coordinates: image space, x to the right, y **down**, both normalised by the frame
//! *width* (so a speed of 0.02 is 2 % of the frame width per frame whatever the aspect).
//! "Up" means decreasing y. Angles are in degrees, positive = clockwise as seen on screen.

use serde::{Deserialize, Serialize};

/// One of the eight directions of a straight segment, as seen on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Up,
    Down,
    Left,
    Right,
    UpLeft,
    UpRight,
    DownLeft,
    DownRight,
}

impl Direction {
    /// All eight, in a fixed order (sampling indexes into this).
    pub const ALL: [Direction; 8] = [
        Direction::Up,
        Direction::Down,
        Direction::Left,
        Direction::Right,
        Direction::UpLeft,
        Direction::UpRight,
        Direction::DownLeft,
        Direction::DownRight,
    ];

    /// Unit vector in image space (y down).
    pub fn unit(self) -> (f32, f32) {
        let d = std::f32::consts::FRAC_1_SQRT_2;
        match self {
            Direction::Up => (0.0, -1.0),
            Direction::Down => (0.0, 1.0),
            Direction::Left => (-1.0, 0.0),
            Direction::Right => (1.0, 0.0),
            Direction::UpLeft => (-d, -d),
            Direction::UpRight => (d, -d),
            Direction::DownLeft => (-d, d),
            Direction::DownRight => (d, d),
        }
    }
}

/// Speed class of a segment: slow 0.5–1.5 %, medium 1.5–3 %, fast 3–5 % of the frame width
/// per frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speed {
    Slow,
    Medium,
    Fast,
}

/// Rotation during a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rotation {
    None,
    Clockwise,
    CounterClockwise,
}

/// Scale change during a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleChange {
    None,
    Grow,
    Shrink,
}

/// Time profile of a segment's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Easing {
    Linear,
    /// Speeding up.
    Accelerate,
    /// Slowing down.
    Decelerate,
}

/// Which way a curve or circle turns, as seen on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Turn {
    Left,
    Right,
}

/// Shape of the path of a segment (non-linear paths are off by default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PathShape {
    /// A straight line along the segment's direction.
    Straight,
    /// An arc that starts along the segment's direction and bends left or right by
    /// `degrees` of heading over the segment ("curves to the right").
    Curve { turn: Turn, degrees: f32 },
    /// A full circle of radius `radius` (width-normalised), starting along the segment's
    /// direction; `Turn::Right` is clockwise on screen ("moves in a circle clockwise").
    Circle { turn: Turn, radius: f32 },
}

/// What an object does between two keyframes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// First frame of the segment (its start keyframe).
    pub start_frame: u32,
    /// Last frame of the segment (its end keyframe), > `start_frame`.
    pub end_frame: u32,
    /// True when the object does not translate (direction, speed and path are then
    /// meaningless and the describer says "stays still" unless it rotates or scales).
    pub still: bool,
    /// Direction of travel (initial heading for non-straight paths).
    pub direction: Direction,
    /// Speed class and its exact value (width fraction per frame, mean over the segment).
    pub speed: Speed,
    pub speed_value: f32,
    /// Rotation class and its rate in degrees per frame (0 for `Rotation::None`).
    pub rotation: Rotation,
    pub degrees_per_frame: f32,
    /// Scale change and its total factor over the segment (1 for `ScaleChange::None`).
    pub scale: ScaleChange,
    pub scale_factor: f32,
    /// Time profile of the translation.
    pub easing: Easing,
    /// Path shape (straight unless non-linear paths are on).
    pub path: PathShape,
}

/// The state of an object at a keyframe.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Keyframe {
    pub frame: u32,
    /// Centre, width-normalised (x in [0, 1], y in [0, H/W]).
    pub x: f32,
    pub y: f32,
    /// Orientation in degrees, clockwise positive.
    pub angle: f32,
    /// Scale relative to the object's base size.
    pub scale: f32,
}

/// Object category: picks the verbs the paraphraser may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Ball,
    Vehicle,
    Animal,
    Bird,
    Fish,
    Person,
    Leaf,
    Shape,
    Other,
}

/// Which object was pasted and how it is named.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// Stable identifier: "builtin:red_star" or "user:red_car.png".
    pub id: String,
    /// The noun phrase without article: "red star", "red car".
    pub name: String,
    pub category: Category,
}

/// One object's motion through the clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectMotion {
    pub object: ObjectRef,
    /// Longest side of the sprite at scale 1, in pixels.
    pub size_px: f32,
    /// Keyframes in time order; the first is frame 0, the last frame T-1.
    pub keyframes: Vec<Keyframe>,
    /// `keyframes.len() - 1` segments in time order.
    pub segments: Vec<Segment>,
}

/// Which background was used and how a web caption would name it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackgroundRef {
    /// Stable identifier: "builtin:sand" or "user:beach.gif".
    pub id: String,
    /// Short noun phrase without article: "sandy texture".
    pub name: String,
}

/// Everything about one clip: enough to render it again and to caption it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipParams {
    /// Clip identifier, unique within a dataset ("clip-000042").
    pub id: String,
    /// The seed this clip was sampled from (derived from the dataset seed and index).
    pub seed: u64,
    pub frames: u32,
    pub height: u32,
    pub width: u32,
    pub background: BackgroundRef,
    /// Objects in z-order, back to front.
    pub objects: Vec<ObjectMotion>,
}

impl ClipParams {
    /// The names of its objects, back to front: what a caption of the clip may name.
    pub fn object_names(&self) -> Vec<&str> {
        self.objects
            .iter()
            .map(|o| o.object.name.as_str())
            .collect()
    }
}

/// One line of a dataset's `manifest.jsonl`: where the clip's files are (relative to the
/// dataset folder) and its full parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub id: String,
    /// The GIF preview, e.g. "clips/clip-000042.gif".
    pub gif: Option<String>,
    /// Folder of PNG frames (with `--frames-png`), e.g. "frames/clip-000042".
    #[serde(default)]
    pub frames_dir: Option<String>,
    pub params: ClipParams,
}

/// One background (the backgrounds module loads them, the procedural one draws them): `frames` RGBA8 images of the library's height × width (at least one).
#[derive(Debug, Clone)]
pub struct BackgroundVideo {
    /// Its id and caption name.
    pub background: BackgroundRef,
    /// RGBA8 frames, looped when the clip is longer.
    pub frames: Vec<Vec<u8>>,
}

/// One object image (the sprites module loads them, the shapes module draws them): premultiplied RGBA8, row-major, `height` rows of `width` pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Sprite {
    /// Size in pixels.
    pub width: u32,
    pub height: u32,
    /// Premultiplied RGBA8, `height` rows of `width` pixels.
    pub rgba: Vec<u8>,
}
