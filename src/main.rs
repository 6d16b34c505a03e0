//! The `revierfeed` binary: everything is in the library's `cli` module.

fn main() -> std::process::ExitCode {
    revierfeed::cli::main()
}
