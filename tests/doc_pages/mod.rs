//! Reading the Markdown pages as a newcomer does, for tests/docs.rs: fenced blocks and prose,
//! inline code, the `locomotion …` commands they write, links, headings and their anchors.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A prose line: its 1-based number and text.
pub type Prose<'a> = (usize, &'a str);
/// A line of a fenced block: its 1-based number, text and the block's info string.
pub type Fenced<'a> = (usize, &'a str, String);

/// A page: its path relative to the repository root and its lines.
pub struct Page {
    pub name: String,
    pub lines: Vec<String>,
}

impl Page {
    pub fn read(rel: &str) -> Page {
        let path = Path::new(ROOT).join(rel);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        Page {
            name: rel.to_string(),
            lines: text.lines().map(str::to_string).collect(),
        }
    }

    /// The page's prose lines (outside fenced blocks) and its fenced lines with their block's
    /// info string, each with its 1-based line number.
    pub fn split(&self) -> (Vec<Prose<'_>>, Vec<Fenced<'_>>) {
        let (mut prose, mut fenced) = (Vec::new(), Vec::new());
        let mut fence: Option<(String, String)> = None; // (marker, info string)
        for (i, line) in self.lines.iter().enumerate() {
            let t = line.trim_start();
            let marker: String = t.chars().take_while(|&c| c == '`' || c == '~').collect();
            if marker.len() >= 3 {
                match &fence {
                    Some((m, _)) if t.trim_end() == m.as_str() => fence = None,
                    Some(_) => fenced.push((i + 1, line.as_str(), fence.clone().unwrap().1)),
                    None => fence = Some((marker.clone(), t[marker.len()..].trim().to_string())),
                }
                continue;
            }
            match &fence {
                Some((_, info)) => fenced.push((i + 1, line.as_str(), info.clone())),
                None => prose.push((i + 1, line.as_str())),
            }
        }
        assert!(
            fence.is_none(),
            "{}: a fenced block is never closed",
            self.name
        );
        (prose, fenced)
    }
}

/// README.md and docs/*.md: the pages whose commands a newcomer copies.
pub fn command_pages() -> Vec<Page> {
    let mut names = vec!["README.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(Path::new(ROOT).join("docs"))
        .expect("docs/")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    names.extend(docs);
    names.iter().map(|n| Page::read(n)).collect()
}

/// The inline code spans of a prose line (`…`, and ``…`` with a backtick inside).
pub fn code_spans(line: &str) -> Vec<&str> {
    let mut spans = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
        let body = &rest[start + ticks..];
        let close = "`".repeat(ticks);
        match body.find(&close) {
            Some(end) => {
                spans.push(body[..end].trim());
                rest = &body[end + ticks..];
            }
            None => break,
        }
    }
    spans
}

/// A command a page writes: where, as written, and its words after the program name.
pub struct Written {
    pub at: String,
    pub text: String,
    pub words: Vec<String>,
    /// Inline code in prose names a command (`locomotion eval --benchmark motion`) rather than
    /// giving one to run: its flags must exist, but it may leave out required ones.
    pub mention: bool,
}

/// Split `s` into shell words up to the end of the command: an unquoted `#` comment, `|`, `;`,
/// `&`, `>`, `<`, `)` or, when the command sits inside a quote (`sh -c '…'`), that quote's end.
/// `...` and `…` (elided flags) are dropped.
pub fn shell_words(s: &str, inside: Option<char>) -> Vec<String> {
    let (mut words, mut word, mut quote) = (Vec::new(), None::<String>, None::<char>);
    let mut prev = ' ';
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.get_or_insert_with(String::new).push(c),
            None if Some(c) == inside => break,
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            None if c.is_whitespace() => words.extend(word.take()),
            None if "|;&><)".contains(c) || (c == '#' && prev.is_whitespace()) => break,
            None => word.get_or_insert_with(String::new).push(c),
        }
        prev = c;
    }
    words.extend(word);
    words.retain(|w| w != "..." && w != "…");
    words
}

/// Every invocation of the binary in `line`: `locomotion …`, `target/release/locomotion …`
/// (with or without `./`, after `mpirun`, `srun` or `sh -c '`), and `cargo run --release -- …`.
pub fn invocations(line: &str) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(pos) = line[from..].find("locomotion") {
        let start = from + pos;
        let end = start + "locomotion".len();
        from = end;
        let before = if start == 0 { b' ' } else { bytes[start - 1] };
        let after = bytes.get(end).copied().unwrap_or(b' ');
        if !(before == b' ' || before == b'/' || before == b'\'' || before == b'"')
            || !(after == b' ' || after == b'\t' || end == line.len())
        {
            continue;
        }
        // A path ending in /locomotion must be the built binary, not a folder of that name.
        let word_start = line[..start].rfind([' ', '\'', '"']).map_or(0, |i| i + 1);
        let program = &line[word_start..end];
        if before == b'/' && !program.ends_with("target/release/locomotion") {
            continue;
        }
        if !at_command_position(&line[..word_start]) {
            continue;
        }
        let inside = line[..word_start]
            .chars()
            .next_back()
            .filter(|c| *c == '\'' || *c == '"');
        let words = shell_words(&line[end..], inside);
        found.push((line[word_start..].to_string(), words));
    }
    if let Some(pos) = line.find("cargo run") {
        let cargo = &line[pos..];
        let words = shell_words(cargo, None);
        let runs_other = words
            .iter()
            .take_while(|w| *w != "--")
            .any(|w| w == "--example" || w == "--bin" || w == "--bench" || w == "-p");
        if let Some(dash) = words.iter().position(|w| w == "--")
            && !runs_other
        {
            found.push((cargo.to_string(), words[dash + 1..].to_vec()));
        }
    }
    found
}

/// True when a program starting after `prefix` is run, not mentioned: at the start of the line,
/// after `&&`, `;`, `|`, `do`, `then` or an opening quote (`sh -c '`), or after a launcher
/// such as `mpirun`, `srun`, `time` or environment assignments.
pub fn at_command_position(prefix: &str) -> bool {
    let p = prefix.trim_end();
    if p.is_empty() || p.ends_with("&&") || p.ends_with(';') || p.ends_with('|') {
        return true;
    }
    if p.ends_with('\'') || p.ends_with('"') || prefix.ends_with('\'') || prefix.ends_with('"') {
        return true;
    }
    let last = p.split_whitespace().next_back().unwrap_or("");
    if ["do", "then", "else", "time", "exec"].contains(&last) {
        return true;
    }
    let first = p.split_whitespace().next().unwrap_or("");
    ["mpirun", "srun", "time", "sudo", "env", "timeout", "nohup"].contains(&first)
        || first.contains('=')
}

/// Every command of the binary the pages write, in fenced blocks (not `rust` ones; a line
/// ending in `\` continues on the next) and in inline code.
pub fn written_commands(pages: &[Page]) -> Vec<Written> {
    let mut out = Vec::new();
    for page in pages {
        let (prose, fenced) = page.split();
        let mut pending: Option<(usize, String)> = None;
        for (n, line, info) in fenced {
            if info.starts_with("rust") {
                continue;
            }
            let (first, mut text) = pending.take().unwrap_or((n, String::new()));
            let line = line.trim_start_matches("$ ");
            if let Some(cont) = line.trim_end().strip_suffix('\\') {
                text.push_str(cont);
                text.push(' ');
                pending = Some((first, text));
                continue;
            }
            text.push_str(line);
            for (shown, words) in invocations(&text) {
                out.push(Written {
                    at: format!("{}:{first}", page.name),
                    text: shown.trim().to_string(),
                    words,
                    mention: false,
                });
            }
        }
        for (n, line) in prose {
            for span in code_spans(line) {
                if span.starts_with("locomotion ") || span.starts_with("cargo run ") {
                    for (shown, words) in invocations(span) {
                        out.push(Written {
                            at: format!("{}:{n}", page.name),
                            text: shown,
                            words,
                            mention: true,
                        });
                    }
                }
            }
        }
    }
    out
}

/// The targets of the Markdown links and images of a line, outside inline code.
pub fn links(line: &str) -> Vec<String> {
    let mut prose = String::new();
    let mut code = false;
    for c in line.chars() {
        if c == '`' {
            code = !code;
        } else if !code {
            prose.push(c);
        }
    }
    let mut out = Vec::new();
    let mut rest = prose.as_str();
    while let Some(i) = rest.find("](") {
        let body = &rest[i + 2..];
        let Some(end) = body.find(')') else { break };
        let target = body[..end].split_whitespace().next().unwrap_or("");
        out.push(target.to_string());
        rest = &body[end..];
    }
    out
}

/// GitHub's anchor of a heading: lower case, spaces to hyphens, punctuation dropped.
pub fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors a page's headings give (a repeated heading gets -1, -2 …).
pub fn anchors(page: &Page) -> BTreeSet<String> {
    let (prose, _) = page.split();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for (_, line) in prose {
        let t = line.trim_start();
        if !t.starts_with('#') {
            continue;
        }
        let s = slug(t.trim_start_matches('#'));
        let n = seen.entry(s.clone()).or_insert(0);
        out.insert(if *n == 0 { s } else { format!("{s}-{n}") });
        *n += 1;
    }
    out
}

/// `a/b/../c` → `a/c` (the path need not exist).
pub fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The text after `marker` on `line`, up to the table row's closing `|`.
pub fn cell_after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let rest = &line[line.find(marker)? + marker.len()..];
    Some(rest.trim_end().trim_end_matches('|').trim())
}
