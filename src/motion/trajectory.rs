//! The trajectory sampler: keyframes and segments for every object of a clip, every random
//! choice drawn from one seed.
//!
//! **The visibility rule.** An object's centre stays inside the frame shrunk by
//! [`margin`] on every side, in every frame. It holds by construction: the start position is
//! drawn inside that box, and each segment, in time order, is only given a motion whose
//! centre stays in the box at every frame of the segment (checked frame by frame from the
//! segment's own start). When the sampled motion fits in no direction, the sampler falls
//! back, in order, to: the slowest speed of the sampled class; each slower class; a straight
//! path (for curves and circles); and finally a still segment, which always fits.
//! Directions are drawn uniformly among those that fit.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::backgrounds::BackgroundLibrary;
use super::params::*;
use super::path::{ObjectState, segment_offset};
use super::sprites::ObjectLibrary;

/// What to generate: clip size and which motion options are on.
#[derive(Debug, Clone, PartialEq)]
pub struct GenConfig {
    /// Frames per clip (default 16; 64 and more gets more segments).
    pub frames: u32,
    /// Frame height and width in pixels.
    pub height: u32,
    pub width: u32,
    /// Objects per clip, 1 to [`MAX_OBJECTS`].
    pub objects: u32,
    /// Arcs and circles besides straight segments (beyond the paper; off by default).
    pub nonlinear: bool,
    /// Accelerating and decelerating segments (70/15/15 linear/accelerate/decelerate).
    pub easing: bool,
    /// Segments that grow or shrink the object.
    pub scale_changes: bool,
    /// Segments where the object does not translate.
    pub still_segments: bool,
    /// Every moving segment travels at least this many pixels (its speed is drawn from
    /// the part of its class that does, or from the next faster class when none of it
    /// does), so no caption names a direction nobody can see. 0 turns the floor off.
    pub min_travel_px: f32,
    /// Every rotating segment turns at least this many degrees in all.
    pub min_turn_degrees: f32,
    /// Shortest segment in frames; 0 picks `clamp(frames / 2, 2, 4)` (4 from 8 frames on,
    /// so an 8-frame clip holds one segment and a 16-frame clip up to three), so a segment
    /// lasts long enough to be seen.
    pub min_segment_frames: u32,
}

/// Most objects a clip may hold.
pub const MAX_OBJECTS: u32 = 4;

impl Default for GenConfig {
    fn default() -> Self {
        Self {
            frames: 16,
            height: 112,
            width: 112,
            objects: 1,
            nonlinear: false,
            easing: false,
            scale_changes: false,
            still_segments: false,
            min_travel_px: 3.0,
            min_turn_degrees: 20.0,
            min_segment_frames: 0,
        }
    }
}

impl GenConfig {
    /// A one-line error naming the setting when the configuration cannot be sampled.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (2..=4096).contains(&self.frames),
            "--frames must be 2 to 4096, got {}",
            self.frames
        );
        anyhow::ensure!(
            (16..=4096).contains(&self.width) && (16..=4096).contains(&self.height),
            "--size must be 16 to 4096 pixels a side, got {}x{}",
            self.width,
            self.height
        );
        anyhow::ensure!(
            self.width <= 4 * self.height && self.height <= 4 * self.width,
            "--size {}x{}: the aspect ratio must be at most 4:1",
            self.width,
            self.height
        );
        anyhow::ensure!(
            self.min_travel_px.is_finite() && (0.0..=64.0).contains(&self.min_travel_px),
            "--min-travel must be 0 to 64 pixels, got {}",
            self.min_travel_px
        );
        anyhow::ensure!(
            self.min_turn_degrees.is_finite() && (0.0..=180.0).contains(&self.min_turn_degrees),
            "--min-turn must be 0 to 180 degrees, got {}",
            self.min_turn_degrees
        );
        anyhow::ensure!(
            self.min_segment_frames == 0 || self.min_segment_frames < self.frames,
            "--min-segment-frames {} must be below --frames {}",
            self.min_segment_frames,
            self.frames
        );
        anyhow::ensure!(
            (1..=MAX_OBJECTS).contains(&self.objects),
            "--objects must be 1 to {MAX_OBJECTS}, got {}",
            self.objects
        );
        Ok(())
    }

    /// Frame height over width: the extent of y in width-normalised coordinates.
    pub fn aspect(&self) -> f64 {
        self.height as f64 / self.width as f64
    }

    /// The shortest segment in frames (see [`GenConfig::min_segment_frames`]).
    pub fn segment_frames(&self) -> u32 {
        match self.min_segment_frames {
            0 => (self.frames / 2).clamp(2, 4),
            n => n.max(1),
        }
        .min(self.frames - 1)
    }
}

/// How much faster per frame every motion is in a clip of `frames` frames than in the
/// paper's 16-frame clips: 16 / frames below 16, else 1. A short clip then covers as much
/// of the frame as a 16-frame one does, instead of shrinking every motion with its length.
pub fn time_scale(frames: u32) -> f32 {
    (16.0 / frames.max(1) as f32).max(1.0)
}

/// The per-frame speed range (width-normalised) of a speed class in a clip of `frames`
/// frames: the paper's 0.005–0.015 / 0.015–0.03 / 0.03–0.05 at 16 frames and more, scaled
/// by [`time_scale`] below.
pub fn speed_range(s: Speed, frames: u32) -> (f32, f32) {
    let (lo, hi) = match s {
        Speed::Slow => (0.005, 0.015),
        Speed::Medium => (0.015, 0.03),
        Speed::Fast => (0.03, 0.05),
    };
    let k = time_scale(frames);
    (lo * k, hi * k)
}

/// The per-frame rotation range in degrees (2–8 at 16 frames, scaled by [`time_scale`]).
pub fn turn_range(frames: u32) -> (f32, f32) {
    let k = time_scale(frames);
    (2.0 * k, 8.0 * k)
}

/// The distance (width-normalised) the centre keeps from every edge.
pub fn margin(cfg: &GenConfig) -> f64 {
    0.05f64.min(cfg.aspect() / 4.0)
}

/// The seed of clip `index` of a dataset made with `seed` (SplitMix64 of both), so any clip
/// can be made alone, on any machine.
pub fn clip_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Sample clip `index` of the dataset made with `seed`: background, objects and motions.
/// `cfg` must have passed [`GenConfig::validate`]; both libraries must be non-empty.
pub fn sample_clip(
    seed: u64,
    index: u64,
    cfg: &GenConfig,
    objects: &ObjectLibrary,
    backgrounds: &BackgroundLibrary,
) -> ClipParams {
    let cs = clip_seed(seed, index);
    let mut rng = ChaCha8Rng::seed_from_u64(cs);
    let bg = &backgrounds.videos[rng.random_range(0..backgrounds.len())];
    let motions = (0..cfg.objects)
        .map(|_| {
            let (obj, _) = &objects.objects[rng.random_range(0..objects.len())];
            sample_motion(&mut rng, cfg, obj.clone())
        })
        .collect();
    ClipParams {
        id: format!("clip-{index:06}"),
        seed: cs,
        frames: cfg.frames,
        height: cfg.height,
        width: cfg.width,
        background: bg.background.clone(),
        objects: motions,
    }
}

/// Keyframe times: 0, T−1 and the inner ones (0/1/2 with probability 0.5/0.3/0.2, plus one
/// per further 16 frames in long clips, fewer when segments would be shorter than
/// `min_len`), evenly spaced then jittered.
fn keyframe_times(rng: &mut ChaCha8Rng, frames: u32, min_len: u32) -> Vec<u32> {
    let last = frames - 1;
    let r: f64 = rng.random();
    let mut inner = if r < 0.5 {
        0
    } else if r < 0.8 {
        1
    } else {
        2
    };
    if frames > 32 {
        inner += last / 16 - 1;
    }
    // Every segment lasts at least `min_len` frames.
    inner = inner.min((last / min_len).saturating_sub(1));
    let spacing = last as f64 / (inner + 1) as f64;
    let mut times = vec![0];
    for i in 1..=inner {
        let jitter = rng.random_range(-0.25..=0.25) * spacing;
        let t = (i as f64 * spacing + jitter).round() as u32;
        let lo = times.last().unwrap() + min_len;
        let hi = last - min_len * (inner + 1 - i);
        times.push(t.clamp(lo, hi.max(lo)));
    }
    times.push(last);
    times.dedup();
    times
}

fn sample_motion(rng: &mut ChaCha8Rng, cfg: &GenConfig, object: ObjectRef) -> ObjectMotion {
    let min_side = cfg.height.min(cfg.width) as f64;
    let size_px = (rng.random_range(0.2..=0.5) * min_side) as f32;
    let m = margin(cfg);
    // Start strictly inside the box that `stays_inside` checks, so some motion always fits.
    let (m, x_hi, y_hi) = (m + 1e-3, 1.0 - m - 1e-3, cfg.aspect() - m - 1e-3);
    let times = keyframe_times(rng, cfg.frames, cfg.segment_frames());
    let mut key = Keyframe {
        frame: 0,
        x: rng.random_range(m..=x_hi) as f32,
        y: rng.random_range(m..=y_hi) as f32,
        angle: 0.0,
        scale: 1.0,
    };
    let mut keyframes = vec![key];
    let mut segments = Vec::new();
    for w in times.windows(2) {
        let seg = sample_segment(rng, cfg, &key, w[0], w[1]);
        let end = super::path::object_state(
            &ObjectMotion {
                object: object.clone(),
                size_px,
                keyframes: vec![key, Keyframe { frame: w[1], ..key }],
                segments: vec![seg.clone()],
            },
            w[1],
        );
        key = Keyframe {
            frame: w[1],
            x: end.x as f32,
            y: end.y as f32,
            angle: end.angle as f32,
            scale: end.scale as f32,
        };
        keyframes.push(key);
        segments.push(seg);
    }
    ObjectMotion {
        object,
        size_px,
        keyframes,
        segments,
    }
}

fn sample_segment(
    rng: &mut ChaCha8Rng,
    cfg: &GenConfig,
    start: &Keyframe,
    f0: u32,
    f1: u32,
) -> Segment {
    let len = (f1 - f0) as f32;
    // The slowest per-frame speed that travels `min_travel_px` over this segment; a class
    // entirely below it gives way to the next faster class.
    let floor = cfg.min_travel_px / (len * cfg.width as f32);
    let feasible = |c: Speed| speed_range(c, cfg.frames).1 >= floor;
    let drawn = [Speed::Slow, Speed::Medium, Speed::Fast][rng.random_range(0..3)];
    let speed = [Speed::Slow, Speed::Medium, Speed::Fast]
        .into_iter()
        .find(|&c| class_rank(c) >= class_rank(drawn) && feasible(c))
        .unwrap_or(Speed::Fast);
    let (lo, hi) = speed_range(speed, cfg.frames);
    let speed_value = rng.random_range(lo.max(floor).min(hi)..=hi);
    let rotation = [
        Rotation::None,
        Rotation::Clockwise,
        Rotation::CounterClockwise,
    ][rng.random_range(0..3)];
    let (tlo, thi) = turn_range(cfg.frames);
    let dpf = rng.random_range(tlo..=thi).max(cfg.min_turn_degrees / len);
    let degrees_per_frame = if rotation == Rotation::None { 0.0 } else { dpf };
    let (mut scale, factor) = if cfg.scale_changes {
        let r: f64 = rng.random();
        let grow = rng.random_range(1.25f32..=1.6);
        let shrink = rng.random_range(0.6f32..=0.8);
        match r {
            r if r < 0.5 => (ScaleChange::None, 1.0),
            r if r < 0.75 => (ScaleChange::Grow, grow),
            _ => (ScaleChange::Shrink, shrink),
        }
    } else {
        (ScaleChange::None, 1.0)
    };
    // Keep the object between half and twice its base size over the whole clip.
    let after = start.scale * factor;
    if !(0.5..=2.0).contains(&after) {
        scale = ScaleChange::None;
    }
    let scale_factor = if scale == ScaleChange::None {
        1.0
    } else {
        factor
    };
    let easing = if cfg.easing {
        let r: f64 = rng.random();
        if r < 0.7 {
            Easing::Linear
        } else if r < 0.85 {
            Easing::Accelerate
        } else {
            Easing::Decelerate
        }
    } else {
        Easing::Linear
    };
    let turn = if rng.random_bool(0.5) {
        Turn::Left
    } else {
        Turn::Right
    };
    let curve_degrees = rng.random_range(60.0f32..=180.0);
    let path = if cfg.nonlinear {
        let r: f64 = rng.random();
        if r < 0.5 {
            PathShape::Straight
        } else if r < 0.8 {
            PathShape::Curve {
                turn,
                degrees: curve_degrees,
            }
        } else {
            PathShape::Circle { turn, radius: 0.0 }
        }
    } else {
        PathShape::Straight
    };
    let still = cfg.still_segments && rng.random_bool(0.15);
    let pick: f64 = rng.random();
    let mut seg = Segment {
        start_frame: f0,
        end_frame: f1,
        still,
        direction: Direction::Right,
        speed,
        speed_value,
        rotation,
        degrees_per_frame,
        scale,
        scale_factor,
        easing,
        path,
    };
    if still {
        seg.speed = Speed::Slow;
        seg.speed_value = 0.0;
        return seg;
    }
    // The fallback ladder of the visibility rule (module docs).
    let mut shapes = vec![path];
    if path != PathShape::Straight {
        shapes.push(PathShape::Straight);
    }
    for shape in shapes {
        for class in [Speed::Fast, Speed::Medium, Speed::Slow] {
            if class_rank(class) > class_rank(speed) || !feasible(class) {
                continue;
            }
            let clo = speed_range(class, cfg.frames).0.max(floor);
            let values: &[f32] = if class == speed {
                &[speed_value, clo]
            } else {
                &[clo]
            };
            for &v in values {
                seg.speed = class;
                seg.speed_value = v;
                seg.path = with_radius(shape, v, len);
                let fits: Vec<Direction> = Direction::ALL
                    .into_iter()
                    .filter(|&d| {
                        seg.direction = d;
                        stays_inside(cfg, start, &seg)
                    })
                    .collect();
                if !fits.is_empty() {
                    seg.direction = fits[((pick * fits.len() as f64) as usize).min(fits.len() - 1)];
                    return seg;
                }
            }
        }
    }
    seg.still = true;
    seg.speed = Speed::Slow;
    seg.speed_value = 0.0;
    seg.path = PathShape::Straight;
    seg
}

fn class_rank(s: Speed) -> u8 {
    match s {
        Speed::Slow => 0,
        Speed::Medium => 1,
        Speed::Fast => 2,
    }
}

/// A circle's radius follows from its speed: one full turn over the segment.
fn with_radius(shape: PathShape, speed: f32, len: f32) -> PathShape {
    match shape {
        PathShape::Circle { turn, .. } => PathShape::Circle {
            turn,
            radius: speed * len / std::f32::consts::TAU,
        },
        s => s,
    }
}

/// True when the centre stays in the margin box at every frame of `seg` from `start`.
pub fn stays_inside(cfg: &GenConfig, start: &Keyframe, seg: &Segment) -> bool {
    let m = margin(cfg);
    let len = seg.end_frame - seg.start_frame;
    (0..=len).all(|f| {
        let (dx, dy) = segment_offset(seg, f as f64 / len as f64);
        let (x, y) = (start.x as f64 + dx, start.y as f64 + dy);
        // A hair of slack inside the box absorbs the f32 rounding of keyframes.
        (m + 1e-4..=1.0 - m - 1e-4).contains(&x)
            && (m + 1e-4..=cfg.aspect() - m - 1e-4).contains(&y)
    })
}

/// True when every object's centre is inside the frame (not just the margin box) in every
/// frame of `clip`: what the visibility rule promises a user.
pub fn visible_throughout(clip: &ClipParams) -> bool {
    let aspect = clip.height as f64 / clip.width as f64;
    super::path::clip_states(clip)
        .iter()
        .flatten()
        .all(|s: &ObjectState| (0.0..=1.0).contains(&s.x) && (0.0..=aspect).contains(&s.y))
}
