//! One progress-bar style for every long command: the stage and its unit in front
//! ("pre-train [=====>    ] 120/300 steps"), then live numbers, time spent and time left.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` `unit`s for `stage` ("pre-train", "evaluate", ...), or a hidden one
/// when `show` is false (quiet runs, tests). Live numbers go in with `set_message`.
pub fn bar(show: bool, len: u64, stage: &str, unit: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len).with_style(style(unit));
    bar.set_prefix(stage.to_string());
    bar
}

/// The shared style: `stage [bar] pos/len unit  message  (elapsed, eta)`.
pub fn style(unit: &str) -> ProgressStyle {
    // `unit` is ours ("steps", "clips"), never user input; braces would break the template.
    let unit: String = unit.chars().filter(|c| !matches!(c, '{' | '}')).collect();
    ProgressStyle::with_template(&format!(
        "{{prefix:>10}} [{{bar:30}}] {{pos}}/{{len}} {unit}  {{msg}}  ({{elapsed}}, eta {{eta}})"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

/// Print a command's resolved settings (flags on top of the defaults) on one line of
/// stdout before the work starts, so a log says what ran: `pre-train: preset tiny · steps
/// 300 · ...`. Stdout, because stderr carries progress bars and the one-line error.
pub fn print_settings(command: &str, settings: &[(&str, String)]) {
    let parts: Vec<String> = settings.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("{command}: {}", parts.join(" · "));
}

/// The trained objectives and their weights ("VTC 1 + MLM 0.5"); weight-0 ones are left out.
pub fn objectives(vtc: f64, vtm: f64, mlm: f64) -> String {
    let parts: Vec<String> = [("VTC", vtc), ("VTM", vtm), ("MLM", mlm)]
        .iter()
        .filter(|(_, w)| *w > 0.0)
        .map(|(n, w)| format!("{n} {w}"))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(" + ")
    }
}
