//! The fuzz corpora replayed: every input kept in `tests/fuzz/corpus/<target>/`
//! (each once found new behaviour, some a bug) goes through the same checks
//! the cargo-fuzz target runs (`tests/fuzz/checks.rs`), in process, parse only,
//! no network. A panic names the inputs and how to replay one under the fuzzer.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

#[path = "fuzz/checks.rs"]
mod checks;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/corpus")
        .join(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    files.sort();
    files
}

/// Runs `check` on every input of `target`'s corpus; fails naming every input that panicked.
fn replay(target: &str, check: impl Fn(&[u8])) {
    let inputs = corpus(target);
    assert!(
        inputs.len() >= 100,
        "{target}: only {} corpus inputs found; the corpus is missing",
        inputs.len()
    );
    let failed: Vec<String> = inputs
        .iter()
        .filter(|(_, bytes)| catch_unwind(AssertUnwindSafe(|| check(bytes))).is_err())
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{target}: {} of {} corpus inputs panic again (messages above); replay one with\n  cargo +nightly fuzz run --fuzz-dir tests/fuzz {target} <file>\n{}",
        failed.len(),
        inputs.len(),
        failed.join("\n")
    );
}

/// String targets: libFuzzer hands them only inputs that are UTF-8.
fn as_str(check: fn(&str)) -> impl Fn(&[u8]) {
    move |bytes| {
        if let Ok(s) = std::str::from_utf8(bytes) {
            check(s)
        }
    }
}

#[test]
fn canonical_links_corpus() {
    replay("canonical_links", as_str(checks::canonical_links));
}

#[test]
fn german_dates_corpus() {
    replay("german_dates", as_str(checks::german_dates));
}

#[test]
fn feed_ingest_corpus() {
    replay("feed_ingest", checks::feed_ingest);
}

#[test]
fn html_pages_corpus() {
    replay("html_pages", checks::html_pages);
}
