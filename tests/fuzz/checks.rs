//! What each fuzz target checks on one input. The cargo-fuzz targets
//! (`fuzz_targets/*.rs`) and the corpus replay of the test suite
//! (`tests/fuzz_corpus.rs`) both include this file, so every kept input is
//! replayed through exactly the calls and assertions that once found a bug.

// Each fuzz target binary uses one of these functions.
#![allow(dead_code)]

use chrono::Datelike;
use revierfeed::extract::dates::{broken_date, find_date, parse_timestamp};
use revierfeed::extract::feed::parse_feed;
use revierfeed::extract::{charset, html};
use revierfeed::normalize::{FieldLimits, canonical_link, link_key, normalize_item};

/// Canonicalising a link is idempotent and keeps http and https of one URL on one key.
pub fn canonical_links(s: &str) {
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
}

/// Any bytes as a feed, then normalising every item (sanitising included);
/// the output must contain no script.
pub fn feed_ingest(data: &[u8]) {
    let url = url::Url::parse("https://partner.example/feed/").unwrap();
    if let Ok(doc) = parse_feed(data, Some("application/rss+xml"), &url, 50) {
        for raw in &doc.items {
            if let Some(item) = normalize_item(raw, chrono::Utc::now(), &FieldLimits::default()) {
                for html in [&item.summary_html, &item.content_html]
                    .into_iter()
                    .flatten()
                {
                    assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
                }
            }
        }
    }
}

/// The German date parser never panics and never returns an implausible year.
pub fn german_dates(s: &str) {
    for t in [parse_timestamp(s), find_date(s)].into_iter().flatten() {
        assert!((1990..=2100).contains(&t.year()), "{s:?} gave {t}");
    }
    let _ = broken_date(s);
}

/// Any bytes as a listing page and as an article page, through decoding,
/// listing detection, article extraction, merging and normalising.
pub fn html_pages(data: &[u8]) {
    let url = url::Url::parse("https://partner.example/aktuelles/").unwrap();
    let text = charset::decode_html(data, Some("text/html"));
    // Pages over the markup budget are refused before parsing: nothing to check.
    let Ok(page) = html::Page::parse(&text, &url) else {
        return;
    };
    let listing = html::parse_listing(&page, None);
    let article = html::parse_article(&page, None);
    for entry in listing.entries.iter().take(20) {
        let item = html::merge(entry, Some(&article));
        let _ = normalize_item(&item, chrono::Utc::now(), &FieldLimits::default());
    }
}
