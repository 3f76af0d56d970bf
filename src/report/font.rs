//! The charts' one font, DejaVu Sans embedded in the binary (no system fonts): its family
//! name, the SVG parser options that use it, text widths in it, and XML escaping.

use std::sync::{Arc, OnceLock};

use resvg::usvg;

/// The font family every chart names first; it is the one embedded here.
pub const FONT_FAMILY: &str = "DejaVu Sans";

/// Parser options with the embedded font as the only (and sans-serif) family, built once.
pub(super) fn options() -> &'static usvg::Options<'static> {
    static OPTIONS: OnceLock<usvg::Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(dejavu::sans::regular().to_vec());
        db.set_sans_serif_family(FONT_FAMILY);
        usvg::Options {
            font_family: FONT_FAMILY.into(),
            fontdb: Arc::new(db),
            ..usvg::Options::default()
        }
    })
}

/// Width in pixels of `text` set in the embedded font at `size` px (what the PNG shows;
/// browsers showing the SVG with DejaVu Sans agree).
pub fn measure(text: &str, size: f64) -> Option<f64> {
    if text.trim().is_empty() {
        return Some(0.0);
    }
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text x="0" y="50" font-size="{size}">{}</text></svg>"#,
        escape_xml(text)
    );
    let tree = usvg::Tree::from_str(&svg, options()).ok()?;
    let w = tree.root().abs_bounding_box().width() as f64;
    w.is_finite().then_some(w)
}

/// Escape text for XML/HTML content and attribute values.
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
