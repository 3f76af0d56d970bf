//! The WGSL sources under `shaders/`, embedded at build time (see `build.rs`).

include!(concat!(env!("OUT_DIR"), "/shaders.rs"));

/// The source of the shader whose file stem is `name`.
pub fn source(name: &str) -> Option<&'static str> {
    SHADERS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}
