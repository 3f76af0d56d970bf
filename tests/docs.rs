//! The docs match the binary. Every `locomotion …` command written in README.md and docs/*.md
//! (fenced blocks and inline code) parses with the CLI's own clap definition: subcommands,
//! flag names, value forms, required flags. Every subcommand has a row in README's command
//! table, and the pages that row links to name every one of its flags. Every relative link
//! and image path in README.md, BENCHMARKS.md and docs/*.md exists, anchors included. The
//! captions and paraphrases captions.md and README quote verbatim are what the binary writes.
//! No GPU, no process: it reads the pages, the clap definition (CommandFactory) and the
//! library's describer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap::error::ErrorKind;
use locomotion::cli::Cli;

mod doc_pages;

use doc_pages::{
    Page, ROOT, anchors, cell_after, code_spans, command_pages, invocations, links, normalise,
    slug, written_commands,
};

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
