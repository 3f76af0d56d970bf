//! `Report` → GitHub-flavoured Markdown: the same content as the HTML page, with charts as
//! PNG and text escaped so captions cannot break tables or inject markup.

use std::fmt::Write as _;

use super::document::{Element, Report, Table, url_path};

/// Backslash-escape Markdown punctuation and fold newlines, so `text` renders literally on
/// one line (inside a table cell too: `|` is escaped).
pub fn escape_md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

impl Report {
    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = format!("# {}\n\n", escape_md(&self.title));
        for element in &self.elements {
            md_element(&mut s, element);
            s.push('\n');
        }
        s
    }
}

fn md_element(s: &mut String, element: &Element) {
    match element {
        Element::Heading(level, text) => {
            let level = (*level).clamp(1, 6);
            let _ = writeln!(s, "{} {}", "#".repeat(level as usize), escape_md(text));
        }
        Element::Paragraph(text) => {
            let _ = writeln!(s, "{}", escape_md(text));
        }
        Element::Table(table) => md_table(s, table),
        Element::Image { path, alt } => {
            let _ = writeln!(s, "![{}]({})", escape_md(alt), url_path(path));
        }
        Element::Figure { png, caption, .. } => {
            let _ = writeln!(s, "![{}]({})\n", escape_md(caption), url_path(png));
            let _ = writeln!(s, "*{}*", escape_md(caption));
        }
        Element::Gallery(clips) => {
            for clip in clips {
                let _ = writeln!(s, "#### {}\n", escape_md(&clip.name));
                let _ = writeln!(s, "![{}]({})\n", escape_md(&clip.name), url_path(&clip.gif));
                for (kind, text) in &clip.captions {
                    let _ = writeln!(s, "- **{}:** {}", escape_md(kind), escape_md(text));
                }
                if !clip.paraphrases.is_empty() {
                    let _ = writeln!(s, "- **paraphrases (of the motion caption):**");
                    for p in &clip.paraphrases {
                        let _ = writeln!(s, "  - {}", escape_md(p));
                    }
                }
                s.push('\n');
            }
        }
    }
}

fn md_table(s: &mut String, table: &Table) {
    let line = |cells: Vec<String>, body: bool| {
        let cells: Vec<String> = (cells.iter().enumerate())
            .map(|(i, c)| {
                // Chance levels in italics, as the HTML page shows them muted.
                if body && table.is_muted(i) && !c.is_empty() {
                    format!("*{}*", escape_md(c))
                } else {
                    escape_md(c)
                }
            })
            .collect();
        format!("| {} |\n", cells.join(" | "))
    };
    s.push_str(&line(table.header_cells(), false));
    s.push_str(&format!("|{}\n", " --- |".repeat(table.columns())));
    for r in 0..table.rows.len() {
        s.push_str(&line(table.row_cells(r), true));
    }
}
