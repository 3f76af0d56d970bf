//! Where an object is in each frame: evaluation of keyframes and segments into per-frame
//! states, and the inverse affine transform the compositor samples sprites through.

use super::params::{
    ClipParams, Easing, ObjectMotion, PathShape, Rotation, ScaleChange, Segment, Turn,
};

/// An object's pose in one frame: centre (width-normalised, y down), angle (degrees,
/// clockwise) and scale relative to its base size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObjectState {
    /// Centre x, width-normalised.
    pub x: f64,
    /// Centre y, width-normalised, down.
    pub y: f64,
    /// Degrees, clockwise positive.
    pub angle: f64,
    /// Relative to the object's base size.
    pub scale: f64,
}

/// Fraction of the segment's distance covered at time fraction `t` in [0, 1].
pub fn progress(easing: Easing, t: f64) -> f64 {
    match easing {
        Easing::Linear => t,
        Easing::Accelerate => t * t,
        Easing::Decelerate => 1.0 - (1.0 - t) * (1.0 - t),
    }
}

/// Displacement (width-normalised) from the segment's start at time fraction `t`.
pub fn segment_offset(seg: &Segment, t: f64) -> (f64, f64) {
    if seg.still {
        return (0.0, 0.0);
    }
    let len = (seg.end_frame - seg.start_frame) as f64;
    let dist = seg.speed_value as f64 * len * progress(seg.easing, t);
    let (ux, uy) = seg.direction.unit();
    let (ux, uy) = (ux as f64, uy as f64);
    let (turn, total) = match seg.path {
        PathShape::Straight => return (ux * dist, uy * dist),
        PathShape::Curve { turn, degrees } => (turn, (degrees as f64).to_radians()),
        PathShape::Circle { turn, .. } => (turn, std::f64::consts::TAU),
    };
    if total.abs() < 1e-9 {
        return (ux * dist, uy * dist);
    }
    // Constant curvature along the arc; y is down, so a growing heading turns clockwise
    // on screen, which is a right turn.
    let sign = if turn == Turn::Right { 1.0 } else { -1.0 };
    let full = seg.speed_value as f64 * len;
    let kappa = sign * total / full;
    let h0 = uy.atan2(ux);
    let h = h0 + kappa * dist;
    ((h.sin() - h0.sin()) / kappa, -(h.cos() - h0.cos()) / kappa)
}

/// Rotation (degrees) and scale factor accumulated `frames` frames into the segment.
fn segment_pose(seg: &Segment, frames: f64) -> (f64, f64) {
    let len = (seg.end_frame - seg.start_frame) as f64;
    let rot = match seg.rotation {
        Rotation::None => 0.0,
        Rotation::Clockwise => seg.degrees_per_frame as f64 * frames,
        Rotation::CounterClockwise => -(seg.degrees_per_frame as f64) * frames,
    };
    let scale = match seg.scale {
        ScaleChange::None => 1.0,
        _ => (seg.scale_factor as f64).powf(frames / len),
    };
    (rot, scale)
}

/// The object's pose at `frame` (clamped to the clip).
pub fn object_state(m: &ObjectMotion, frame: u32) -> ObjectState {
    let last = m.keyframes.last().expect("at least two keyframes");
    let frame = frame.min(last.frame);
    let i = m
        .segments
        .iter()
        .position(|s| frame <= s.end_frame)
        .unwrap_or(m.segments.len() - 1);
    let (seg, k0) = (&m.segments[i], &m.keyframes[i]);
    let into = (frame - seg.start_frame) as f64;
    let t = into / (seg.end_frame - seg.start_frame) as f64;
    let (dx, dy) = segment_offset(seg, t);
    let (rot, scale) = segment_pose(seg, into);
    ObjectState {
        x: k0.x as f64 + dx,
        y: k0.y as f64 + dy,
        angle: k0.angle as f64 + rot,
        scale: k0.scale as f64 * scale,
    }
}

/// Every object's pose in every frame: `[frame][object]`.
pub fn clip_states(clip: &ClipParams) -> Vec<Vec<ObjectState>> {
    (0..clip.frames)
        .map(|f| clip.objects.iter().map(|m| object_state(m, f)).collect())
        .collect()
}

/// Maps an output pixel position (x, y in pixels, centres at +0.5) to sprite pixel
/// coordinates: `u = a·x + b·y + tx`, `v = c·x + d·y + ty`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InverseAffine {
    /// The linear part (a, b; c, d) and the translation (tx, ty).
    pub a: f32,
    pub b: f32,
    pub c: f32,
    pub d: f32,
    pub tx: f32,
    pub ty: f32,
}

/// The inverse transform that pastes a `sprite_w`×`sprite_h` sprite, whose longest side is
/// `size_px` at scale 1, with pose `s` into a frame `width` pixels wide.
pub fn inverse_affine(
    s: &ObjectState,
    size_px: f64,
    sprite_w: u32,
    sprite_h: u32,
    width: u32,
) -> InverseAffine {
    let k = size_px * s.scale / sprite_w.max(sprite_h) as f64;
    let (sin, cos) = s.angle.to_radians().sin_cos();
    let (cx, cy) = (s.x * width as f64, s.y * width as f64);
    // Forward: p = c + k·R(θ)·(q − half), R clockwise on a y-down screen; invert it.
    let (a, b, c, d) = (cos / k, sin / k, -sin / k, cos / k);
    InverseAffine {
        a: a as f32,
        b: b as f32,
        c: c as f32,
        d: d as f32,
        tx: (sprite_w as f64 / 2.0 - a * cx - b * cy) as f32,
        ty: (sprite_h as f64 / 2.0 - c * cx - d * cy) as f32,
    }
}
