//! `Report` → one self-contained HTML page: inline CSS, relative image paths, every piece of
//! text escaped (captions come from user-supplied names and LLM paraphrases).

use std::fmt::Write as _;

use super::document::{Clip, Element, Report, Table, url_path};
use super::font::escape_xml as esc;

const CSS: &str = "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;\
padding:0 1em;color:#222;line-height:1.45}\
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .7em;\
text-align:left}th{background:#f3f3f3}td.chance,th.chance{color:#888;font-style:italic}\
figure{margin:1em 0}figure img{max-width:100%}figcaption{color:#555;font-size:.9em}\
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:1em}\
.clip{border:1px solid #ddd;border-radius:6px;padding:.6em}.clip img{width:100%;\
image-rendering:pixelated}.clip dt{font-weight:600}.clip dd{margin:0 0 .4em 0}\
.clip ul{margin:.2em 0;padding-left:1.2em}\
dl.settings{display:grid;grid-template-columns:max-content auto;gap:.1em 1em}\
dl.settings dt{font-weight:600}dl.settings dd{margin:0;font-family:ui-monospace,monospace}";

impl Report {
    /// The report as a standalone HTML page.
    pub fn to_html(&self) -> String {
        let mut s = String::new();
        let title = esc(&self.title);
        let _ = write!(
            s,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
        );
        for element in &self.elements {
            html_element(&mut s, element);
        }
        s.push_str("</body>\n</html>\n");
        s
    }
}

fn html_element(s: &mut String, element: &Element) {
    match element {
        Element::Heading(level, text) => {
            let level = (*level).clamp(1, 6);
            let _ = writeln!(s, "<h{level}>{}</h{level}>", esc(text));
        }
        Element::Paragraph(text) => {
            let _ = writeln!(s, "<p>{}</p>", esc(text));
        }
        Element::Table(table) => html_table(s, table),
        Element::Image { path, alt } => {
            let _ = writeln!(
                s,
                "<figure><img src=\"{}\" alt=\"{}\"></figure>",
                esc(&url_path(path)),
                esc(alt)
            );
        }
        Element::Figure { svg, png, caption } => {
            // <picture> shows the sharp SVG and falls back to the PNG.
            let _ = writeln!(
                s,
                "<figure><picture><source srcset=\"{}\" type=\"image/svg+xml\">\
                 <img src=\"{}\" alt=\"{}\"></picture><figcaption>{}</figcaption></figure>",
                esc(&url_path(svg)),
                esc(&url_path(png)),
                esc(caption),
                esc(caption)
            );
        }
        Element::Gallery(clips) => {
            s.push_str("<div class=\"gallery\">\n");
            for clip in clips {
                html_clip(s, clip);
            }
            s.push_str("</div>\n");
        }
    }
}

fn html_table(s: &mut String, table: &Table) {
    let class = |c: usize| {
        if table.is_muted(c) {
            " class=\"chance\""
        } else {
            ""
        }
    };
    s.push_str("<table>\n<thead><tr>");
    for (c, cell) in table.header_cells().iter().enumerate() {
        let _ = write!(s, "<th{}>{}</th>", class(c), esc(cell));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for r in 0..table.rows.len() {
        s.push_str("<tr>");
        for (c, cell) in table.row_cells(r).iter().enumerate() {
            let _ = write!(s, "<td{}>{}</td>", class(c), esc(cell));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody>\n</table>\n");
}

fn html_clip(s: &mut String, clip: &Clip) {
    let _ = writeln!(
        s,
        "<div class=\"clip\"><img src=\"{}\" alt=\"{}\"><h4>{}</h4><dl>",
        esc(&url_path(&clip.gif)),
        esc(&clip.name),
        esc(&clip.name)
    );
    for (kind, text) in &clip.captions {
        let _ = writeln!(s, "<dt>{}</dt><dd>{}</dd>", esc(kind), esc(text));
    }
    if !clip.paraphrases.is_empty() {
        s.push_str("<dt>paraphrases (of the motion caption)</dt><dd><ul class=\"paraphrases\">");
        for p in &clip.paraphrases {
            let _ = write!(s, "<li>{}</li>", esc(p));
        }
        s.push_str("</ul></dd>");
    }
    s.push_str("</dl></div>\n");
}
