//! The charts' one font, DejaVu Sans embedded in the binary (no system fonts): registered with
//! plotters (which measures text with it) and with resvg (which draws the PNG), plus XML escaping.

use std::sync::{Arc, Once, OnceLock};

use plotters::style::{FontStyle, register_font};
use resvg::usvg;

/// The font family every chart names: the embedded DejaVu Sans first, so the SVG written by
/// plotters carries fallbacks for browsers without it.
pub const FONT_FAMILY: &str = "DejaVu Sans, Verdana, sans-serif";

/// Register the embedded font with plotters under [`FONT_FAMILY`] (once per process).
pub(super) fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is compiled in; a parse failure would be caught by every chart test.
        let _ = register_font(FONT_FAMILY, FontStyle::Normal, dejavu::sans::regular());
    });
}

/// Parser options with the embedded font as the only (and sans-serif) family, built once.
pub(super) fn options() -> &'static usvg::Options<'static> {
    static OPTIONS: OnceLock<usvg::Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(dejavu::sans::regular().to_vec());
        db.set_sans_serif_family("DejaVu Sans");
        usvg::Options {
            font_family: "DejaVu Sans".into(),
            fontdb: Arc::new(db),
            ..usvg::Options::default()
        }
    })
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
