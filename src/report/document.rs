//! The report document model (headings, paragraphs, tables, figures, clip galleries) and
//! writing it as `report.html` + `report.md` side by side.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::scene::Scene;
use crate::util::fs::write_atomic;

/// A table: header, rows of cells, and optionally a trailing "chance" column (one value per
/// row) shown muted so readers can compare each result with its chance level.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows of cells; a short row is padded with empty cells.
    pub rows: Vec<Vec<String>>,
    /// Chance level per row.
    pub chance: Option<Vec<String>>,
    /// Columns (0-based, chance column excluded) shown muted like the chance column: chance
    /// levels that sit beside the number they belong to.
    pub muted: Vec<usize>,
}

impl Table {
    /// A table with these column names and no rows.
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            ..Table::default()
        }
    }

    /// Append a row.
    pub fn row(mut self, cells: Vec<String>) -> Self {
        self.rows.push(cells);
        self
    }

    /// Add the chance column, one value per row.
    pub fn chance_column(mut self, values: Vec<String>) -> Self {
        self.chance = Some(values);
        self
    }

    /// Show columns `cols` muted (chance levels beside their numbers).
    pub fn muted(mut self, cols: &[usize]) -> Self {
        self.muted = cols.to_vec();
        self
    }

    /// Whether column `c` (of `header_cells`/`row_cells`) is shown muted.
    pub fn is_muted(&self, c: usize) -> bool {
        self.muted.contains(&c) || (self.chance.is_some() && c + 1 == self.columns())
    }

    /// Column count including the chance column.
    pub fn columns(&self) -> usize {
        let widest = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        self.header.len().max(widest) + usize::from(self.chance.is_some())
    }

    /// Header cells, chance column included.
    pub fn header_cells(&self) -> Vec<String> {
        let mut cells = self.header.clone();
        cells.resize(
            self.columns() - usize::from(self.chance.is_some()),
            String::new(),
        );
        if self.chance.is_some() {
            cells.push("chance".into());
        }
        cells
    }

    /// Row `r`'s cells padded to the table width, chance value last.
    pub fn row_cells(&self, r: usize) -> Vec<String> {
        let mut cells = self.rows[r].clone();
        cells.resize(
            self.columns() - usize::from(self.chance.is_some()),
            String::new(),
        );
        if let Some(chance) = &self.chance {
            cells.push(chance.get(r).cloned().unwrap_or_default());
        }
        cells
    }
}

/// One generated clip beside its captions and paraphrases.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Clip {
    /// Clip name (manifest id).
    pub name: String,
    /// The preview GIF, relative to the report folder.
    pub gif: String,
    /// Caption kind ("motion", "spatial", ...) → caption text.
    pub captions: Vec<(String, String)>,
    /// Verb-variation paraphrases of the motion caption.
    pub paraphrases: Vec<String>,
}

/// One block of a report, in reading order.
#[derive(Debug, Clone, PartialEq)]
pub enum Element {
    /// A section heading; level 2 or deeper (level 1 is the report title).
    Heading(u8, String),
    /// A paragraph of plain text.
    Paragraph(String),
    /// A table.
    Table(Table),
    /// An image (relative path) with alt text.
    Image {
        /// Path relative to the report folder.
        path: String,
        /// Alt text.
        alt: String,
    },
    /// A chart saved as SVG (shown in HTML) and PNG (shown in Markdown, HTML fallback).
    Figure {
        /// SVG path relative to the report folder.
        svg: String,
        /// PNG path relative to the report folder.
        png: String,
        /// Alt text and caption.
        caption: String,
    },
    /// A gallery of clips.
    Gallery(Vec<Clip>),
}

/// A report: a title and blocks, rendered by `to_html` and `to_markdown`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// Title (the page's h1).
    pub title: String,
    /// Content in reading order.
    pub elements: Vec<Element>,
}

/// What `Report::write` produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// The HTML report.
    pub html: PathBuf,
    /// The Markdown report.
    pub markdown: PathBuf,
}

impl Report {
    /// An empty report.
    pub fn new(title: &str) -> Self {
        Report {
            title: title.into(),
            elements: Vec::new(),
        }
    }

    /// Append a block.
    pub fn push(&mut self, element: Element) -> &mut Self {
        self.elements.push(element);
        self
    }

    /// Append a heading (level 2 = section).
    pub fn heading(&mut self, level: u8, text: &str) -> &mut Self {
        self.push(Element::Heading(level.clamp(2, 6), text.into()))
    }

    /// Append a paragraph.
    pub fn paragraph(&mut self, text: &str) -> &mut Self {
        self.push(Element::Paragraph(text.into()))
    }

    /// Save `chart` as `<dir>/<stem>.svg` and `.png` and append it as a figure.
    pub fn chart(&mut self, dir: &Path, stem: &str, chart: &Scene, caption: &str) -> Result<()> {
        chart.save(&dir.join(stem))?;
        self.push(Element::Figure {
            svg: format!("{stem}.svg"),
            png: format!("{stem}.png"),
            caption: caption.into(),
        });
        Ok(())
    }

    /// Write `report.html` and `report.md` into `dir` (which must exist), atomically.
    pub fn write(&self, dir: &Path) -> Result<Written> {
        let html = dir.join("report.html");
        let markdown = dir.join("report.md");
        write_atomic(&html, self.to_html().as_bytes())?;
        write_atomic(&markdown, self.to_markdown().as_bytes())?;
        Ok(Written { html, markdown })
    }
}

/// Percent-encode the characters that would end or break a relative URL in either format
/// (spaces, quotes, parentheses, angle brackets); path separators stay.
pub fn url_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.replace('\\', "/").chars() {
        match c {
            ' ' | '"' | '\'' | '(' | ')' | '<' | '>' | '#' | '?' | '%' | '|' => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            _ => out.push(c),
        }
    }
    out
}
