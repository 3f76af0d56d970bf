//! Synthetic object motion: sprites, backgrounds, trajectories and the GPU compositor.

pub mod params;
