//! Partners without feeds: news listing pages read automatically (QLEE's
//! TYPO3 pages with pagination and a typo'd date, Mittelstand's WordPress
//! cards with JSON-LD, LZUE's windows-1252 hand-made pages), sites given by
//! their homepage (feed autodiscovery), operator selectors, and politeness:
//! a second poll costs only conditional requests.

use std::sync::Arc;

use revierfeed::app::App;
use revierfeed::model::ResolvedKind;
use revierfeed::pipeline::{self, PollOutcome};
use revierfeed::store::ItemView;

use crate::support::{self, PartnerServer, TestSource};

const HTML_SITES: &[(&str, &str)] = &[
    ("qlee", "/aktuelles/neuigkeiten/"),
    ("mittelstand", "/aktuelles/"),
    ("lzue", "/presse/"),
];

fn assert_site_items(server: &PartnerServer, site: &str, items: &[ItemView]) {
    let expected = server.expected(site);
    for e in &expected {
        let found: Vec<&ItemView> = items
            .iter()
            .filter(|i| i.link.as_deref() == Some(e.link.as_str()))
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{site}: {} ({}) must be found exactly once; have: {:#?}",
            e.title,
            e.link,
            items
                .iter()
                .map(|i| (&i.title, &i.link))
                .collect::<Vec<_>>()
        );
        let item = found[0];
        assert_eq!(item.title, e.title, "{site}: title of {}", e.link);
        if let Some(p) = &e.published {
            assert!(
                support::published_matches(p, item.published),
                "{site}: {} dated {} but expected {p}",
                e.title,
                item.published
            );
            assert!(
                item.date_from_partner,
                "{site}: {} has the partner's date",
                e.title
            );
        }
        if let Some(a) = &e.author {
            assert_eq!(
                item.authors,
                vec![a.clone()],
                "{site}: author of {}",
                e.title
            );
        }
    }
    assert_eq!(
        items.len(),
        expected.len(),
        "{site}: no extra items (navigation, related posts, events are not news)"
    );
}

async fn poll_sources(
    sources: Vec<TestSource>,
    extra: &str,
) -> (
    Arc<App>,
    tempfile::TempDir,
    Vec<revierfeed::pipeline::PollReport>,
) {
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(App::new(support::config(dir.path(), &sources, extra)).unwrap());
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    (app, dir, reports)
}

#[tokio::test]
async fn every_html_only_site_yields_exactly_its_news() {
    let server = PartnerServer::start().await;
    let sources = HTML_SITES
        .iter()
        .map(|(s, p)| support::source(s, server.url(s, p), "html"))
        .collect();
    let (app, _dir, reports) = poll_sources(sources, "").await;
    for r in &reports {
        assert!(
            matches!(r.outcome, PollOutcome::Fetched { .. }),
            "{}",
            r.summary()
        );
    }
    for (site, _) in HTML_SITES {
        assert_site_items(&server, site, &app.store.source_items(site, 500).unwrap());
    }
    // The typo "13.02.206" on the article page must not date the Landtag article.
    let qlee = app.store.source_items("qlee", 500).unwrap();
    let landtag = qlee
        .iter()
        .find(|i| i.title.starts_with("QLEE im Landtag"))
        .unwrap();
    assert_eq!(landtag.published.date_naive().to_string(), "2026-02-13");
    // Article bodies were read and sanitised; listing-only entries (LZUE has no article pages) keep their teaser.
    assert!(
        landtag
            .content_html
            .as_deref()
            .unwrap()
            .contains("Sonderausschuss")
    );
    let lzue = app.store.source_items("lzue", 500).unwrap();
    assert!(
        lzue.iter()
            .all(|i| i.content_html.is_none() && !i.text.is_empty())
    );
}

#[tokio::test]
async fn homepages_lead_to_their_feeds() {
    let server = PartnerServer::start().await;
    let sites = [
        "revierbote",
        "strukturagentur",
        "neuwerda",
        "th-transfer",
        "wendepunkte",
        "pro-schiene",
    ];
    let sources = sites
        .iter()
        .map(|s| support::source(s, server.url(s, "/"), "auto"))
        .collect();
    let (app, _dir, reports) = poll_sources(sources, "").await;
    for r in &reports {
        assert!(
            matches!(r.outcome, PollOutcome::Fetched { .. }),
            "{}",
            r.summary()
        );
    }
    for site in sites {
        assert_site_items(&server, site, &app.store.source_items(site, 500).unwrap());
        let state = app.store.source_state(site).unwrap().unwrap();
        assert_eq!(state.resolved_kind, Some(ResolvedKind::Feed), "{site}");
        assert!(
            state
                .discovery
                .as_deref()
                .unwrap()
                .contains("announced by the page"),
            "{site}: {:?}",
            state.discovery
        );
    }
    // Revierbote announces its comments feed too; the main feed is the one read.
    assert_eq!(
        server.hits("revierbote", "/comments/feed/").ok
            + server.hits("revierbote", "/comments/feed/").other,
        0
    );
    // From now on the feed is polled directly, conditionally.
    server.reset_hits();
    pipeline::refresh_all(&app, true, |_| {}).await;
    assert_eq!(server.hits("revierbote", "/").ok, 0);
    assert_eq!(server.hits("revierbote", "/feed/").not_modified, 1);
    app.render().await.unwrap();
    let status: serde_json::Value = serde_json::from_slice(
        &support::body_bytes(support::get(&app.router(), "/status.json", &[]).await).await,
    )
    .unwrap();
    let row = status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "revierbote")
        .unwrap();
    assert!(
        row["discovery"].as_str().unwrap().contains("/feed/"),
        "{row}"
    );
}

#[tokio::test]
async fn auto_falls_back_to_the_listing_when_no_feed_exists() {
    let server = PartnerServer::start().await;
    let sources = vec![support::source(
        "mittelstand",
        server.url("mittelstand", "/aktuelles/"),
        "auto",
    )];
    let (app, _dir, reports) = poll_sources(sources, "").await;
    assert!(
        matches!(reports[0].outcome, PollOutcome::Fetched { .. }),
        "{}",
        reports[0].summary()
    );
    assert_site_items(
        &server,
        "mittelstand",
        &app.store.source_items("mittelstand", 500).unwrap(),
    );
    let state = app.store.source_state("mittelstand").unwrap().unwrap();
    assert_eq!(state.resolved_kind, Some(ResolvedKind::Html));
    assert!(state.discovery.unwrap().contains("no feed found"));
    // Discovery tried the common feed paths (at the site root) once; the next poll does not.
    assert_eq!(server.hits_raw("/feed/").other, 1);
    pipeline::refresh_all(&app, true, |_| {}).await;
    assert_eq!(server.hits_raw("/feed/").other, 1);
}

#[tokio::test]
async fn a_second_poll_costs_only_conditional_requests() {
    let server = PartnerServer::start().await;
    let sources = HTML_SITES
        .iter()
        .map(|(s, p)| support::source(s, server.url(s, p), "html"))
        .collect();
    let (app, _dir, _) = poll_sources(sources, "").await;
    let article = "/aktuelles/neuigkeiten/jahresbilanz-2025/";
    assert_eq!(
        server.hits("qlee", article).ok,
        1,
        "article pages are read once"
    );
    server.reset_hits();
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    assert!(
        reports
            .iter()
            .all(|r| r.outcome == PollOutcome::NotModified),
        "{reports:?}"
    );
    for (site, listing) in HTML_SITES {
        let h = server.hits(site, listing);
        assert_eq!(
            (h.ok, h.not_modified),
            (0, 1),
            "{site}: one conditional listing request"
        );
    }
    assert_eq!(
        server.hits("qlee", article).ok + server.hits("qlee", article).not_modified,
        0,
        "no article request when the listing is unchanged"
    );

    // The listing changes (a new entry on top): only the new article is fetched; the backfill is not repeated.
    let path = support::fixtures().join("qlee/pages/aktuelles/neuigkeiten/index.html");
    let html = std::fs::read_to_string(path)
        .unwrap()
        .replace("{{BASE}}", &format!("{}/qlee", server.base));
    let fresh = r#"<div class="news-list-view" id="news-container-89">
        <div class="article articletype-0"><div class="news-list-content"><div class="header"><h3><a href="aktuelles/neuigkeiten/neu-im-team/">Neu im Team: Verstärkung für die Kursplanung</a></h3></div>
        <div class="news-list-date">20.11.2026</div><div class="teaser-text"><p>Seit November verstärkt eine neue Kollegin die Kursplanung in Cottbus.</p></div></div></div>"#;
    let changed = html.replacen(
        r#"<div class="news-list-view" id="news-container-89">"#,
        fresh,
        1,
    );
    server.set(
        "qlee",
        "/aktuelles/neuigkeiten/",
        support::Override::Body {
            content_type: "text/html; charset=utf-8".into(),
            body: changed.into_bytes(),
        },
    );
    server.reset_hits();
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    let qlee = reports.iter().find(|r| r.source_id == "qlee").unwrap();
    match &qlee.outcome {
        PollOutcome::Fetched { report, .. } => {
            assert_eq!((report.new, report.updated), (1, 0), "{}", qlee.summary())
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        server
            .hits("qlee", "/aktuelles/neuigkeiten/neu-im-team/")
            .other,
        1,
        "the new article is requested (404 here)"
    );
    assert_eq!(
        server.hits("qlee", article).ok + server.hits("qlee", article).not_modified,
        0
    );
    assert_eq!(
        server.hits("qlee", "/aktuelles/neuigkeiten/seite-2/").ok,
        0,
        "no backfill after the first poll"
    );
    let items = app.store.source_items("qlee", 500).unwrap();
    let new = items
        .iter()
        .find(|i| i.title.starts_with("Neu im Team"))
        .unwrap();
    assert_eq!(new.published.date_naive().to_string(), "2026-11-20");
    assert_eq!(items.len(), 19);
}

#[tokio::test]
async fn operator_selectors_replace_the_automatic_reading() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut text = support::config_text(
        dir.path(),
        &[support::source(
            "lzue",
            server.url("lzue", "/presse/"),
            "html",
        )],
        "",
    );
    text.push_str("[source.selectors]\nitem = \"div.meldung\"\ntitle = \"h2\"\nlink = \"h2 a@href\"\ndate = \"p.datum\"\nsummary = \"p:not(.datum):not(.mehr)\"\nfollow = false\n");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    let app = Arc::new(App::new(revierfeed::config::Config::load(&path).unwrap()).unwrap());
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    assert!(
        matches!(reports[0].outcome, PollOutcome::Fetched { .. }),
        "{}",
        reports[0].summary()
    );
    assert_site_items(
        &server,
        "lzue",
        &app.store.source_items("lzue", 500).unwrap(),
    );
    assert_eq!(
        server
            .hits("lzue", "/presse/meldungen/2026/messstation-wenzelsee.html")
            .other,
        0,
        "follow = false reads no article pages"
    );
}
