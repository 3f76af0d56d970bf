//! Motion groups: clips that share their object and background and differ only in motion.
//!
//! The motion benchmark is made of them, and so are motion-hard training batches
//! (`--group-size G`): in a batch of random clips, appearance tells almost every pair apart
//! and VTC is solved without looking at motion; in a batch of groups, only the motion tells
//! the clips of one group apart.

use crate::caption::{CaptionKind, describe};
use crate::motion::params::ClipParams;
use crate::motion::{BackgroundLibrary, GenConfig, ObjectLibrary, sample_clip};

/// Group `group` of the clips made with `seed`: up to `size` clips with the object(s) and
/// background of the group's first draw and pairwise different motion (different
/// `template` captions). A motion space too small to fill the group (tried 20 draws per
/// clip) leaves it smaller. Every clip is a pure function of (seed, group, its place).
pub fn motion_group(
    seed: u64,
    group: u64,
    size: usize,
    generation: &GenConfig,
    objects: &ObjectLibrary,
    backgrounds: &BackgroundLibrary,
) -> Vec<ClipParams> {
    let first = sample_clip(seed, group << 32, generation, objects, backgrounds);
    let objects = ObjectLibrary {
        objects: first
            .objects
            .iter()
            .filter_map(|o| objects.index_of(&o.object.id))
            .map(|i| objects.objects[i].clone())
            .collect(),
    };
    let bg = backgrounds
        .index_of(&first.background.id)
        .expect("sampled from this library");
    let backgrounds = BackgroundLibrary {
        videos: vec![backgrounds.videos[bg].clone()],
        ..backgrounds.clone()
    };
    let mut out: Vec<ClipParams> = Vec::with_capacity(size);
    let mut seen: Vec<String> = Vec::with_capacity(size);
    for j in 0..(size as u64 * 20) {
        if out.len() == size {
            break;
        }
        let clip = sample_clip(
            seed,
            (group << 32) | (j + 1),
            generation,
            &objects,
            &backgrounds,
        );
        let caption = describe(&clip, CaptionKind::Template);
        if !seen.contains(&caption) {
            seen.push(caption);
            out.push(clip);
        }
    }
    out
}
