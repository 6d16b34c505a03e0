//! Fuzz target: canonicalising a link is idempotent and keeps http and
//! https of one URL on one key (the check is in ../checks.rs).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|s: &str| checks::canonical_links(s));
