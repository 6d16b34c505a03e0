//! Sloppy feeds as partners' CMSs really produce them (a stray `&`, Latin-1
//! under a UTF-8 claim, Atom 0.3, `<rss>` without version or `<channel>`, one
//! broken entry among good ones, angle brackets in a plain-text title),
//! served by the in-process partner server and polled by the daemon: every
//! readable item reaches the served feed, and one bad entry never costs
//! another.

use std::sync::Arc;

use revierfeed::app::App;
use revierfeed::pipeline::{self, PollOutcome};

use crate::support::{self, Override, PartnerServer};

/// (source id, Content-Type, body, titles that must be served, titles that must not).
type SloppyFeed = (
    &'static str,
    &'static str,
    Vec<u8>,
    Vec<&'static str>,
    Vec<&'static str>,
);

fn sloppy_feeds() -> Vec<SloppyFeed> {
    vec![
        (
            "stray-amp",
            "application/rss+xml",
            br#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Amp</title><link>http://partner.example/</link>
<item><title>Sommerfest am Lokschuppen</title><link>http://partner.example/fest?tag=1&ort=2</link><guid>amp-1</guid></item>
<item><title>Fahrplan &amp; Tarife ab Dezember</title><link>http://partner.example/fahrplan</link><guid>amp-2</guid></item>
</channel></rss>"#
                .to_vec(),
            vec!["Sommerfest am Lokschuppen", "Fahrplan & Tarife ab Dezember"],
            vec![],
        ),
        (
            "latin1",
            "application/rss+xml; charset=utf-8",
            b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Alt</title>\n<item><title>Gr\xfc\xdfe aus K\xf6ln zum Jubil\xe4um</title><link>http://partner.example/koeln</link><guid>l1</guid></item></channel></rss>"
                .to_vec(),
            vec!["Grüße aus Köln zum Jubiläum"],
            vec![],
        ),
        (
            "atom03",
            "application/atom+xml",
            r#"<?xml version="1.0"?><feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Null-Drei</title>
<link rel="alternate" type="text/html" href="http://partner.example/"/><modified>2026-11-02T10:00:00Z</modified>
<entry><title>Neue Haltestelle Kleinmühlen eröffnet</title><id>tag:partner.example,2026:a03</id><link rel="alternate" type="text/html" href="http://partner.example/haltestelle"/>
<issued>2026-11-02T09:00:00Z</issued><modified>2026-11-02T10:00:00Z</modified><content type="text/html" mode="escaped">&lt;p&gt;Ab Montag hält der Zug.&lt;/p&gt;</content></entry></feed>"#
                .as_bytes()
                .to_vec(),
            vec!["Neue Haltestelle Kleinmühlen eröffnet"],
            vec![],
        ),
        (
            "no-version",
            "text/xml",
            br#"<rss><title>Ohne</title><item><title>Bahnhofsuhr wieder in Betrieb</title><link>http://partner.example/uhr</link></item></rss>"#
                .to_vec(),
            vec!["Bahnhofsuhr wieder in Betrieb"],
            vec![],
        ),
        (
            "bad-entry",
            "application/rss+xml",
            r#"<rss version="2.0"><channel><title>Eins kaputt</title>
<item><title>Vorher gemeldet: Brücke gesperrt</title><link>http://partner.example/vorher</link><guid>b1</guid></item>
<item><title>Kaputter Eintrag</title><link>http://partner.example/kaputt</link><guid isPermaLink="false>b2</guid></item>
<item><title>Nachher gemeldet: Brücke offen</title><link>http://partner.example/nachher</link><guid>b3</guid></item>
</channel></rss>"#
                .as_bytes()
                .to_vec(),
            vec!["Vorher gemeldet: Brücke gesperrt", "Nachher gemeldet: Brücke offen"],
            vec!["Kaputter Eintrag"],
        ),
        (
            "brackets",
            "application/atom+xml",
            br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>Code</title><id>urn:code</id>
<entry><id>urn:code:1</id><title type="text">Vector&lt;T&gt; in Rust &amp; C++</title><link href="http://partner.example/vector"/></entry></feed>"#
                .to_vec(),
            vec!["Vector<T> in Rust & C++"],
            vec![],
        ),
    ]
}

#[tokio::test]
async fn sloppy_feeds_lose_only_what_is_unreadable() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let feeds = sloppy_feeds();
    let mut sources = Vec::new();
    for (id, content_type, body, _, _) in &feeds {
        let path = format!("/sloppy/{id}.xml");
        server.set(
            "pro-schiene",
            &path,
            Override::Body {
                content_type: content_type.to_string(),
                body: body.clone(),
            },
        );
        sources.push(support::source(
            id,
            server.url("pro-schiene", &path),
            "feed",
        ));
    }
    let app = Arc::new(App::new(support::config(dir.path(), &sources, "")).unwrap());
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    for r in &reports {
        assert!(
            matches!(r.outcome, PollOutcome::Fetched { .. }),
            "{}",
            r.summary()
        );
    }
    app.render().await.unwrap();
    let body = support::body_bytes(support::get(&app.router(), "/feed.json", &[]).await).await;
    let served: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let titles: Vec<&str> = served["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    for (id, _, _, wanted, unwanted) in &feeds {
        for title in wanted {
            assert!(titles.contains(title), "{id}: {title:?} not in {titles:?}");
        }
        for title in unwanted {
            assert!(!titles.contains(title), "{id}: {title:?} was served");
        }
    }
    // What was repaired or lost is named on /status (the poll itself succeeded).
    let status = support::body_bytes(support::get(&app.router(), "/status.json", &[]).await).await;
    let status: serde_json::Value = serde_json::from_slice(&status).unwrap();
    let warning_of = |id: &str| {
        status["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .and_then(|s| s["warning"].as_str())
            .map(str::to_string)
    };
    let amp = warning_of("stray-amp").expect("stray-amp: a repair is named on /status");
    assert!(amp.contains('&'), "{amp}");
    let latin1 = warning_of("latin1").expect("latin1: the encoding fallback is named");
    assert!(latin1.contains("UTF-8"), "{latin1}");
    assert_eq!(
        warning_of("atom03"),
        None,
        "a clean Atom 0.3 feed needs no warning"
    );
    // A clean poll of the same source later clears its warning.
    let (id, content_type, _, _, _) = &feeds[0];
    server.set(
        "pro-schiene",
        &format!("/sloppy/{id}.xml"),
        Override::Body {
            content_type: content_type.to_string(),
            body: br#"<?xml version="1.0"?><rss version="2.0"><channel><title>Amp</title><item><title>Sauber</title><link>http://partner.example/sauber</link><guid>amp-3</guid></item></channel></rss>"#.to_vec(),
        },
    );
    let config = app.config();
    pipeline::refresh_source(&app, config.source(id).unwrap(), true).await;
    let state = app.store.source_state(id).unwrap().unwrap();
    assert_eq!(state.last_warning, None);
}
