//! Fuzz target: any bytes as a feed, then normalising every item (sanitising
//! included); the output must contain no script (the check is in ../checks.rs).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::feed_ingest(data));
