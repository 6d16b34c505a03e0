//! Served feeds stay well-formed whatever a partner sends (issue 14): every
//! character from U+0000 to U+FFFF, and arbitrary strings (proptest), go
//! into partner titles, summaries, content, authors and categories — as RSS
//! character references, raw in RSS, and as JSON Feed escapes — and every
//! served Atom and RSS document must parse with roxmltree, which refuses
//! characters XML 1.0 forbids, and the JSON with serde_json; titles keep no
//! bidi controls.

use std::sync::Arc;

use revierfeed::app::App;
use revierfeed::pipeline::{self, PollOutcome};
use revierfeed::text::is_xml_char;

use crate::support::hostile::{Fault, HostileServer};
use crate::support::{self};

/// Every non-ASCII-alphanumeric character as a numeric character reference.
fn char_refs(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == ' ' {
                c.to_string()
            } else {
                format!("&#x{:X};", c as u32)
            }
        })
        .collect()
}

/// XML text content with only the three markup characters escaped (the rest raw).
fn raw_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One RSS item per text; `enc` writes partner text into the XML.
fn rss_feed(prefix: &str, texts: &[String], enc: fn(&str) -> String) -> Vec<u8> {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>Partner</title><link>https://partner.example/</link>\n",
    );
    for (i, t) in texts.iter().enumerate() {
        out.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{prefix}-{i}</guid><title>T{i} {t}</title><link>https://partner.example/{prefix}/{i}</link><description>{t}</description><content:encoded>&lt;p&gt;{t}&lt;/p&gt;</content:encoded><dc:creator>A {t}</dc:creator><category>K {t}</category><pubDate>Mon, 02 Mar 2026 10:00:00 +0100</pubDate></item>\n",
            t = enc(t)
        ));
    }
    out.push_str("</channel></rss>\n");
    out.into_bytes()
}

fn json_feed(prefix: &str, texts: &[String]) -> Vec<u8> {
    let items: Vec<serde_json::Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            serde_json::json!({
                "id": format!("{prefix}-{i}"),
                "url": format!("https://partner.example/{prefix}/{i}"),
                "title": format!("T{i} {t}"),
                "summary": t,
                "content_html": format!("<p>{t}</p>"),
                "authors": [{"name": format!("A {t}")}],
                "tags": [format!("K {t}")],
                "date_published": "2026-03-02T10:00:00+01:00",
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Partner",
        "items": items,
    }))
    .unwrap()
}

/// Parses every served document of `sources` strictly; returns the entry
/// count of each per-source Atom feed, in order.
async fn assert_well_formed(app: &Arc<App>, sources: &[&str]) -> Vec<usize> {
    app.render().await.unwrap();
    let mut paths: Vec<String> = vec!["/feed.atom".into(), "/feed.rss".into(), "/feed.json".into()];
    for s in sources {
        for ext in ["atom", "rss", "json"] {
            paths.push(format!("/sources/{s}.{ext}"));
        }
    }
    let mut counts = Vec::new();
    for path in paths {
        let body = support::body_bytes(support::get(&app.router(), &path, &[]).await).await;
        let text = String::from_utf8(body).unwrap_or_else(|e| panic!("{path}: not UTF-8: {e}"));
        if path.ends_with(".json") {
            let v: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON: {e}"));
            for item in v["items"].as_array().unwrap() {
                let title = item["title"].as_str().unwrap_or_default();
                assert!(
                    !title.chars().any(revierfeed::text::is_bidi_control),
                    "{path}: bidi control in {title:?}"
                );
            }
            continue;
        }
        let doc = roxmltree::Document::parse(&text)
            .unwrap_or_else(|e| panic!("{path} is not well-formed XML: {e}"));
        let entries = doc
            .descendants()
            .filter(|n| n.has_tag_name("entry") || n.has_tag_name("item"))
            .count();
        for title in doc.descendants().filter(|n| n.has_tag_name("title")) {
            let t = title.text().unwrap_or_default();
            assert!(
                !t.chars().any(revierfeed::text::is_bidi_control),
                "{path}: bidi control in title {t:?}"
            );
        }
        if path.starts_with("/sources/") && path.ends_with(".atom") {
            counts.push(entries);
        }
    }
    counts
}

#[test]
fn the_strict_parser_refuses_what_xml_forbids() {
    // The checks below mean something only if roxmltree is this strict.
    for bad in ["\u{1}", "\u{FFFE}", "\u{FFFF}", "&#x1;", "&#xFFFE;", "&#0;"] {
        assert!(
            roxmltree::Document::parse(&format!("<a>{bad}</a>")).is_err(),
            "{bad:?}"
        );
    }
    assert!(roxmltree::Document::parse("<a>\t\u{FFFD}\u{10000}</a>").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_character_up_to_u_ffff_leaves_the_served_feeds_well_formed() {
    let server = HostileServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Every scalar value U+0000..U+FFFF (surrogates are no characters), in
    // chunks short enough that a whole chunk fits into a title. JSON can
    // carry each of them; a well-formed RSS document every one XML allows.
    let all: Vec<char> = (0u32..=0xFFFF).filter_map(char::from_u32).collect();
    let chunks: Vec<String> = all.chunks(200).map(|c| c.iter().collect()).collect();
    let half = chunks.len() / 2;
    let xml_chars: Vec<char> = all.iter().copied().filter(|&c| is_xml_char(c)).collect();
    let xml_chunks: Vec<String> = xml_chars.chunks(200).map(|c| c.iter().collect()).collect();
    let xml_half = xml_chunks.len() / 2;
    let forbidden: String = all.iter().filter(|&&c| !is_xml_char(c)).collect();
    assert_eq!(
        forbidden.chars().count(),
        29 + 2,
        "C0 but tab/LF/CR, U+FFFE, U+FFFF"
    );
    let sloppy: Vec<String> = forbidden
        .chars()
        .map(|c| format!("x{c}y"))
        .chain([forbidden.clone()])
        .collect();
    let feeds: Vec<(&str, Vec<u8>, &'static str)> = vec![
        (
            "refs-a",
            rss_feed("refs-a", &xml_chunks[..xml_half], char_refs),
            "/a.xml",
        ),
        (
            "refs-b",
            rss_feed("refs-b", &xml_chunks[xml_half..], char_refs),
            "/b.xml",
        ),
        ("json-a", json_feed("json-a", &chunks[..half]), "/a.json"),
        ("json-b", json_feed("json-b", &chunks[half..]), "/b.json"),
        // Forbidden characters in an RSS document make it ill-formed, so the
        // document may be refused; whatever is taken must come out well-formed.
        (
            "sloppy-refs",
            rss_feed("sloppy-refs", &sloppy, char_refs),
            "/sloppy.xml",
        ),
        ("raw", rss_feed("raw", &sloppy, raw_text), "/raw.xml"),
    ];
    let mut sources = Vec::new();
    for (id, body, path) in &feeds {
        let content_type = if path.ends_with(".json") {
            "application/feed+json"
        } else {
            "application/rss+xml"
        };
        server.set(
            path,
            Fault::Body {
                content_type: content_type.into(),
                headers: Vec::new(),
                body: body.clone().into(),
            },
        );
        sources.push(support::source(id, server.url(path), "feed"));
    }
    let app = Arc::new(
        App::new(support::config_with(
            dir.path(),
            &sources,
            &[("max_items", "1000"), ("per_host", "8")],
        ))
        .unwrap(),
    );
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    for r in &reports {
        if !["raw", "sloppy-refs"].contains(&r.source_id.as_str()) {
            assert!(
                matches!(&r.outcome, PollOutcome::Fetched { report, .. } if report.new > 0),
                "{}: {:?}",
                r.source_id,
                r.outcome
            );
        }
    }
    let ids: Vec<&str> = feeds.iter().map(|f| f.0).collect();
    let counts = assert_well_formed(&app, &ids).await;
    // Nothing was lost on the way: each chunk is an entry of its source's feed.
    assert_eq!(
        &counts[..4],
        &[
            xml_half,
            xml_chunks.len() - xml_half,
            half,
            chunks.len() - half
        ]
    );
}

/// Arbitrary text, weighted towards what breaks XML and titles: C0 and C1
/// controls, noncharacters, bidi controls and markup characters.
fn partner_text() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let special = prop_oneof![
        (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap()),
        (0x7Fu32..0xA0).prop_map(|c| char::from_u32(c).unwrap()),
        prop::sample::select(vec![
            '\u{FFFE}', '\u{FFFF}', '\u{FDD0}', '\u{202E}', '\u{2066}', '\u{200F}', '<', '>', '&',
            ';', '#', '"', '\'', ' ',
        ]),
    ];
    prop::collection::vec(prop_oneof![any::<char>(), special], 0..60)
        .prop_map(|cs| cs.into_iter().collect())
}

#[test]
fn arbitrary_partner_text_leaves_the_served_feeds_well_formed() {
    use proptest::prelude::*;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (server, app, _dir) = rt.block_on(async {
        let server = HostileServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let sources = vec![
            support::source("prop-rss", server.url("/rss"), "feed"),
            support::source("prop-json", server.url("/json"), "feed"),
        ];
        let app = Arc::new(App::new(support::config(dir.path(), &sources, "")).unwrap());
        (server, app, dir)
    });
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let round = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&prop::collection::vec(partner_text(), 1..4), |texts| {
            let n = round.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let prefix = format!("p{n}");
            server.set("/rss", Fault::feed(rss_feed(&prefix, &texts, char_refs)));
            server.set(
                "/json",
                Fault::Body {
                    content_type: "application/feed+json".into(),
                    headers: Vec::new(),
                    body: json_feed(&prefix, &texts).into(),
                },
            );
            rt.block_on(async {
                pipeline::refresh_all(&app, false, |_| {}).await;
                assert_well_formed(&app, &["prop-rss", "prop-json"]).await;
            });
            Ok(())
        })
        .unwrap();
}
