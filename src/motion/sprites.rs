//! Objects to paste: RGBA sprites (premultiplied alpha) with their names and categories,
//! from the built-in shapes or from a user folder of RGBA PNGs.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde::Deserialize;

use super::params::{Category, ObjectRef};

pub use super::params::Sprite;

/// Longest side a user sprite is kept at: the largest pasted object (half of a 224² frame)
/// needs no more, and it bounds the GPU atlas.
pub const MAX_SPRITE_PX: u32 = 160;

/// The objects a dataset draws from, in a fixed order (sampling indexes into it).
#[derive(Debug, Clone)]
pub struct ObjectLibrary {
    /// Each object's name and category with its sprite.
    pub objects: Vec<(ObjectRef, Sprite)>,
}

/// An `objects.json` entry: the name and category of one file.
#[derive(Debug, Deserialize)]
struct ObjectMeta {
    name: String,
    #[serde(default = "other")]
    category: Category,
}

fn other() -> Category {
    Category::Other
}

impl ObjectLibrary {
    /// The built-in shapes in every colour (64 objects).
    pub fn builtin() -> Self {
        Self {
            objects: super::shapes::builtin_objects(),
        }
    }

    /// Every `*.png` in `dir`, sorted by file name. The alpha channel is the object's mask;
    /// the noun comes from `objects.json` (`{"red_car.png": {"name": "red car",
    /// "category": "vehicle"}}`) when present, else from the file name (`red_car.png` →
    /// "red car", category other).
    pub fn from_dir(dir: &Path) -> anyhow::Result<Self> {
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read the objects folder '{}'", dir.display()))?;
        let mut files: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")))
            .collect();
        files.sort();
        if files.is_empty() {
            bail!("the objects folder '{}' has no .png files", dir.display());
        }
        let meta_path = dir.join("objects.json");
        let meta: BTreeMap<String, ObjectMeta> = if meta_path.exists() {
            let text = std::fs::read_to_string(&meta_path)
                .with_context(|| format!("cannot read '{}'", meta_path.display()))?;
            serde_json::from_str(&text).with_context(|| {
                format!(
                    "'{}' is not a map of file name to {{\"name\", \"category\"}}",
                    meta_path.display()
                )
            })?
        } else {
            BTreeMap::new()
        };
        let mut objects = Vec::new();
        for path in files {
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let sprite = load_sprite(&path)?;
            let (name, category) = match meta.get(&file) {
                Some(m) => (m.name.clone(), m.category),
                None => (noun_from_file(&file), Category::Other),
            };
            objects.push((
                ObjectRef {
                    id: format!("user:{file}"),
                    name,
                    category,
                },
                sprite,
            ));
        }
        Ok(Self { objects })
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The index of the object with stable id `id`.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.objects.iter().position(|(o, _)| o.id == id)
    }
}

/// "red_car.png" → "red car".
pub fn noun_from_file(file: &str) -> String {
    let stem = file.rsplit_once('.').map(|(s, _)| s).unwrap_or(file);
    stem.replace(['_', '-'], " ").trim().to_string()
}

/// Load one RGBA PNG, premultiply it and shrink it to at most [`MAX_SPRITE_PX`].
pub fn load_sprite(path: &Path) -> anyhow::Result<Sprite> {
    // The declared size is checked before decoding (a header may declare gigapixels).
    let img = crate::util::limits::read_image("sprite", path)?;
    if !img.color().has_alpha() {
        bail!(
            "sprite '{}' has no alpha channel (the alpha is the object's mask): save it as an RGBA PNG",
            path.display()
        );
    }
    let mut rgba = img.to_rgba8();
    for p in rgba.pixels_mut() {
        let a = p[3] as u32;
        for c in 0..3 {
            p[c] = ((p[c] as u32 * a + 127) / 255) as u8;
        }
    }
    let (w, h) = rgba.dimensions();
    if w == 0 || h == 0 {
        bail!("sprite '{}' is empty", path.display());
    }
    let longest = w.max(h);
    if longest > MAX_SPRITE_PX {
        // Resizing premultiplied pixels keeps transparent neighbours from darkening edges.
        let k = MAX_SPRITE_PX as f32 / longest as f32;
        let (nw, nh) = (
            ((w as f32 * k).round() as u32).max(1),
            ((h as f32 * k).round() as u32).max(1),
        );
        rgba = image::imageops::resize(&rgba, nw, nh, image::imageops::FilterType::Triangle);
    }
    let (width, height) = rgba.dimensions();
    Ok(Sprite {
        width,
        height,
        rgba: rgba.into_raw(),
    })
}
