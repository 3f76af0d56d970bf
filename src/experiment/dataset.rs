//! Write a `generate`-style folder (GIFs under clips/, manifest.jsonl, captions.jsonl with
//! paraphrases) from given libraries: the demo's preview clips and the experiment's
//! downstream set, through the same code paths as `locomotion generate --captions`.

use std::path::Path;

use anyhow::Result;

use crate::caption::records::write_captions;
use crate::cli::generate::{write_gif, write_manifest};
use crate::gpu::Gpu;
use crate::motion::params::{ClipParams, ManifestEntry};
use crate::motion::{BackgroundLibrary, Compositor, GenConfig, ObjectLibrary, sample_clip};

/// What to generate.
#[derive(Debug, Clone)]
pub struct DatasetSpec {
    /// Clips.
    pub clips: u64,
    /// Seed of the clips and paraphrases.
    pub seed: u64,
    /// Clip size and motion options.
    pub generation: GenConfig,
    /// Paraphrases per motion caption.
    pub paraphrases: usize,
}

/// Generate `spec`'s clips from `objects` on `backgrounds` into `dir`; returns the manifest.
pub fn write_dataset(
    gpu: &Gpu,
    dir: &Path,
    spec: &DatasetSpec,
    objects: &ObjectLibrary,
    backgrounds: &BackgroundLibrary,
    progress: bool,
) -> Result<Vec<ManifestEntry>> {
    spec.generation.validate()?;
    super::stage::create_dir(&dir.join("clips"))?;
    let comp = Compositor::new(gpu, objects, backgrounds)?;
    let g = &spec.generation;
    let bar = crate::util::progress::bar(progress, spec.clips, "generate", "clips");
    let frame_bytes = (g.frames * g.height * g.width * 4) as usize;
    let mut entries = Vec::with_capacity(spec.clips as usize);
    let indices: Vec<u64> = (0..spec.clips).collect();
    for chunk in indices.chunks(16) {
        let clips: Vec<ClipParams> = chunk
            .iter()
            .map(|&i| sample_clip(spec.seed, i, g, objects, backgrounds))
            .collect();
        let pixels = comp.render_rgba8(&clips)?;
        for (clip, frames) in clips.into_iter().zip(pixels.chunks_exact(frame_bytes)) {
            let gif = format!("clips/{}.gif", clip.id);
            write_gif(&dir.join(&gif), frames, g.width, g.height)?;
            entries.push(ManifestEntry {
                id: clip.id.clone(),
                gif: Some(gif),
                frames_dir: None,
                params: clip,
            });
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    write_manifest(&dir.join("manifest.jsonl"), &entries)?;
    let clips: Vec<&ClipParams> = entries.iter().map(|e| &e.params).collect();
    write_captions(
        &dir.join("captions.jsonl"),
        &clips,
        spec.paraphrases,
        spec.seed,
    )?;
    Ok(entries)
}
