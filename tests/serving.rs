//! The served feeds: they parse again, carry the right types and validators,
//! answer 304 to their own ETag and Last-Modified, gzip on request, HEAD,
//! attribution of every entry, and nothing else is served.

use std::collections::HashSet;
use std::sync::Arc;

use revierfeed::app::App;
use revierfeed::pipeline;

use crate::support::{self, body_bytes, get, strict};

#[tokio::test]
async fn feeds_parse_again_with_types_validators_and_304() {
    let (app, _server, _dir) = support::polled_feed_app().await;
    let router = app.router();
    let mut bodies = Vec::new();
    for (path, ctype) in [
        ("/feed.atom", "application/atom+xml; charset=utf-8"),
        ("/feed.rss", "application/rss+xml; charset=utf-8"),
        ("/feed.json", "application/feed+json; charset=utf-8"),
    ] {
        let r = get(&router, path, &[]).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], ctype);
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        let last_modified = r.headers()["last-modified"].to_str().unwrap().to_string();
        assert!(
            etag.starts_with('"') && !etag.starts_with("W/"),
            "strong ETag: {etag}"
        );
        let body = body_bytes(r).await;
        if !path.ends_with(".json") {
            // A strict XML parser: one declaration, well-formed, UTF-8.
            roxmltree::Document::parse(std::str::from_utf8(&body).unwrap())
                .unwrap_or_else(|e| panic!("{path} is not well-formed XML: {e}"));
        }
        let parsed = feed_rs::parser::parse(&body[..])
            .unwrap_or_else(|e| panic!("{path} does not parse: {e}"));
        assert!(
            !parsed.entries.is_empty()
                && parsed
                    .entries
                    .iter()
                    .all(|e| !e.id.is_empty() && e.published.is_some())
        );

        let again = get(&router, path, &[("if-none-match", &etag)]).await;
        assert_eq!(again.status(), 304, "{path} with its own ETag");
        assert!(body_bytes(again).await.is_empty());
        let since = get(&router, path, &[("if-modified-since", &last_modified)]).await;
        assert_eq!(since.status(), 304, "{path} with its own Last-Modified");
        let stale = get(&router, path, &[("if-none-match", "\"something-else\"")]).await;
        assert_eq!(stale.status(), 200);
        bodies.push(body);
    }

    // The strict clients, on the merged feed with its stories: every item of
    // the six sites credited once, and some entries merging several.
    let (json, merged) =
        strict::three_formats_agree(&bodies[0], &bodies[1], &bodies[2], "merged feed");
    let credited = strict::credited(&json);
    assert_eq!(credited.len(), 89, "every stored item credited once");
    let links: HashSet<_> = credited.iter().map(|(_, link)| link.clone()).collect();
    assert_eq!(links.len(), 89, "no item credited twice");
    assert!(
        merged >= 5,
        "the sample feed sites publish shared news; only {merged} entries merge items"
    );
}

#[tokio::test]
async fn per_source_feeds_pass_the_strict_clients() {
    let (app, _server, _dir) = support::polled_feed_app().await;
    let router = app.router();
    let fetch = |path: String| {
        let router = router.clone();
        async move {
            let r = get(&router, &path, &[]).await;
            assert_eq!(r.status(), 200, "{path}");
            body_bytes(r).await
        }
    };
    for (site, _) in support::FEED_SITES {
        let base = format!("/sources/{site}");
        let (atom, rss, json) = (
            fetch(format!("{base}.atom")).await,
            fetch(format!("{base}.rss")).await,
            fetch(format!("{base}.json")).await,
        );
        let (json, merged) = strict::three_formats_agree(&atom, &rss, &json, &base);
        assert_eq!(merged, 0, "{base}: a source's feed has one entry per item");
        assert_eq!(
            json["items"].as_array().unwrap().len(),
            app.store
                .source_states()
                .unwrap()
                .iter()
                .find(|s| s.id == *site)
                .unwrap()
                .item_count as usize,
            "{base}"
        );
    }
}

#[tokio::test]
async fn gzip_when_asked_and_head_without_body() {
    let (app, _server, _dir) = support::polled_feed_app().await;
    let router = app.router();
    let plain = body_bytes(get(&router, "/feed.atom", &[]).await).await;
    let r = get(&router, "/feed.atom", &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(r.headers()["vary"], "Accept-Encoding");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let zipped = body_bytes(r).await;
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&zipped[..]),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(unzipped, plain);
    assert!(zipped.len() < plain.len() / 2);
    // The gzip representation's ETag also validates.
    assert_eq!(
        get(
            &router,
            "/feed.atom",
            &[("accept-encoding", "gzip"), ("if-none-match", &etag)]
        )
        .await
        .status(),
        304
    );
    let refused = get(&router, "/feed.atom", &[("accept-encoding", "gzip;q=0")]).await;
    assert!(refused.headers().get("content-encoding").is_none());

    use tower::ServiceExt;
    let head = router
        .clone()
        .oneshot(
            axum::http::Request::head("/feed.rss")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.headers().contains_key("etag"));
    assert!(body_bytes(head).await.is_empty());
}

#[tokio::test]
async fn every_entry_credits_its_source_and_links_the_original() {
    let (app, server, _dir) = support::polled_feed_app().await;
    let router = app.router();
    let atom = String::from_utf8(body_bytes(get(&router, "/feed.atom", &[]).await).await).unwrap();
    let feed = atom_syndication::Feed::read_from(atom.as_bytes()).unwrap();
    assert!(
        feed.links
            .iter()
            .any(|l| l.rel == "self" && l.href == "http://127.0.0.1:8080/feed.atom")
    );
    assert_eq!(feed.id, "urn:uuid:00000000-0000-4000-8000-000000000001");
    assert!(!feed.entries.is_empty(), "no entries to check");
    for e in &feed.entries {
        let src = e
            .source
            .as_ref()
            .unwrap_or_else(|| panic!("{} has no atom:source", e.id));
        assert!(
            src.title.value.starts_with("Quelle "),
            "{}",
            src.title.value
        );
        assert!(
            src.links
                .iter()
                .any(|l| l.rel == "self" && l.href.starts_with(&server.base))
        );
        let alt = e.links.iter().find(|l| l.rel == "alternate").unwrap();
        assert!(alt.href.starts_with(&server.base), "{}", alt.href);
        assert!(e.id.starts_with("urn:uuid:"));
    }
    let rss = body_bytes(get(&router, "/feed.rss", &[]).await).await;
    let channel = rss::Channel::read_from(&rss[..]).unwrap();
    assert_eq!(
        channel.items().len(),
        feed.entries.len(),
        "RSS and Atom entries"
    );
    for item in channel.items() {
        let src = item.source().unwrap();
        assert!(src.url().starts_with(&server.base));
        assert!(item.guid().is_some_and(|g| !g.is_permalink()));
    }
    assert!(!atom.contains("<script") && !atom.contains("javascript:"));
}

#[tokio::test]
async fn per_source_feeds_status_health_and_unknown_paths() {
    let (app, _server, _dir) = support::polled_feed_app().await;
    let router = app.router();
    let r = get(&router, "/sources/neuwerda.atom", &[]).await;
    assert_eq!(r.status(), 200);
    let feed = feed_rs::parser::parse(&body_bytes(r).await[..]).unwrap();
    assert_eq!(feed.entries.len(), 15);
    assert_eq!(get(&router, "/healthz", &[]).await.status(), 200);
    let status = String::from_utf8(body_bytes(get(&router, "/status", &[]).await).await).unwrap();
    assert!(status.contains("neuwerda") && status.contains("<table>"));
    let json: serde_json::Value =
        serde_json::from_slice(&body_bytes(get(&router, "/status.json", &[]).await).await).unwrap();
    assert_eq!(json["sources"].as_array().unwrap().len(), 6);
    assert!(
        json["sources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["ok"] == true && s["http_status"] == 200)
    );

    // Rendered on request and kept until source states change.
    let etag = |r: &axum::response::Response| r.headers()["etag"].to_str().unwrap().to_string();
    let first = etag(&get(&router, "/status.json", &[]).await);
    assert_eq!(
        first,
        etag(&get(&router, "/status.json", &[]).await),
        "kept between requests"
    );
    pipeline::refresh_all(&app, false, |_| {}).await;
    assert_eq!(
        first,
        etag(&get(&router, "/status.json", &[]).await),
        "until told"
    );
    app.states_changed().await.unwrap();
    let after = get(&router, "/status.json", &[]).await;
    assert_ne!(first, etag(&after), "the polls' new times are shown");
    let json: serde_json::Value = serde_json::from_slice(&body_bytes(after).await).unwrap();
    assert!(
        json["sources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["http_status"] == 304)
    );

    for path in [
        "/nope",
        "/feed.xml",
        "/../Cargo.toml",
        "/sources/",
        "/sources/unknown.atom",
    ] {
        assert_eq!(get(&router, path, &[]).await.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn characters_xml_cannot_carry_never_reach_the_xml_feeds() {
    use crate::support::hostile::{Fault, HostileServer};
    let server = HostileServer::start().await;
    // JSON may carry any character; XML 1.0 forbids most C0 controls, U+FFFE and U+FFFF.
    let body = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Steuerzeichen",
        "items": [{
            "id": "ctl-1",
            "url": "https://partner.example/ctl-1",
            "title": "Titel\u{1}mit\u{b}Steuer\u{1f}zeichen\u{fffe}",
            "content_html": "<p>Inhalt\u{1}mit\u{8}Steuer\u{c}zeichen\u{ffff} und <b>fett\u{2}</b></p>",
            "summary": "Zusammen\u{7}fassung",
            "authors": [{"name": "Anna\u{1b}Beispiel"}],
            "tags": ["Ener\u{3}gie"],
            "date_published": "2026-03-02T10:00:00+01:00"
        }]
    });
    server.set(
        "/feed.json",
        Fault::Body {
            content_type: "application/feed+json".into(),
            headers: Vec::new(),
            body: serde_json::to_vec(&body).unwrap().into(),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(
        App::new(support::config(
            dir.path(),
            &[support::source("ctl", server.url("/feed.json"), "feed")],
            "",
        ))
        .unwrap(),
    );
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    assert!(
        matches!(reports[0].outcome, pipeline::PollOutcome::Fetched { .. }),
        "{}",
        reports[0].summary()
    );
    app.render().await.unwrap();
    let router = app.router();
    for base in ["/feed", "/sources/ctl"] {
        let atom = body_bytes(get(&router, &format!("{base}.atom"), &[]).await).await;
        let rss = body_bytes(get(&router, &format!("{base}.rss"), &[]).await).await;
        let json = body_bytes(get(&router, &format!("{base}.json"), &[]).await).await;
        let (feed, _) = strict::three_formats_agree(&atom, &rss, &json, base);
        assert_eq!(
            feed["items"].as_array().unwrap().len(),
            1,
            "{base}: the item is kept"
        );
    }
}
