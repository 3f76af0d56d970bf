//! The docs match the binary. Every `locomotion …` command written in README.md and docs/*.md
//! (fenced blocks and inline code) parses with the CLI's own clap definition: subcommands,
//! flag names, value forms, required flags. Every subcommand has a row in README's command
//! table, and the pages that row links to name every one of its flags. Every relative link
//! and image path in README.md, BENCHMARKS.md and docs/*.md exists, anchors included. The
//! captions and paraphrases captions.md and README quote verbatim are what the binary writes.
//! No GPU, no process: it reads the pages, the clap definition (CommandFactory) and the
//! library's describer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap::error::ErrorKind;
use locomotion::cli::Cli;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A prose line: its 1-based number and text.
type Prose<'a> = (usize, &'a str);
/// A line of a fenced block: its 1-based number, text and the block's info string.
type Fenced<'a> = (usize, &'a str, String);

/// A page: its path relative to the repository root and its lines.
struct Page {
    name: String,
    lines: Vec<String>,
}

impl Page {
    fn read(rel: &str) -> Page {
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
    fn split(&self) -> (Vec<Prose<'_>>, Vec<Fenced<'_>>) {
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
fn command_pages() -> Vec<Page> {
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
fn code_spans(line: &str) -> Vec<&str> {
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
struct Written {
    at: String,
    text: String,
    words: Vec<String>,
    /// Inline code in prose names a command (`locomotion eval --benchmark motion`) rather than
    /// giving one to run: its flags must exist, but it may leave out required ones.
    mention: bool,
}

/// Split `s` into shell words up to the end of the command: an unquoted `#` comment, `|`, `;`,
/// `&`, `>`, `<`, `)` or, when the command sits inside a quote (`sh -c '…'`), that quote's end.
/// `...` and `…` (elided flags) are dropped.
fn shell_words(s: &str, inside: Option<char>) -> Vec<String> {
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
fn invocations(line: &str) -> Vec<(String, Vec<String>)> {
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
fn at_command_position(prefix: &str) -> bool {
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
fn written_commands(pages: &[Page]) -> Vec<Written> {
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

/// Every `locomotion …` command in the pages parses with the binary's clap definition.
#[test]
fn every_documented_command_parses_as_written() {
    let pages = command_pages();
    let commands = written_commands(&pages);
    assert!(
        commands.len() > 50,
        "found only {} commands in README.md and docs/: is the extraction broken?",
        commands.len()
    );
    let mut failures = Vec::new();
    for c in &commands {
        let argv = std::iter::once("locomotion".to_string()).chain(c.words.iter().cloned());
        if let Err(e) = <Cli as clap::Parser>::try_parse_from(argv) {
            let incomplete = matches!(
                e.kind(),
                ErrorKind::MissingRequiredArgument
                    | ErrorKind::MissingSubcommand
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            );
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
                || (incomplete && c.mention)
            {
                continue;
            }
            let msg = e.render().to_string();
            let first = if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                "no subcommand (a command to run needs one)".to_string()
            } else {
                // The message's first line and the indented lines under it (the missing flags).
                let mut lines = msg.lines();
                let head = lines.next().unwrap_or("").trim_start_matches("error: ");
                let more: Vec<&str> = lines
                    .take_while(|l| l.starts_with("  "))
                    .map(str::trim)
                    .collect();
                format!("{head} {}", more.join(" ")).trim().to_string()
            };
            let tip = msg
                .lines()
                .find(|l| l.trim_start().starts_with("tip:"))
                .map(|l| format!(" ({})", l.trim()))
                .unwrap_or_default();
            failures.push(format!("{}: `{}`: {first}{tip}", c.at, c.text));
        }
    }
    assert!(
        failures.is_empty(),
        "{} documented command(s) do not parse with the binary's flags:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every leaf subcommand (`generate`, `bench train`, …) with its long flags (no hidden ones,
/// no --help/--version).
fn subcommands() -> BTreeMap<String, Vec<String>> {
    fn walk(cmd: &clap::Command, prefix: &str, out: &mut BTreeMap<String, Vec<String>>) {
        for sub in cmd.get_subcommands() {
            let name = format!("{prefix}{}", sub.get_name()).trim().to_string();
            if sub.get_subcommands().next().is_some() {
                walk(sub, &format!("{name} "), out);
                continue;
            }
            let flags = sub
                .get_arguments()
                .filter(|a| !a.is_hide_set() && !a.is_global_set())
                .filter_map(|a| a.get_long())
                .filter(|l| *l != "help" && *l != "version")
                .map(|l| format!("--{l}"))
                .collect();
            out.insert(name, flags);
        }
    }
    let mut out = BTreeMap::new();
    walk(&Cli::command(), "", &mut out);
    out
}

/// README's "What runs today" table: each subcommand it names (`bench kernels`, `eval`) with
/// the pages its row links to.
fn readme_table() -> BTreeMap<String, Vec<String>> {
    let readme = Page::read("README.md");
    let mut rows = BTreeMap::new();
    for line in &readme.lines {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[1].starts_with('`') {
            continue;
        }
        let pages: Vec<String> = links(line)
            .into_iter()
            .filter_map(|t| t.split('#').next().map(str::to_string))
            .filter(|t| t.ends_with(".md"))
            .collect();
        for name in code_spans(cells[1]) {
            rows.insert(name.to_string(), pages.clone());
        }
    }
    rows
}

/// Every subcommand has a row in README's command table, and the pages that row links to (or
/// README itself) name each of its flags, so a new flag cannot ship undocumented.
#[test]
fn every_subcommand_and_flag_is_documented() {
    let table = readme_table();
    let readme = Page::read("README.md").lines.join("\n");
    let mut failures = Vec::new();
    for (cmd, flags) in subcommands() {
        let Some(pages) = table.get(&cmd) else {
            failures.push(format!(
                "README.md: the table under \"What runs today\" has no row for `{cmd}`"
            ));
            continue;
        };
        let texts: Vec<(String, String)> = pages
            .iter()
            .map(|p| {
                let rel = Path::new(p).to_string_lossy().into_owned();
                (rel.clone(), Page::read(&rel).lines.join("\n"))
            })
            .collect();
        for flag in flags {
            let named = |t: &str| {
                t.match_indices(&flag).any(|(i, _)| {
                    let next = t[i + flag.len()..].chars().next().unwrap_or(' ');
                    !(next.is_alphanumeric() || next == '-' || next == '_')
                })
            };
            if !named(&readme) && !texts.iter().any(|(_, t)| named(t)) {
                let where_ = texts
                    .iter()
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ");
                failures.push(format!(
                    "{where_}: `{flag}` of `locomotion {cmd}` is never mentioned (README's table links `{cmd}` there)"
                ));
            }
        }
    }
    let global = Cli::command()
        .get_arguments()
        .filter(|a| a.is_global_set())
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect::<Vec<_>>();
    let all_docs: String = command_pages().iter().map(|p| p.lines.join("\n")).collect();
    for flag in global {
        if !all_docs.contains(&flag) {
            failures.push(format!(
                "README.md and docs/: the global flag `{flag}` is never mentioned"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} undocumented subcommand(s) or flag(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The targets of the Markdown links and images of a line, outside inline code.
fn links(line: &str) -> Vec<String> {
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
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors a page's headings give (a repeated heading gets -1, -2 …).
fn anchors(page: &Page) -> BTreeSet<String> {
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

/// Every relative link and image of README.md, BENCHMARKS.md and docs/*.md points at a file
/// that exists, and every `#anchor` at a heading of its page.
#[test]
fn every_relative_link_and_image_exists() {
    let mut pages = command_pages();
    pages.push(Page::read("BENCHMARKS.md"));
    let mut failures = Vec::new();
    let mut checked = 0;
    for page in &pages {
        let dir = Path::new(&page.name)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let (prose, _) = page.split();
        for (n, line) in prose {
            for target in links(line) {
                if target.contains("://") || target.starts_with("mailto:") || target.is_empty() {
                    continue;
                }
                checked += 1;
                let (file, anchor) = match target.split_once('#') {
                    Some((f, a)) => (f, Some(a)),
                    None => (target.as_str(), None),
                };
                let rel: PathBuf = if file.is_empty() {
                    PathBuf::from(&page.name)
                } else {
                    normalise(&dir.join(file))
                };
                let path = Path::new(ROOT).join(&rel);
                if !path.exists() {
                    failures.push(format!(
                        "{}:{n}: `{target}`: {} does not exist",
                        page.name,
                        rel.display()
                    ));
                    continue;
                }
                if let Some(a) = anchor {
                    let rel = rel.to_string_lossy().into_owned();
                    if rel.ends_with(".md") && !anchors(&Page::read(&rel)).contains(a) {
                        failures.push(format!(
                            "{}:{n}: `{target}`: {rel} has no heading with the anchor #{a}",
                            page.name
                        ));
                    }
                }
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} links found: is the parser broken?"
    );
    assert!(
        failures.is_empty(),
        "{} broken link(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `a/b/../c` → `a/c` (the path need not exist).
fn normalise(p: &Path) -> PathBuf {
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

/// The extraction itself: a test of the test, so a parser that finds nothing cannot pass.
#[test]
fn the_extraction_finds_what_a_reader_sees() {
    let line = "srun -n 8 sh -c 'locomotion generate --out s/$K --shard $K/8' # note";
    let found = invocations(line);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].1,
        ["generate", "--out", "s/$K", "--shard", "$K/8"].map(String::from)
    );
    let found = invocations("mpirun -np 4 target/release/locomotion pretrain --out run | tee log");
    assert_eq!(found[0].1, ["pretrain", "--out", "run"].map(String::from));
    let found = invocations("for k in 0 1; do locomotion generate --shard $k/2; done");
    assert_eq!(
        found[0].1,
        ["generate", "--shard", "$k/2"].map(String::from)
    );
    let found = invocations("cargo run --release -- demo --out d   # a comment");
    assert_eq!(found[0].1, ["demo", "--out", "d"].map(String::from));
    assert!(invocations("cargo run --release --example report_demo -- OUT").is_empty());
    assert!(invocations("see src/locomotion/ and the locomotion crate").is_empty());
    assert_eq!(
        code_spans("a `locomotion eval` and ``x ` y`` b"),
        ["locomotion eval", "x ` y"]
    );
    assert_eq!(
        slug("The motion benchmark: `locomotion eval --benchmark motion`"),
        "the-motion-benchmark-locomotion-eval---benchmark-motion"
    );
    assert_eq!(
        links("![a](x.png) and [b](d/e.md#f) `[c](no)`"),
        ["x.png", "d/e.md#f"]
    );
}

/// The text after `marker` on `line`, up to the table row's closing `|`.
fn cell_after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let rest = &line[line.find(marker)? + marker.len()..];
    Some(rest.trim_end().trim_end_matches('|').trim())
}

/// docs/captions.md and README quote one clip's captions and paraphrases "verbatim": they are
/// what the binary writes for the `generate` command captions.md names, so a change to the
/// describer, the paraphraser or the lexicon fails here until the pages show the new text.
#[test]
fn quoted_captions_are_what_the_binary_writes() {
    use locomotion::caption::records::records_for;
    use locomotion::caption::{CaptionKind, Describer, Lexicon, Paraphraser};
    use locomotion::cli::Command;

    let page = Page::read("docs/captions.md");
    let (prose, _) = page.split();
    let (cmd_line, cmd) = prose
        .iter()
        .flat_map(|(n, l)| code_spans(l).into_iter().map(move |s| (*n, s)))
        .find(|(_, s)| s.starts_with("locomotion generate") && s.contains("--captions"))
        .expect("docs/captions.md names the generate command of its example clip");
    let words = invocations(cmd).remove(0).1;
    let argv = std::iter::once("locomotion".to_string()).chain(words);
    let Command::Generate(args) = <Cli as clap::Parser>::try_parse_from(argv)
        .unwrap_or_else(|e| panic!("docs/captions.md:{cmd_line}: `{cmd}`: {e}"))
        .command
    else {
        panic!("docs/captions.md:{cmd_line}: `{cmd}` is not a generate command");
    };
    let text = page.lines.join("\n");
    let id = &text[text.find("clip-0").expect("the example clip's id")..][..11];
    let index: u64 = id["clip-".len()..].parse().unwrap();
    let cfg = args.config().unwrap();
    let (objects, backgrounds) = locomotion::cli::generate::load_libraries(&args, &cfg).unwrap();
    let clip = locomotion::motion::sample_clip(args.seed, index, &cfg, &objects, &backgrounds);
    let lex = Lexicon::builtin();
    let records = records_for(
        &clip,
        &CaptionKind::ALL,
        args.paraphrases,
        args.seed,
        &Describer::new(lex.clone()),
        &Paraphraser::new(lex),
    );
    let written = |kind: CaptionKind| records.iter().find(|r| r.kind == kind).unwrap();
    let mut failures = Vec::new();
    let mut check = |at: String, what: &str, page: Option<&str>, binary: &str| {
        if page != Some(binary) {
            failures.push(format!(
                "{at}: the {what} of {id} is not what `{cmd}` writes now\n  page:   {}\n  binary: {binary}",
                page.unwrap_or("(missing)")
            ));
        }
    };
    for kind in CaptionKind::ALL {
        let name = serde_json::to_value(kind).unwrap();
        let marker = format!("| {} | ", name.as_str().unwrap());
        let found = prose.iter().find(|(_, l)| l.contains(&marker));
        check(
            format!("docs/captions.md:{}", found.map_or(0, |f| f.0)),
            &format!("{} caption", name.as_str().unwrap()),
            found.and_then(|(_, l)| cell_after(l, &marker)),
            &written(kind).caption,
        );
    }
    let start = prose
        .iter()
        .position(|(_, l)| l.starts_with("Its verb-variation paraphrases"))
        .expect("docs/captions.md lists the example's paraphrases");
    let bullets: Vec<(usize, &str)> = prose[start + 1..]
        .iter()
        .skip_while(|(_, l)| l.trim().is_empty())
        .take_while(|(_, l)| l.starts_with("- "))
        .map(|(n, l)| (*n, &l[2..]))
        .collect();
    let motion = written(CaptionKind::Motion);
    for (i, p) in motion.paraphrases.iter().enumerate() {
        let b = bullets.get(i);
        check(
            format!("docs/captions.md:{}", b.map_or(prose[start].0, |b| b.0)),
            &format!("paraphrase {}", i + 1),
            b.map(|b| b.1),
            p,
        );
    }
    check(
        format!("docs/captions.md:{}", prose[start].0),
        "number of paraphrases",
        Some(&bullets.len().to_string()),
        &motion.paraphrases.len().to_string(),
    );
    // README's example row shows the same clip's motion caption beside its GIF.
    let readme = Page::read("README.md");
    let row = readme
        .lines
        .iter()
        .enumerate()
        .find(|(_, l)| l.contains("(docs/example.gif) | "));
    check(
        format!("README.md:{}", row.map_or(0, |r| r.0 + 1)),
        "motion caption",
        row.and_then(|(_, l)| cell_after(l, "(docs/example.gif) | ")),
        &motion.caption,
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
