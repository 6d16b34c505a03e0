//! Fuzz target: any bytes as a listing page and as an article page, through
//! decoding, listing detection, article extraction, merging and normalising
//! (the calls are in ../checks.rs).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::html_pages(data));
