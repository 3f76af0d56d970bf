//! Imports between WGSL files, expanded before a shader is compiled: a line
//! `// #import "common/NAME.wgsl"` stands for the text of `shaders/common/NAME.wgsl`, where
//! the parameter structs and helpers that several shaders share live once. `build.rs`
//! expands every shader before embedding it (this file is its module too), and
//! `LOCOMOTION_SHADER_DIR` sources and the tests go through the same [`expand`].

/// What an import line starts with (after indentation); a quoted path relative to the
/// `shaders/` folder follows.
pub const IMPORT: &str = "// #import ";

/// `src` (the shader `file`) with each import line replaced by the text of the file it names,
/// which `read` returns (`None`: there is none). A snippet imports nothing itself. An error
/// names the shader, the line and what is wrong with it.
pub fn expand(
    file: &str,
    src: &str,
    read: &mut dyn FnMut(&str) -> Option<String>,
) -> Result<String, String> {
    if !src.contains(IMPORT) {
        return Ok(src.to_string());
    }
    let mut out = String::with_capacity(src.len());
    for (i, line) in src.lines().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix(IMPORT) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let at = format!("{file}:{}", i + 1);
        let Some(name) = rest
            .trim()
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
        else {
            return Err(format!("{at}: an import names a quoted path, got {rest:?}"));
        };
        let Some(text) = read(name) else {
            return Err(format!("{at}: imports {name}, which does not exist"));
        };
        if text.contains(IMPORT) {
            return Err(format!(
                "{at}: {name} imports in turn; snippets import nothing"
            ));
        }
        out.push_str(&text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}
