//! `--paraphrases` of `generate --captions` and `describe`: its bound and the warning when
//! captions have fewer checked rewrites than asked.

/// Most paraphrases per caption `--paraphrases` may ask for.
pub const MAX_PARAPHRASES: usize = 64;

/// `--paraphrases` of `generate` and `describe`: at most [`MAX_PARAPHRASES`].
pub fn check(n: usize) -> anyhow::Result<()> {
    if n > MAX_PARAPHRASES {
        anyhow::bail!("--paraphrases must be 0 to {MAX_PARAPHRASES}, got {n}");
    }
    Ok(())
}

/// Warn when `short` of `clips` motion captions got fewer than the `asked` paraphrases
/// (`describe` and `generate --captions`).
pub fn warn_short(short: usize, clips: usize, asked: usize) {
    if short > 0 {
        eprintln!(
            "warning: {short} of {clips} clips got fewer than the {asked} paraphrases asked (their captions have fewer checked rewrites)"
        );
    }
}
