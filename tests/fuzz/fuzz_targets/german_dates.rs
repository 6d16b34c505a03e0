//! Fuzz target: the German date parser must never panic and never return an implausible year.
#![no_main]
use chrono::Datelike;
use libfuzzer_sys::fuzz_target;
use revierfeed::extract::dates::{broken_date, find_date, parse_timestamp};

fuzz_target!(|s: &str| {
    for t in [parse_timestamp(s), find_date(s)].into_iter().flatten() {
        assert!((1990..=2100).contains(&t.year()), "{s:?} gave {t}");
    }
    let _ = broken_date(s);
});
