//! What the `locomotion` binaries run: the command line parsed, errors printed as one line.

use clap::Parser;

/// Backend names `WGPU_BACKEND` may list (wgpu ignores the others with only a log line).
const BACKENDS: [&str; 11] = [
    "vulkan", "vk", "dx12", "d3d12", "metal", "mtl", "opengl", "gles", "gl", "webgpu", "noop",
];

/// A `WGPU_BACKEND` naming no known backend would otherwise surface as "no GPU adapter".
fn check_backend_env() -> Result<(), String> {
    let Ok(v) = std::env::var("WGPU_BACKEND") else {
        return Ok(());
    };
    for b in v.split(',') {
        let b = b.trim().to_lowercase();
        if !b.is_empty() && !BACKENDS.contains(&b.as_str()) {
            return Err(format!(
                "WGPU_BACKEND={v}: '{b}' is not a backend (use vulkan, metal, dx12 or gl, comma-separated, or unset it)"
            ));
        }
    }
    Ok(())
}

/// True when `e` comes from writing to a closed pipe (`locomotion info --json | head`).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Run the command line and print any error as one line (exit 1).
pub fn main() {
    // Mesa's device-select Vulkan layer probes Wayland/X11 and prints "XDG_RUNTIME_DIR is
    // invalid" on headless machines; we choose the adapter ourselves, so it is not needed.
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: called first thing in main, before any other thread exists.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
    // `println!` panics when stdout is a closed pipe; a reader that stopped reading is a
    // normal end of the run, not a crash.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default_hook(info);
    }));
    let cli = super::Cli::parse();
    let result = check_backend_env()
        .map_err(anyhow::Error::msg)
        .and_then(|_| super::run(cli));
    if let Err(e) = result {
        if is_broken_pipe(&e) {
            return;
        }
        // One line: the chain of causes, outermost first.
        let msg: Vec<String> = e.chain().map(|c| c.to_string()).collect();
        eprintln!("error: {}", msg.join(": "));
        std::process::exit(1);
    }
}
