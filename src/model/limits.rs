//! Stated limits on every size a config may declare, checked before anything is sized from
//! it (a `config.json` edited to claim 2³⁰ layers must not allocate 2³⁰ of anything). Each is
//! far above the `base` preset and published BERT / ViT models.

/// Transformer layers of any encoder.
pub const MAX_LAYERS: usize = 64;
/// Hidden size of any encoder, and the VTC projection size.
pub const MAX_HIDDEN: usize = 8192;
/// Attention heads of any encoder.
pub const MAX_HEADS: usize = 256;
/// A feed-forward width (BERT's intermediate size; the ViT's hidden × mlp_ratio).
pub const MAX_INTERMEDIATE: usize = 65_536;
/// Word-piece vocabulary rows (multilingual BERT has 119 547).
pub const MAX_VOCAB: usize = 1 << 20;
/// Learned text positions (the longest text).
pub const MAX_POSITIONS: usize = 8192;
/// Token types.
pub const MAX_TOKEN_TYPES: usize = 16;
/// Frames per clip.
pub const MAX_FRAMES: usize = 512;
/// Frame height or width in pixels.
pub const MAX_SIDE: usize = 2048;
/// Colour channels.
pub const MAX_CHANNELS: usize = 4;
/// VTM hard negatives per pair.
pub const MAX_HARD_NEGATIVES: usize = 64;
/// Learnable values of the whole model (4 GiB of f32; `base` has about 0.2 G).
pub const MAX_PARAMETERS: u64 = 1 << 30;
