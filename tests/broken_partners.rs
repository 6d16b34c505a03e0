//! A broken partner (truncated XML, an HTML page instead of a feed, a 500)
//! records an error on its own source; the other sources and the served feed
//! are unaffected, and its earlier items stay.

use std::sync::Arc;

use revierfeed::app::App;
use revierfeed::pipeline::{self, PollOutcome};

use crate::support::{self, Override, PartnerServer, strict};

/// The merged JSON Feed as served.
async fn served(app: &Arc<App>) -> serde_json::Value {
    serde_json::from_slice(
        &support::body_bytes(support::get(&app.router(), "/feed.json", &[]).await).await,
    )
    .unwrap()
}

fn entry_ids(feed: &serde_json::Value) -> Vec<String> {
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_broken_partner_keeps_its_items_and_harms_no_one() {
    let faults: Vec<(&str, Override, &str)> = vec![
        (
            "truncated",
            Override::Body { content_type: "application/rss+xml".into(), body: b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Halb</title><item><title>Abgeschn".to_vec() },
            "could not be parsed",
        ),
        (
            "html",
            Override::Body { content_type: "text/html".into(), body: b"<!doctype html><html><body><h1>Wartung</h1></body></html>".to_vec() },
            "HTML page",
        ),
        ("status500", Override::Status { status: 500, headers: vec![], body: b"internal error".to_vec() }, "HTTP 500"),
        ("empty", Override::Body { content_type: "application/rss+xml".into(), body: Vec::new() }, "empty response"),
    ];
    for (name, fault, message) in faults {
        let server = PartnerServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let sources = vec![
            support::source(
                "pro-schiene",
                server.url("pro-schiene", "/blog/rss.xml"),
                "feed",
            ),
            support::source(
                "neuwerda",
                server.url("neuwerda", "/aktuelles/rss.php"),
                "feed",
            ),
        ];
        let app = Arc::new(App::new(support::config(dir.path(), &sources, "")).unwrap());
        pipeline::refresh_all(&app, true, |_| {}).await;
        app.render().await.unwrap();
        let before = served(&app).await;
        assert_eq!(strict::credited(&before).len(), 25);
        // The two partners report shared news: the feed the fault must not harm has merged stories.
        assert!(
            entry_ids(&before).len() < 25,
            "no story merged the partners' shared news"
        );

        server.set("pro-schiene", "/blog/rss.xml", fault);
        server.clear("neuwerda", "/aktuelles/rss.php");
        let reports = pipeline::refresh_all(&app, true, |_| {}).await;
        let broken = reports
            .iter()
            .find(|r| r.source_id == "pro-schiene")
            .unwrap();
        match &broken.outcome {
            PollOutcome::Failed { error, .. } => {
                assert!(error.contains(message), "{name}: {error}")
            }
            other => panic!("{name}: {other:?}"),
        }
        let fine = reports.iter().find(|r| r.source_id == "neuwerda").unwrap();
        assert_eq!(fine.outcome, PollOutcome::NotModified, "{name}");

        let state = app.store.source_state("pro-schiene").unwrap().unwrap();
        assert!(
            state.last_error.as_deref().unwrap().contains(message),
            "{name}"
        );
        assert_eq!(state.item_count, 10, "{name}: earlier items stay");
        app.render().await.unwrap();
        let after = served(&app).await;
        assert_eq!(
            (entry_ids(&after), strict::credited(&after)),
            (entry_ids(&before), strict::credited(&before)),
            "{name}: the served feed is unaffected"
        );
        let status: serde_json::Value = serde_json::from_slice(
            &support::body_bytes(support::get(&app.router(), "/status.json", &[]).await).await,
        )
        .unwrap();
        let row = status["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == "pro-schiene")
            .unwrap()
            .clone();
        assert_eq!(row["ok"], false, "{name}");
        assert!(row["last_error"].as_str().unwrap().contains(message));
    }
}
