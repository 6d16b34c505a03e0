//! Every feed site of the samples: after one poll, each expected item is
//! credited in the merged feed exactly once, and is in its source's feed with
//! the expected title, link, date and author.

use std::collections::HashMap;
use std::sync::Arc;

use revierfeed::app::App;
use revierfeed::pipeline::{self, PollOutcome};

use crate::support::{self, FEED_SITES, PartnerServer, strict};

struct Seen {
    title: String,
    link: Option<String>,
    published: chrono::DateTime<chrono::Utc>,
    authors: Vec<String>,
    source: String,
    content: String,
}

/// Every entry of a served JSON Feed; `path` is a per-source feed, where
/// each entry is one item.
async fn served_items(app: &Arc<App>, path: &str) -> Vec<Seen> {
    let body = support::body_bytes(support::get(&app.router(), path, &[]).await).await;
    let feed = strict::json_feed_1_1(&body, path);
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

/// Markup no served entry may carry, whatever the partner sent (the hostile
/// payloads themselves are in tests/faults.rs; this holds for every item here).
fn assert_inert(html: &str, what: &str) {
    let lower = html.to_ascii_lowercase();
    for bad in [
        "<script",
        "javascript:",
        "<iframe",
        "<style",
        " onerror=",
        " onclick=",
        " onload=",
    ] {
        assert!(!lower.contains(bad), "{what}: `{bad}` served in {html}");
    }
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
    // The merged feed (stories on, as shipped) credits every item once, to its source.
    let merged = strict::json_feed_1_1(
        &support::body_bytes(support::get(&app.router(), "/feed.json", &[]).await).await,
        "/feed.json",
    );
    let credited = strict::credited(&merged);

    let mut expected_total = 0;
    for (site, _) in FEED_SITES {
        let expected = server.expected(site);
        expected_total += expected.len();
        let seen = served_items(&app, &format!("/sources/{site}.json")).await;
        assert_eq!(
            seen.len(),
            expected.len(),
            "{site}: entries of its own feed"
        );
        for e in &expected {
            let credits: Vec<_> = credited
                .iter()
                .filter(|(_, link)| link.as_deref() == Some(e.link.as_str()))
                .collect();
            assert_eq!(
                credits.len(),
                1,
                "{site}: {} must be credited exactly once in the merged feed (by link {})",
                e.title,
                e.link
            );
            assert_eq!(credits[0].0, *site, "{site}: {} credited to", e.link);
            let matches: Vec<&Seen> = seen
                .iter()
                .filter(|s| s.link.as_deref() == Some(e.link.as_str()))
                .collect();
            assert_eq!(
                matches.len(),
                1,
                "{site}: {} must appear exactly once in its feed (by link {})",
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
            assert_inert(&s.content, &format!("{site}: {}", e.title));
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
        credited.len(),
        expected_total,
        "no extra items beyond the answer keys"
    );
    let merged_entries = merged["items"].as_array().unwrap();
    assert!(
        merged_entries.len() < expected_total,
        "the feed sites share news; the merged feed should merge some of it"
    );
    for entry in merged_entries {
        assert_inert(entry["content_html"].as_str().unwrap(), "merged entry");
    }
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
    let seen = served_items(&app, "/feed.json").await;
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

#[tokio::test]
async fn with_story_matching_turned_off_every_item_is_its_own_entry() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(
        App::new(support::config_unmatched(
            dir.path(),
            &support::feed_sources(&server),
            "",
        ))
        .unwrap(),
    );
    pipeline::refresh_all(&app, true, |_| {}).await;
    app.render().await.unwrap();
    let merged = strict::json_feed_1_1(
        &support::body_bytes(support::get(&app.router(), "/feed.json", &[]).await).await,
        "/feed.json",
    );
    let expected: usize = FEED_SITES
        .iter()
        .map(|(site, _)| server.expected(site).len())
        .sum();
    assert_eq!(merged["items"].as_array().unwrap().len(), expected);
    assert_eq!(
        strict::credited(&merged).len(),
        expected,
        "one credit per entry"
    );
}
