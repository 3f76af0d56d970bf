//! Synthetic object motion: sprites, backgrounds, trajectories and the GPU compositor.

pub mod atlas;
pub mod backgrounds;
pub mod composite;
pub mod ffmpeg;
pub mod params;
pub mod path;
pub mod procedural;
pub mod reference;
pub mod shapes;
pub mod sprites;
pub mod trajectory;

pub use backgrounds::{BackgroundLibrary, BackgroundVideo};
pub use composite::{Compositor, Output};
pub use path::{ObjectState, clip_states, object_state};
pub use sprites::{ObjectLibrary, Sprite};
pub use trajectory::{GenConfig, sample_clip};
