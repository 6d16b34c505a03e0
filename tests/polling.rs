//! Polling behaviour: conditional requests and 304s, restarts without
//! duplicates or losses, updates that stay one item, redirects, refused
//! private addresses, Retry-After and backoff, body limits.

use std::sync::Arc;

use revierfeed::app::App;
use revierfeed::config::Config;
use revierfeed::pipeline::{self, PollOutcome};

use crate::support::{self, FEED_SITES, Override, PartnerServer};

fn app(config: Config) -> Arc<App> {
    Arc::new(App::new(config).unwrap())
}

#[tokio::test]
async fn second_poll_is_conditional_and_costs_no_parsing() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = app(support::config(
        dir.path(),
        &support::feed_sources(&server),
        "",
    ));
    pipeline::refresh_all(&app, true, |_| {}).await;
    let second = pipeline::refresh_all(&app, true, |_| {}).await;
    for (site, path) in FEED_SITES {
        let r = second.iter().find(|r| r.source_id == *site).unwrap();
        assert_eq!(r.outcome, PollOutcome::NotModified, "{}", r.summary());
        let hits = server.hits(site, path);
        assert_eq!((hits.ok, hits.not_modified), (1, 1), "{site}");
        let sent = hits.last_headers.unwrap();
        assert!(
            sent.contains_key("if-none-match"),
            "{site} sent no If-None-Match"
        );
        assert!(
            sent.contains_key("if-modified-since"),
            "{site} sent no If-Modified-Since"
        );
    }
}

#[tokio::test]
async fn three_polls_and_a_restart_lose_nothing_and_duplicate_nothing() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = support::config(dir.path(), &support::feed_sources(&server), "");
    let total: i64 = FEED_SITES
        .iter()
        .map(|(s, _)| server.expected(s).len() as i64)
        .sum();
    let uids_before;
    {
        let app = app(cfg.clone());
        for _ in 0..3 {
            pipeline::refresh_all(&app, true, |_| {}).await;
        }
        assert_eq!(app.store.item_count().unwrap(), total);
        uids_before = app
            .store
            .stories(500)
            .unwrap()
            .into_iter()
            .map(|s| s.uid)
            .collect::<Vec<_>>();
    }
    // A restart, and the partners' validators forgotten: everything is fetched and parsed again.
    server.reset_hits();
    let app = app(cfg);
    app.store
        .with(|c| {
            c.execute("UPDATE sources SET etag = NULL, last_modified = NULL", [])?;
            Ok(())
        })
        .unwrap();
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    for r in &reports {
        match &r.outcome {
            PollOutcome::Fetched { report, .. } => {
                assert_eq!((report.new, report.updated), (0, 0), "{}", r.summary())
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(app.store.item_count().unwrap(), total);
    let uids_after: Vec<String> = app
        .store
        .stories(500)
        .unwrap()
        .into_iter()
        .map(|s| s.uid)
        .collect();
    assert_eq!(
        uids_before, uids_after,
        "entry ids are stable across restarts"
    );
    assert_eq!(app.store.integrity_check().unwrap(), Ok(()));
}

#[tokio::test]
async fn a_changed_title_is_an_update_not_a_new_item() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sources = vec![support::source(
        "pro-schiene",
        server.url("pro-schiene", "/blog/rss.xml"),
        "feed",
    )];
    let app = app(support::config(dir.path(), &sources, ""));
    pipeline::refresh_all(&app, true, |_| {}).await;
    let before = app.store.source_items("pro-schiene", 100).unwrap();
    let raw = std::fs::read_to_string(support::fixtures().join("pro-schiene/pages/blog/rss.xml"))
        .unwrap();
    let edited = raw
        .replace("{{BASE}}", &format!("{}/pro-schiene", server.base))
        .replace(
            "Neuer Sprecherkreis gewählt",
            "Neuer Sprecherkreis gewählt (korrigiert)",
        );
    server.set(
        "pro-schiene",
        "/blog/rss.xml",
        Override::Body {
            content_type: "application/rss+xml".into(),
            body: edited.into_bytes(),
        },
    );
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    match &reports[0].outcome {
        PollOutcome::Fetched { report, .. } => assert_eq!((report.new, report.updated), (0, 1)),
        other => panic!("{other:?}"),
    }
    let after = app.store.source_items("pro-schiene", 100).unwrap();
    assert_eq!(before.len(), after.len());
    let changed = after
        .iter()
        .find(|i| i.title.ends_with("(korrigiert)"))
        .unwrap();
    let original = before.iter().find(|i| i.uid == changed.uid).unwrap();
    assert_eq!(
        original.title,
        "Mitgliederversammlung: Neuer Sprecherkreis gewählt"
    );
    assert!(changed.updated >= original.updated);
}

#[tokio::test]
async fn shared_guids_stay_two_items_over_many_polls() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sources = vec![support::source(
        "pro-schiene",
        server.url("pro-schiene", "/blog/rss.xml"),
        "feed",
    )];
    let app = app(support::config(dir.path(), &sources, ""));
    for _ in 0..2 {
        pipeline::refresh_all(&app, true, |_| {}).await;
        server.reset_hits();
        app.store
            .with(|c| Ok(c.execute("UPDATE sources SET etag = NULL, last_modified = NULL", [])?))
            .unwrap();
    }
    let items = app.store.source_items("pro-schiene", 100).unwrap();
    let titles: Vec<&str> = items.iter().map(|i| i.title.as_str()).collect();
    assert!(
        titles.contains(&"Unterschriften-Endspurt beim Bahnhofsfest"),
        "{titles:?}"
    );
    assert!(
        titles.contains(&"Fahrgastzählung in Kleinmühlen: Unsere Ergebnisse"),
        "{titles:?}"
    );
    assert_eq!(items.len(), 10);
}

#[tokio::test]
async fn permanent_redirects_move_the_source_and_temporary_ones_do_not() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sources = vec![
        support::source("moved", server.url("neuwerda", "/old-feed"), "feed"),
        support::source("visiting", server.url("pro-schiene", "/temp"), "feed"),
    ];
    server.set(
        "neuwerda",
        "/old-feed",
        Override::Redirect {
            status: 301,
            location: server.url("neuwerda", "/aktuelles/rss.php"),
        },
    );
    server.set(
        "pro-schiene",
        "/temp",
        Override::Redirect {
            status: 302,
            location: server.url("pro-schiene", "/blog/rss.xml"),
        },
    );
    let app = app(support::config(dir.path(), &sources, ""));
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    assert!(
        reports
            .iter()
            .all(|r| matches!(r.outcome, PollOutcome::Fetched { .. })),
        "{reports:?}"
    );
    let moved = app.store.source_state("moved").unwrap().unwrap();
    assert_eq!(
        moved.poll_url(),
        server.url("neuwerda", "/aktuelles/rss.php")
    );
    let visiting = app.store.source_state("visiting").unwrap().unwrap();
    assert_eq!(visiting.poll_url(), server.url("pro-schiene", "/temp"));
    // The next poll goes straight to the new address.
    pipeline::refresh_all(&app, true, |_| {}).await;
    assert_eq!(server.hits("neuwerda", "/old-feed").other, 1);
}

#[tokio::test]
async fn redirect_loops_end_with_an_error() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    server.set(
        "loop",
        "/a",
        Override::Redirect {
            status: 302,
            location: server.url("loop", "/b"),
        },
    );
    server.set(
        "loop",
        "/b",
        Override::Redirect {
            status: 302,
            location: server.url("loop", "/a"),
        },
    );
    let app = app(support::config(
        dir.path(),
        &[support::source("loop", server.url("loop", "/a"), "feed")],
        "",
    ));
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    match &reports[0].outcome {
        PollOutcome::Failed { error, .. } => {
            assert!(error.contains("more than 5 redirects"), "{error}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        server.hits("loop", "/a").other + server.hits("loop", "/b").other,
        6
    );
}

#[tokio::test]
async fn private_addresses_are_refused_unless_allowed() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut text = support::config_text(
        dir.path(),
        &[
            support::source(
                "literal",
                server.url("neuwerda", "/aktuelles/rss.php"),
                "feed",
            ),
            support::source(
                "by-name",
                server
                    .url("neuwerda", "/aktuelles/rss.php")
                    .replace("127.0.0.1", "localhost"),
                "feed",
            ),
        ],
        "",
    );
    text = text.replace("allow_networks = [\"127.0.0.0/8\"]", "allow_networks = []");
    let path = dir.path().join("strict.toml");
    std::fs::write(&path, text).unwrap();
    let app = app(Config::load(&path).unwrap());
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    for r in &reports {
        match &r.outcome {
            PollOutcome::Failed { error, .. } => {
                assert!(
                    error.contains("refused to connect") && error.contains("loopback"),
                    "{}: {error}",
                    r.source_id
                )
            }
            other => panic!("{}: {other:?}", r.source_id),
        }
    }
    assert_eq!(
        server.hits("neuwerda", "/aktuelles/rss.php").ok,
        0,
        "no request may reach the server"
    );
    // A redirect into a refused range is refused as well (checked on every hop).
    let state = app.store.source_state("literal").unwrap().unwrap();
    assert!(state.last_error.unwrap().contains("allow_networks"));
}

#[tokio::test]
async fn retry_after_is_honoured_and_failures_back_off() {
    let server = PartnerServer::start().await;
    // Its own origin: a Retry-After holds back every request to the host that sent it.
    let other_host = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    server.set(
        "busy",
        "/feed",
        Override::Status {
            status: 429,
            headers: vec![("Retry-After".into(), "120".into())],
            body: b"slow down".to_vec(),
        },
    );
    other_host.set(
        "down",
        "/feed",
        Override::Status {
            status: 503,
            headers: vec![],
            body: vec![],
        },
    );
    let sources = vec![
        support::source("busy", server.url("busy", "/feed"), "feed"),
        support::source("down", other_host.url("down", "/feed"), "feed"),
    ];
    let app = app(support::config(dir.path(), &sources, ""));
    let first = pipeline::refresh_all(&app, true, |_| {}).await;
    assert!(matches!(
        first[0].outcome,
        PollOutcome::Failed {
            status: Some(429),
            ..
        }
    ));
    let busy = app.store.source_state("busy").unwrap().unwrap();
    let wait = busy.history.not_before.unwrap() - chrono::Utc::now();
    assert!(
        wait > chrono::Duration::seconds(100) && wait <= chrono::Duration::seconds(120),
        "{wait}"
    );
    // Asked again: no request reaches the partner before the time it gave.
    let second = pipeline::refresh_all(&app, true, |_| {}).await;
    assert!(
        matches!(second[0].outcome, PollOutcome::Deferred { .. }),
        "{:?}",
        second[0]
    );
    assert_eq!(server.hits("busy", "/feed").other, 1);
    // The scheduler's next poll for the failing source grows with each failure.
    let config = app.config();
    let down_cfg = config.source("down").unwrap();
    let mut delays = Vec::new();
    for _ in 0..3 {
        let s = app.store.source_state("down").unwrap().unwrap();
        let last = s.history.last_attempt.unwrap();
        let next = revierfeed::schedule::next_poll(
            "down",
            &down_cfg.schedule,
            &s.history,
            config.fetch.jitter,
            config.fetch.max_backoff,
            last,
        );
        delays.push((next - last).num_seconds());
        pipeline::refresh_source(&app, down_cfg, true).await;
    }
    // Two failures so far (two poll_all rounds): two intervals, then four, then eight.
    assert_eq!(delays, vec![1800, 3600, 7200]);
    let s = app.store.source_state("down").unwrap().unwrap();
    assert_eq!(s.history.consecutive_failures, 5);
    assert!(s.last_error.unwrap().contains("HTTP 503"));
    // Recovery on the next success resets the backoff.
    other_host.set(
        "down",
        "/feed",
        Override::Body {
            content_type: "application/rss+xml".into(),
            body: std::fs::read(support::fixtures().join("pro-schiene/pages/blog/rss.xml"))
                .unwrap(),
        },
    );
    pipeline::refresh_source(&app, down_cfg, true).await;
    let s = app.store.source_state("down").unwrap().unwrap();
    assert_eq!((s.history.consecutive_failures, s.last_error), (0, None));
}

#[tokio::test]
async fn bodies_beyond_the_limit_are_not_read() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sources = vec![support::source(
        "revierbote",
        server.url("revierbote", "/feed/"),
        "feed",
    )];
    // The revierbote feed is 57 KiB (compressed less); 8 KiB wire and 16 KiB decoded limits.
    let app = app(support::config(
        dir.path(),
        &sources,
        "max_body = \"8 KiB\"\nmax_decompressed = \"16 KiB\"",
    ));
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    match &reports[0].outcome {
        PollOutcome::Failed { error, .. } => {
            assert!(error.contains("larger than the limit"), "{error}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(app.store.item_count().unwrap(), 0);
}

#[tokio::test]
async fn retention_removes_only_old_items_that_left_the_feed() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sources = vec![support::source(
        "pro-schiene",
        server.url("pro-schiene", "/blog/rss.xml"),
        "feed",
    )];
    // Age limit: everything published before 25 Aug 2026 is old, whenever this test runs.
    let cutoff = chrono::DateTime::parse_from_rfc3339("2026-08-25T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let keep_days = (chrono::Utc::now() - cutoff).num_days();
    let text = support::config_text(dir.path(), &sources, "").replace(
        "[storage]\n",
        &format!("[storage]\nkeep_items_per_source = 4\nkeep_days = {keep_days}\n"),
    );
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    let app = app(Config::load(&path).unwrap());
    pipeline::refresh_all(&app, true, |_| {}).await;
    // Everything is still in the partner's feed: nothing expires, however old or many.
    assert_eq!(
        app.store.source_items("pro-schiene", 100).unwrap().len(),
        10
    );

    // The partner's feed now holds only its two newest items.
    let raw = std::fs::read_to_string(support::fixtures().join("pro-schiene/pages/blog/rss.xml"))
        .unwrap()
        .replace("{{BASE}}", &format!("{}/pro-schiene", server.base));
    let cut = raw.match_indices("<item>").nth(2).unwrap().0;
    let short = format!("{}</channel></rss>", &raw[..cut]);
    server.set(
        "pro-schiene",
        "/blog/rss.xml",
        Override::Body {
            content_type: "application/rss+xml".into(),
            body: short.into_bytes(),
        },
    );
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    match &reports[0].outcome {
        PollOutcome::Fetched { report, .. } => {
            assert_eq!(report.expired, 7, "{}", reports[0].summary())
        }
        other => panic!("{other:?}"),
    }
    // Kept: the two still in the feed, and of the rest only what is both among
    // the newest four and younger than the cutoff (12 Sep; 20 Aug is too old).
    let kept: Vec<String> = app
        .store
        .source_items("pro-schiene", 100)
        .unwrap()
        .into_iter()
        .map(|i| i.title)
        .collect();
    assert_eq!(
        kept,
        vec![
            "Nach der Petition: Wie es mit dem Haltepunkt Kleinmühlen weitergeht",
            "Übergabe in Potsdam: 6.412 Unterschriften für den Haltepunkt Kleinmühlen",
            "Unterschriften-Endspurt beim Bahnhofsfest",
        ]
    );
    // Expired stories leave with their items; the file stays consistent.
    assert_eq!(app.store.stories(100).unwrap().len(), 3);
    assert_eq!(app.store.integrity_check().unwrap(), Ok(()));
}
