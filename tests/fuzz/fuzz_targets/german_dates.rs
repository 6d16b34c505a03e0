//! Fuzz target: the German date parser must never panic and never return an
//! implausible year (the check is in ../checks.rs).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|s: &str| checks::german_dates(s));
