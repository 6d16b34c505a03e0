//! Full text for teaser feeds: with `full_text = true` a WordPress teaser
//! feed gives the article pages' text (sanitised, the operator's `remove`
//! selectors applied, read once and then only when the feed item changes);
//! an article page that can't be read leaves its teaser; the keys are
//! validated with located errors.

use std::sync::Arc;

use revierfeed::app::App;
use revierfeed::config::Config;
use revierfeed::pipeline::{self, PollOutcome};

use crate::support::{self, Override, PartnerServer, body_bytes, get};

const SITE: &str = "seenland";
const ARTICLE: &str = "/2026/11/20/radweg-drei-seen/";

fn fixture(server: &PartnerServer, name: &str) -> Vec<u8> {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/fulltext")
            .join(name),
    )
    .unwrap()
    .replace("{{BASE}}", &server.url(SITE, ""))
    .into_bytes()
}

fn serve(server: &PartnerServer, path: &str, name: &str, content_type: &str) {
    server.set(
        SITE,
        path,
        Override::Body {
            content_type: content_type.into(),
            body: fixture(server, name),
        },
    );
}

fn config(server: &PartnerServer, dir: &std::path::Path, keys: &str) -> Config {
    let sources = [support::source(SITE, server.url(SITE, "/feed/"), "feed")];
    let text = support::config_text(dir, &sources, "")
        .replace("kind = \"feed\"\n", &format!("kind = \"feed\"\n{keys}\n"));
    let path = dir.join("config.toml");
    std::fs::write(&path, &text).unwrap();
    Config::load(&path).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

async fn poll(app: &Arc<App>) {
    for r in pipeline::refresh_all(app, true, |_| {}).await {
        assert!(
            matches!(
                r.outcome,
                PollOutcome::Fetched { .. } | PollOutcome::NotModified
            ),
            "{}",
            r.summary()
        );
    }
    app.render().await.unwrap();
}

async fn items(app: &Arc<App>) -> Vec<serde_json::Value> {
    let body = body_bytes(get(&app.router(), "/feed.json", &[]).await).await;
    let feed: serde_json::Value = serde_json::from_slice(&body).unwrap();
    feed["items"].as_array().unwrap().clone()
}

fn titled<'a>(items: &'a [serde_json::Value], title: &str) -> &'a serde_json::Value {
    items
        .iter()
        .find(|i| i["title"] == title)
        .unwrap_or_else(|| panic!("no item {title}"))
}

#[tokio::test]
async fn a_teaser_feed_with_full_text_gives_the_articles_text() {
    let server = PartnerServer::start().await;
    serve(
        &server,
        "/feed/",
        "teaser.rss",
        "application/rss+xml; charset=utf-8",
    );
    serve(
        &server,
        ARTICLE,
        "radweg-drei-seen.html",
        "text/html; charset=utf-8",
    );
    // The other item's page is gone: it keeps its teaser.
    server.set(
        SITE,
        "/2026/11/18/faehre-winter/",
        Override::Status {
            status: 404,
            headers: vec![],
            body: b"weg".to_vec(),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(
        App::new(config(
            &server,
            dir.path(),
            "full_text = true\nremove = [\".promo-box\"]",
        ))
        .unwrap(),
    );
    poll(&app).await;
    let all = items(&app).await;

    let radweg = titled(&all, "Neuer Radweg verbindet drei Seen");
    let html = radweg["content_html"].as_str().unwrap();
    for wanted in [
        "letzte Teilstück des Rundwegs",
        "2,1 Millionen Euro aus Strukturmitteln",
    ] {
        assert!(html.contains(wanted), "{wanted} missing from {html}");
    }
    for unwanted in [
        "erschien zuerst auf",
        "abonnieren",
        "trackReader",
        "<script",
        "Teilen mit",
        "Impressum",
    ] {
        assert!(!html.contains(unwanted), "{unwanted} in {html}");
    }
    // The teaser, and its trailer, are no longer the summary.
    let summary = radweg["summary"].as_str().unwrap();
    assert!(summary.contains("letzte Teilstück"), "{summary}");
    // The page's picture comes along.
    assert_eq!(
        radweg["image"],
        server.url(SITE, "/wp-content/uploads/2026/11/radweg-1200x630.jpg")
    );
    // Requested once, without the feed's tracking parameters.
    assert_eq!(server.hits(SITE, ARTICLE).ok, 1);

    let faehre = titled(&all, "Fähre fährt auch im Winter");
    assert!(
        faehre["content_html"]
            .as_str()
            .unwrap()
            .contains("Personenfähre über den Kanal"),
        "{faehre:#}"
    );

    // Unchanged feed items cost no further request for their pages.
    server.reset_hits();
    server.clear(SITE, "/feed/");
    serve(
        &server,
        "/feed/",
        "teaser.rss",
        "application/rss+xml; charset=utf-8",
    );
    poll(&app).await;
    let again = server.hits(SITE, ARTICLE);
    assert_eq!(again.ok + again.not_modified + again.other, 0, "{again:?}");
    let radweg = titled(&items(&app).await, "Neuer Radweg verbindet drei Seen").clone();
    assert!(
        radweg["content_html"]
            .as_str()
            .unwrap()
            .contains("letzte Teilstück des Rundwegs")
    );
}

#[tokio::test]
async fn without_full_text_the_teaser_stays() {
    let server = PartnerServer::start().await;
    serve(
        &server,
        "/feed/",
        "teaser.rss",
        "application/rss+xml; charset=utf-8",
    );
    serve(
        &server,
        ARTICLE,
        "radweg-drei-seen.html",
        "text/html; charset=utf-8",
    );
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(App::new(config(&server, dir.path(), "")).unwrap());
    poll(&app).await;
    let all = items(&app).await;
    let radweg = titled(&all, "Neuer Radweg verbindet drei Seen");
    assert!(
        !radweg["content_html"]
            .as_str()
            .unwrap()
            .contains("Strukturmitteln")
    );
    assert_eq!(server.hits(SITE, ARTICLE).ok, 0);
}

#[test]
fn full_text_keys_are_validated_with_their_place() {
    let text = "[feed]\ntitle = \"T\"\npublic_url = \"http://127.0.0.1:8080/\"\n\
        [[source]]\nid = \"a\"\nurl = \"https://a.example/\"\nkind = \"html\"\nfull_text = true\n\
        [[source]]\nid = \"b\"\nurl = \"https://b.example/feed\"\nkind = \"feed\"\nfull_text = true\ncontent = \"div[\"\nremove = [\".ok\", \"p::\"]\n";
    let err = Config::parse(text, std::path::Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    for wanted in [
        "source[0].full_text",
        "source[1].content",
        "source[1].remove",
        "`p::` is not a valid CSS selector",
    ] {
        assert!(err.contains(wanted), "{wanted} not in {err}");
    }
    let ok = text
        .replace("kind = \"html\"\nfull_text = true\n", "kind = \"html\"\n")
        .replace(
            "content = \"div[\"\nremove = [\".ok\", \"p::\"]\n",
            "content = \"div.entry-content\"\nremove = [\".ok\"]\n",
        );
    let config = Config::parse(&ok, std::path::Path::new("c.toml")).unwrap();
    let b = config.source("b").unwrap();
    assert!(b.full_text && b.content.is_some() && b.remove.len() == 1);
}
