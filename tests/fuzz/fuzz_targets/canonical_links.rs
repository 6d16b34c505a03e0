//! Fuzz target: canonicalising a link is idempotent and keeps http and
//! https of one URL on one key.
#![no_main]
use libfuzzer_sys::fuzz_target;
use revierfeed::normalize::{canonical_link, link_key};

fuzz_target!(|s: &str| {
    let Ok(url) = url::Url::parse(s) else { return };
    let once = canonical_link(&url);
    let twice = canonical_link(&once);
    assert_eq!(once, twice, "not idempotent for {s:?}");
    // Only for default ports: http on :443 is a different server than https.
    if once.scheme() == "http" && once.port().is_none() {
        let mut secure = once.clone();
        if secure.set_scheme("https").is_ok() {
            assert_eq!(link_key(&once), link_key(&canonical_link(&secure)));
        }
    }
});
