//! Fuzz target: any bytes as a feed, then normalising every item (sanitising
//! included); the output must contain no script.
#![no_main]
use libfuzzer_sys::fuzz_target;
use revierfeed::extract::feed::parse_feed;
use revierfeed::normalize::{FieldLimits, normalize_item};

fuzz_target!(|data: &[u8]| {
    let url = url::Url::parse("https://partner.example/feed/").unwrap();
    if let Ok(doc) = parse_feed(data, Some("application/rss+xml"), &url, 50) {
        for raw in &doc.items {
            if let Some(item) = normalize_item(raw, chrono::Utc::now(), &FieldLimits::default()) {
                for html in [&item.summary_html, &item.content_html].into_iter().flatten() {
                    assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
                }
            }
        }
    }
});
