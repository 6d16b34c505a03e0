//! Fuzz target: any bytes as a listing page and as an article page, through
//! decoding, listing detection, article extraction, merging and normalising.
#![no_main]
use libfuzzer_sys::fuzz_target;
use revierfeed::extract::{charset, html};
use revierfeed::normalize::{FieldLimits, normalize_item};

fuzz_target!(|data: &[u8]| {
    let url = url::Url::parse("https://partner.example/aktuelles/").unwrap();
    let text = charset::decode_html(data, Some("text/html"));
    let page = html::Page::parse(&text, &url);
    let listing = html::parse_listing(&page, None);
    let article = html::parse_article(&page, None);
    for entry in listing.entries.iter().take(20) {
        let item = html::merge(entry, Some(&article));
        let _ = normalize_item(&item, chrono::Utc::now(), &FieldLimits::default());
    }
});
