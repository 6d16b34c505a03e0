//! Every feed site of the samples: after one poll, each expected item is in
//! the merged feed exactly once, with the expected title, link, date and author.

use std::collections::HashMap;
use std::sync::Arc;

use revierfeed::app::App;
use revierfeed::pipeline::{self, PollOutcome};

use crate::support::{self, FEED_SITES, PartnerServer};

struct Seen {
    title: String,
    link: Option<String>,
    published: chrono::DateTime<chrono::Utc>,
    authors: Vec<String>,
    source: String,
    content: String,
}

/// Every item of the merged JSON Feed, one per crediting source (stories may merge several).
async fn merged_items(app: &Arc<App>) -> Vec<Seen> {
    let body = support::body_bytes(support::get(&app.router(), "/feed.json", &[]).await).await;
    let feed: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let mut out = Vec::new();
    for item in feed["items"].as_array().unwrap() {
        let sources = item["_revierfeed"]["sources"].as_array().unwrap();
        let lead = &sources[0];
        out.push(Seen {
            title: item["title"].as_str().unwrap().to_string(),
            link: item["url"].as_str().map(str::to_string),
            published: item["date_published"].as_str().unwrap().parse().unwrap(),
            authors: item["authors"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| x["name"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default(),
            source: lead["id"].as_str().unwrap().to_string(),
            content: item["content_html"].as_str().unwrap().to_string(),
        });
    }
    out
}

#[tokio::test]
async fn every_expected_item_of_every_feed_site_is_served_exactly_once() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(
        App::new(support::config(
            dir.path(),
            &support::feed_sources(&server),
            "",
        ))
        .unwrap(),
    );
    let started = chrono::Utc::now();
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    for r in &reports {
        assert!(
            matches!(r.outcome, PollOutcome::Fetched { .. }),
            "{}",
            r.summary()
        );
    }
    app.render().await.unwrap();
    let seen = merged_items(&app).await;

    let mut expected_total = 0;
    for (site, _) in FEED_SITES {
        let expected = server.expected(site);
        expected_total += expected.len();
        for e in &expected {
            let matches: Vec<&Seen> = seen
                .iter()
                .filter(|s| s.link.as_deref() == Some(e.link.as_str()))
                .collect();
            assert_eq!(
                matches.len(),
                1,
                "{site}: {} must appear exactly once (by link {})",
                e.title,
                e.link
            );
            let s = matches[0];
            assert_eq!(s.source, *site);
            assert_eq!(s.title, e.title, "{site}: title of {}", e.link);
            match &e.published {
                Some(p) => assert!(
                    support::published_matches(p, s.published),
                    "{site}: {} published {} but expected {p}",
                    e.title,
                    s.published
                ),
                // No date from the partner: the time we first saw it.
                None => assert!(
                    s.published >= started - chrono::Duration::seconds(1)
                        && s.published <= chrono::Utc::now(),
                    "{site}: {}",
                    e.title
                ),
            }
            if let Some(author) = &e.author {
                assert_eq!(
                    s.authors,
                    vec![author.clone()],
                    "{site}: author of {}",
                    e.title
                );
            }
            for bad in &e.content_must_not_contain {
                assert!(
                    !s.content.contains(bad.as_str()),
                    "{site}: {bad} survived in {}",
                    e.title
                );
            }
        }
    }
    assert_eq!(
        seen.len(),
        expected_total,
        "no extra entries beyond the answer keys"
    );
}

#[tokio::test]
async fn republished_content_is_sanitised_and_absolute() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sources = vec![support::source(
        "revierbote",
        server.url("revierbote", "/feed/"),
        "feed",
    )];
    let app = Arc::new(App::new(support::config(dir.path(), &sources, "")).unwrap());
    pipeline::refresh_all(&app, true, |_| {}).await;
    app.render().await.unwrap();
    let seen = merged_items(&app).await;
    let origin = format!("{}/revierbote", server.base);
    let mut images = 0;
    for s in &seen {
        assert!(
            !s.content.contains("src=\"/"),
            "root-relative URL left in {}",
            s.title
        );
        assert!(!s.content.contains("srcset"), "srcset is not republished");
        images += s
            .content
            .matches(&format!("src=\"{}/wp-content/", server.base))
            .count();
        let _ = &origin;
    }
    assert!(images > 0, "images made absolute against the site origin");
}

#[tokio::test]
async fn items_are_stored_per_source_without_duplicates() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(
        App::new(support::config(
            dir.path(),
            &support::feed_sources(&server),
            "",
        ))
        .unwrap(),
    );
    pipeline::refresh_all(&app, true, |_| {}).await;
    let counts: HashMap<String, i64> = app
        .store
        .source_states()
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.item_count))
        .collect();
    for (site, _) in FEED_SITES {
        assert_eq!(counts[*site], server.expected(site).len() as i64, "{site}");
    }
}
