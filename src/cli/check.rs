//! `revierfeed check`: validates the config and prints every problem as
//! `file:line:column: key: message`; exit 1 on errors. Warnings (a secret
//! written into the file) go to stderr as `warning: file:line:column: …`.

use std::path::Path;
use std::process::ExitCode;

use crate::config::Config;

/// Runs the command; problems are the command's output, not an error.
pub(super) fn run(path: &Path) -> ExitCode {
    match Config::load(path) {
        Ok(c) => {
            for w in &c.warnings {
                eprintln!("warning: {w}");
            }
            println!(
                "{}: ok ({} sources, serving on {}, database {})",
                path.display(),
                c.sources.len(),
                c.server.listen,
                c.database_path().display()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::FAILURE
        }
    }
}
