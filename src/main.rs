//! The `locomotion` binary: parses the command line and prints errors as one line.

use clap::Parser;

fn main() {
    // Mesa's device-select Vulkan layer probes Wayland/X11 and prints "XDG_RUNTIME_DIR is
    // invalid" on headless machines; we choose the adapter ourselves, so it is not needed.
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: called first thing in main, before any other thread exists.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
    let cli = locomotion::cli::Cli::parse();
    if let Err(e) = locomotion::cli::run(cli) {
        // One line: the chain of causes, outermost first.
        let msg: Vec<String> = e.chain().map(|c| c.to_string()).collect();
        eprintln!("error: {}", msg.join(": "));
        std::process::exit(1);
    }
}
