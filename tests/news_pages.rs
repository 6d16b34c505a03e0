//! The news pages and JSON Feed paging over the archives: `/` grouped by
//! day with credits and links to the tag, source and older pages; each
//! archive page holds the stories of its Atom archive document; JSON Feed's
//! `next_url` walks the same documents as Atom's `prev-archive`; the
//! `[site]` links and footer on every page.

use std::collections::BTreeSet;
use std::sync::Arc;

use revierfeed::app::App;
use revierfeed::config::Config;
use revierfeed::pipeline;

use crate::support::{self, PartnerServer, body_bytes, get};

/// Nine partners (more than 100 stories: two complete archive documents),
/// Pro Schiene tagged `bahn`, and the `[site]` keys set.
async fn archived_app() -> (Arc<App>, PartnerServer, tempfile::TempDir) {
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
    let text = support::config_text(dir.path(), &sources, "")
        .replace("items = 200", "items = 20")
        .replace(
            "[[source]]\nid = \"pro-schiene\"",
            "[[source]]\nid = \"pro-schiene\"\ntags = [\"bahn\"]",
        )
        + "[site]\nimpressum = \"https://lausitz.example/impressum\"\ndatenschutz = \"https://lausitz.example/datenschutz\"\nfooter = \"Ein Angebot der <Lausitz> & Partner\"\n";
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &text).unwrap();
    let app = Arc::new(App::new(Config::load(&path).unwrap()).unwrap());
    pipeline::refresh_all(&app, true, |_| {}).await;
    app.render().await.unwrap();
    (app, server, dir)
}

async fn text(app: &Arc<App>, path: &str) -> String {
    let r = get(&app.router(), path, &[]).await;
    assert_eq!(r.status(), 200, "{path}");
    String::from_utf8(body_bytes(r).await).unwrap()
}

/// The local path of a link to this site.
fn local(url: &str) -> String {
    url.trim_start_matches("http://127.0.0.1:8080").to_string()
}

#[tokio::test]
async fn json_feed_pages_through_the_same_archives_as_atom() {
    let (app, _server, _dir) = archived_app().await;
    let mut json_url = "/feed.json".to_string();
    let mut atom_url = "/feed.atom".to_string();
    let mut pages = 0;
    loop {
        let json: serde_json::Value = serde_json::from_str(&text(&app, &json_url).await).unwrap();
        let atom =
            atom_syndication::Feed::read_from(text(&app, &atom_url).await.as_bytes()).unwrap();
        let json_ids: BTreeSet<&str> = json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        let atom_ids: BTreeSet<&str> = atom.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(json_ids, atom_ids, "{json_url} and {atom_url}");
        assert_eq!(json["feed_url"], format!("http://127.0.0.1:8080{json_url}"));
        let prev = atom.links.iter().find(|l| l.rel == "prev-archive");
        match (json.get("next_url"), prev) {
            (Some(next), Some(prev)) => {
                let next = local(next.as_str().unwrap());
                assert_eq!(
                    next.trim_end_matches(".json"),
                    local(&prev.href).trim_end_matches(".atom")
                );
                json_url = next;
                atom_url = local(&prev.href);
                pages += 1;
            }
            (None, None) => break,
            (next, prev) => panic!("{json_url}: next_url {next:?} but prev-archive {prev:?}"),
        }
    }
    assert_eq!(pages, 2, "the current feed and two archive documents");
    assert_eq!(
        get(&app.router(), "/archive/1.rss", &[]).await.status(),
        404
    );
    assert_eq!(
        get(&app.router(), "/archive/3.json", &[]).await.status(),
        404
    );
}

#[tokio::test]
async fn news_pages_group_by_day_and_reach_topics_partners_and_older_news() {
    let (app, _server, _dir) = archived_app().await;
    let index = text(&app, "/").await;
    let doc = scraper::Html::parse_document(&index);
    let sel = |s: &str| scraper::Selector::parse(s).unwrap();
    assert_eq!(
        doc.select(&sel("html")).next().unwrap().attr("lang"),
        Some("de")
    );
    for landmark in ["header", "main#inhalt", "footer", "nav"] {
        assert!(doc.select(&sel(landmark)).next().is_some(), "{landmark}");
    }
    assert_eq!(doc.select(&sel("h1")).count(), 1, "one h1");
    assert!(!index.contains("<script"), "no JavaScript");
    assert!(index.contains("prefers-color-scheme:dark"), "a dark scheme");

    // Grouped by day: a section per Berlin date, newest first, 20 stories in all.
    let days: Vec<String> = doc
        .select(&sel("main section > h2"))
        .map(|h| h.text().collect())
        .collect();
    assert!(days.len() >= 3, "{days:?}");
    let dates: Vec<chrono::NaiveDate> = days
        .iter()
        .map(|d| {
            chrono::NaiveDate::parse_from_str(d.split_once(", ").unwrap().1, "%d.%m.%Y").unwrap()
        })
        .collect();
    assert!(dates.windows(2).all(|w| w[0] > w[1]), "{days:?}");
    assert_eq!(doc.select(&sel("main section article")).count(), 20);
    for section in doc.select(&sel("main section")) {
        let heading: String = section.select(&sel("h2")).next().unwrap().text().collect();
        for t in section.select(&sel("time")) {
            let at = chrono::DateTime::parse_from_rfc3339(t.attr("datetime").unwrap()).unwrap();
            let day = at
                .with_timezone(&chrono_tz::Europe::Berlin)
                .format("%d.%m.%Y")
                .to_string();
            assert!(heading.ends_with(&day), "{day} under {heading}");
        }
    }
    // Every entry credits its partner.
    for meta in doc.select(&sel("main article p.meta")) {
        let meta: String = meta.text().collect();
        assert!(meta.contains("Quelle: Quelle "), "{meta}");
    }

    // The footer: every topic and partner page, and the [site] keys (escaped).
    let links: Vec<&str> = doc
        .select(&sel("a[href]"))
        .map(|a| a.attr("href").unwrap())
        .collect();
    for page in [
        "/tags/bahn.html",
        "/sources/neuwerda.html",
        "/sources/qlee.html",
        "/archive/2.html",
    ] {
        assert!(links.contains(&page), "{page} not linked");
    }
    assert!(links.contains(&"https://lausitz.example/impressum"));
    assert!(links.contains(&"https://lausitz.example/datenschutz"));
    assert!(index.contains("Ein Angebot der &lt;Lausitz&gt; &amp; Partner"));

    // A topic's page holds the stories of its feed.
    let bahn = text(&app, "/tags/bahn.html").await;
    let bahn_feed = feed_rs::parser::parse(text(&app, "/tags/bahn.atom").await.as_bytes()).unwrap();
    assert!(!bahn_feed.entries.is_empty());
    for e in &bahn_feed.entries {
        let title = e.title.as_ref().unwrap().content.clone();
        assert!(
            bahn.contains(&html_escape::encode_text(&title).to_string()),
            "{title}"
        );
    }
    assert!(bahn.contains("<h1>Thema #bahn</h1>"));
    // A partner's page holds its items and nobody else's.
    let neuwerda = text(&app, "/sources/neuwerda.html").await;
    let page = scraper::Html::parse_document(&neuwerda);
    let credits: Vec<String> = page
        .select(&sel("main article p.meta"))
        .map(|m| m.text().collect())
        .collect();
    assert!(!credits.is_empty());
    assert!(
        credits
            .iter()
            .all(|c| c.contains("Quelle: Quelle neuwerda")),
        "{credits:?}"
    );
    assert_eq!(
        get(&app.router(), "/sources/nobody.html", &[])
            .await
            .status(),
        404
    );

    // Older news: archive pages hold their Atom document's stories, with a pager.
    for n in [1, 2] {
        let html = text(&app, &format!("/archive/{n}.html")).await;
        let atom =
            feed_rs::parser::parse(text(&app, &format!("/archive/{n}.atom")).await.as_bytes())
                .unwrap();
        let page = scraper::Html::parse_document(&html);
        assert_eq!(
            page.select(&sel("main article")).count(),
            atom.entries.len()
        );
        assert_eq!(atom.entries.len(), 50);
        let pager: Vec<(&str, &str)> = page
            .select(&sel("nav.pager a"))
            .map(|a| (a.attr("rel").unwrap(), a.attr("href").unwrap()))
            .collect();
        let expected: Vec<(&str, String)> = match n {
            2 => vec![("prev", "/".into()), ("next", "/archive/1.html".into())],
            _ => vec![("prev", "/archive/2.html".into())],
        };
        assert_eq!(
            pager,
            expected
                .iter()
                .map(|(r, h)| (*r, h.as_str()))
                .collect::<Vec<_>>(),
            "archive {n}"
        );
    }
    assert_eq!(
        get(&app.router(), "/archive/3.html", &[]).await.status(),
        404
    );
}
