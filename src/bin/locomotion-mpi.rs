//! `locomotion` built with the `mpi` feature under its own name (see Cargo.toml).

fn main() {
    locomotion::cli::entry::main()
}
