//! The publishing surface: keep/drop/tag rules and per-tag feeds, RFC 5005
//! archives, OPML, CORS and caching headers, /metrics, and WebSub pings to a
//! hub on loopback.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use revierfeed::app::App;
use revierfeed::config::Config;
use revierfeed::pipeline;

use crate::support::daemon::InProcessDaemon;
use crate::support::{self, PartnerServer, body_bytes, get, strict};

fn feed_sources_text(server: &PartnerServer, dir: &std::path::Path, extra_top: &str) -> String {
    let mut text = support::config_text(dir, &support::feed_sources(server), "");
    text.push_str(extra_top);
    text
}

fn load(dir: &std::path::Path, text: &str) -> Config {
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

async fn entries(app: &Arc<App>, path: &str) -> Vec<feed_rs::model::Entry> {
    let r = get(&app.router(), path, &[]).await;
    assert_eq!(r.status(), 200, "{path}");
    feed_rs::parser::parse(&body_bytes(r).await[..])
        .unwrap()
        .entries
}

/// The answer-key titles of the items a served JSON Feed credits, per entry:
/// with stories merged, an entry's own title is its earliest member's,
/// which depends on the order of concurrent polls; its members do not.
async fn credited_titles(app: &Arc<App>, server: &PartnerServer, path: &str) -> Vec<Vec<String>> {
    let by_link: std::collections::HashMap<String, String> = support::FEED_SITES
        .iter()
        .flat_map(|(site, _)| server.expected(site))
        .map(|e| (e.link, e.title))
        .collect();
    let r = get(&app.router(), path, &[]).await;
    assert_eq!(r.status(), 200, "{path}");
    let feed: serde_json::Value = serde_json::from_slice(&body_bytes(r).await).unwrap();
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            item["_revierfeed"]["sources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| by_link[s["url"].as_str().unwrap()].clone())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn rules_hide_and_tag_items_and_a_config_change_rejudges_them() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Pro Schiene only about the petition; a global drop rule; a tag rule on titles.
    let rules = "[[rule]]\nname = \"keine Mahnwachen\"\naction = \"drop\"\nkeywords = [\"Mahnwache\"]\n\
        [[rule]]\naction = \"tag\"\nkeywords = [\"Wasserstoff\", \"Elektrolys\"]\nfields = [\"title\"]\ntags = [\"wasserstoff\"]\n";
    let mut text = feed_sources_text(&server, dir.path(), rules);
    text = text.replace(
        "[[source]]\nid = \"pro-schiene\"",
        "[[source]]\nid = \"pro-schiene\"\ntags = [\"bahn\"]",
    );
    let keep = "[[source.rule]]\nname = \"nur Petition\"\naction = \"keep\"\nkeywords = [\"Petition\", \"Kleinmühlen\"]\nfields = [\"title\"]\n";
    text.push_str(keep);
    let app = Arc::new(App::new(load(dir.path(), &text)).unwrap());
    pipeline::refresh_all(&app, true, |_| {}).await;
    app.render().await.unwrap();

    let merged: Vec<String> = credited_titles(&app, &server, "/feed.json").await.concat();
    assert!(
        !merged.iter().any(|t| t.contains("Mahnwache")),
        "dropped globally"
    );
    assert!(merged.contains(
        &"Übergabe in Potsdam: 6.412 Unterschriften für den Haltepunkt Kleinmühlen".to_string()
    ));
    assert!(
        !merged.contains(&"Mitgliederversammlung: Neuer Sprecherkreis gewählt".to_string()),
        "not about the petition"
    );
    // A tag feed holds every story with a tagged member (a story has one item per source).
    let bahn = credited_titles(&app, &server, "/tags/bahn.json").await;
    assert_eq!(bahn.len(), 4, "{bahn:?}");
    assert!(
        bahn.iter().all(|members| members
            .iter()
            .any(|t| t.contains("Petition") || t.contains("Kleinmühlen"))),
        "{bahn:?}"
    );
    assert_eq!(entries(&app, "/tags/bahn.atom").await.len(), 4);
    let h2 = credited_titles(&app, &server, "/tags/wasserstoff.json").await;
    assert!(
        h2.len() >= 3
            && h2.iter().all(|members| members
                .iter()
                .any(|t| t.contains("Wasserstoff") || t.contains("Elektrolys"))),
        "{h2:?}"
    );
    assert_eq!(entries(&app, "/tags/wasserstoff.rss").await.len(), h2.len());
    // Tags travel as categories with our scheme.
    let atom = String::from_utf8(
        body_bytes(get(&app.router(), "/tags/wasserstoff.atom", &[]).await).await,
    )
    .unwrap();
    assert!(
        atom.contains(r#"term="wasserstoff" scheme="http://127.0.0.1:8080/tags/""#),
        "{atom}"
    );
    for tag in ["bahn", "wasserstoff"] {
        let base = format!("/tags/{tag}");
        let body = |ext: &'static str| {
            let (router, path) = (app.router(), format!("{base}.{ext}"));
            async move { body_bytes(get(&router, &path, &[]).await).await }
        };
        strict::three_formats_agree(
            &body("atom").await,
            &body("rss").await,
            &body("json").await,
            &base,
        );
    }
    // Hidden items are kept with their reason.
    let hidden: Vec<(String, String)> = app
        .store
        .with(|c| {
            let mut s = c.prepare(
                "SELECT title, hidden FROM items WHERE hidden IS NOT NULL ORDER BY title",
            )?;
            let rows = s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .unwrap();
    assert!(
        hidden
            .iter()
            .any(|(t, why)| t.contains("Mahnwache") && why.contains("keine Mahnwachen")),
        "{hidden:?}"
    );
    assert!(
        hidden.iter().any(|(_, why)| why.contains("nur Petition")),
        "{hidden:?}"
    );

    // The operator removes the keep rule: everything comes back without polling again.
    let relaxed = text.replace(keep, "");
    app.apply_config(load(dir.path(), &relaxed)).await.unwrap();
    app.render().await.unwrap();
    let merged = credited_titles(&app, &server, "/feed.json").await.concat();
    assert!(merged.contains(&"Mitgliederversammlung: Neuer Sprecherkreis gewählt".to_string()));
    assert!(!merged.iter().any(|t| t.contains("Mahnwache")));
}

#[tokio::test]
async fn archives_walk_back_through_all_history() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut sources = support::feed_sources(&server);
    for (s, p) in [
        ("qlee", "/aktuelles/neuigkeiten/"),
        ("mittelstand", "/aktuelles/"),
        ("lzue", "/presse/"),
    ] {
        sources.push(support::source(s, server.url(s, p), "html"));
    }
    let text = support::config_text(dir.path(), &sources, "").replace("items = 200", "items = 20");
    let app = Arc::new(App::new(load(dir.path(), &text)).unwrap());
    pipeline::refresh_all(&app, true, |_| {}).await;
    app.render().await.unwrap();
    let total = app.store.stories(1000).unwrap().len();
    assert!(total > 100, "{total}");

    let current =
        String::from_utf8(body_bytes(get(&app.router(), "/feed.atom", &[]).await).await).unwrap();
    let prev = r#"rel="prev-archive""#;
    assert!(current.contains(prev), "{current}");
    let mut seen = std::collections::HashSet::new();
    let mut url = "/archive/2.atom".to_string();
    let mut pages = 0;
    loop {
        let r = get(&app.router(), &url, &[]).await;
        assert_eq!(r.status(), 200, "{url}");
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        let body = String::from_utf8(body_bytes(r).await).unwrap();
        roxmltree::Document::parse(&body).unwrap();
        strict::xmllint(body.as_bytes(), &url);
        strict::feedparser(body.as_bytes(), "atom10", &url);
        assert!(
            body.contains("<fh:archive") && body.contains(r#"rel="current""#),
            "{body}"
        );
        // Archives answer 304 to their own ETag like every served document.
        assert_eq!(
            get(&app.router(), &url, &[("if-none-match", &etag)])
                .await
                .status(),
            304
        );
        let feed = atom_syndication::Feed::read_from(body.as_bytes()).unwrap();
        for e in &feed.entries {
            assert!(
                seen.insert(e.id.clone()),
                "{} in two archive documents",
                e.id
            );
        }
        pages += 1;
        match feed.links.iter().find(|l| l.rel == "prev-archive") {
            Some(l) => {
                url = l
                    .href
                    .trim_start_matches("http://127.0.0.1:8080")
                    .to_string()
            }
            None => break,
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(seen.len(), 100, "two complete archive pages of 50 stories");
    assert_eq!(
        get(&app.router(), "/archive/3.atom", &[]).await.status(),
        404,
        "the open page is not an archive yet"
    );
    assert_eq!(
        get(&app.router(), "/archive/0.atom", &[]).await.status(),
        404
    );
}

#[tokio::test]
async fn opml_cors_caching_and_metrics() {
    let (app, server, _dir) = support::polled_feed_app().await;
    let router = app.router();

    let r = get(&router, "/sources.opml", &[]).await;
    assert_eq!(r.headers()["content-type"], "text/x-opml; charset=utf-8");
    let opml = String::from_utf8(body_bytes(r).await).unwrap();
    let doc = roxmltree::Document::parse(&opml).unwrap();
    let outlines: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("outline"))
        .collect();
    assert_eq!(outlines.len(), 6);
    let neuwerda = outlines
        .iter()
        .find(|o| o.attribute("text") == Some("Quelle neuwerda"))
        .unwrap();
    assert_eq!(
        neuwerda.attribute("xmlUrl"),
        Some(server.url("neuwerda", "/aktuelles/rss.php").as_str())
    );

    let feed = get(&router, "/feed.json", &[]).await;
    assert_eq!(feed.headers()["access-control-allow-origin"], "*");
    // The default schedule is 15 minutes: readers may cache a quarter of it.
    assert_eq!(feed.headers()["cache-control"], "public, max-age=225");
    let page = get(&router, "/", &[]).await;
    assert!(page.headers().get("access-control-allow-origin").is_none());

    let _ = get(&router, "/nope", &[]).await;
    let metrics = String::from_utf8(body_bytes(get(&router, "/metrics", &[]).await).await).unwrap();
    for line in [
        "revierfeed_polls_total{outcome=\"fetched\"} 6",
        "revierfeed_items_total{change=\"new\"} 89",
        "revierfeed_items_stored 89",
        "revierfeed_http_responses_total{status=\"404\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }
    assert!(
        metrics.contains("revierfeed_poll_duration_seconds_count 6"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_feeds_are_pushed_to_the_hub() {
    // A WebSub hub on loopback that records publish pings.
    let pings: Arc<Mutex<Vec<String>>> = Arc::default();
    let recorded = pings.clone();
    let hub = axum::Router::new().route(
        "/hub",
        axum::routing::post(move |body: String| {
            let recorded = recorded.clone();
            async move {
                recorded.lock().unwrap().push(body);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let hub_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub_url = format!("http://{}/hub", hub_listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(hub_listener, hub).await.unwrap() });

    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let text = support::config_text(
        dir.path(),
        &[support::source(
            "neuwerda",
            server.url("neuwerda", "/aktuelles/rss.php"),
            "feed",
        )],
        "",
    )
    .replace(
        "items = 200\n",
        &format!("items = 200\nhubs = [\"{hub_url}\"]\n"),
    );
    let app = Arc::new(App::new(load(dir.path(), &text)).unwrap());
    let atom =
        String::from_utf8(body_bytes(get(&app.router(), "/feed.atom", &[]).await).await).unwrap();
    assert!(
        atom.contains(&format!(r#"href="{hub_url}" rel="hub""#))
            || atom.contains(&format!(r#"rel="hub" href="{hub_url}""#)),
        "{atom}"
    );

    let daemon = InProcessDaemon::start(app).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // The pings for one render go out one after another: wait for both
        // the merged feed's and the changed source's before judging them.
        let got = pings.lock().unwrap().clone();
        // Every changed feed is pinged, one request each, in no fixed order:
        // wait for the merged feed's and the source's, then check them all.
        let pinged = |topic: &str| got.iter().any(|b| b.contains(topic));
        if pinged("hub.url=http%3A%2F%2F127.0.0.1%3A8080%2Ffeed.atom")
            && pinged("sources%2Fneuwerda.json")
        {
            assert!(
                got.iter()
                    .all(|b| b.starts_with("hub.mode=publish&hub.url=")),
                "{got:?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the hub did not get pings for both the merged feed and the changed source: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    daemon.stop().await;
}
