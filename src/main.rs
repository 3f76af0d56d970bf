//! The `locomotion` binary: parses the command line and prints errors as one line.

fn main() {
    locomotion::cli::entry::main()
}
