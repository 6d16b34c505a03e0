//! The fault matrix (issue 5): hostile partners that hang, drip, stream
//! forever, send bombs, loop, lie about their encoding, flood us with items
//! or script, or point us at private addresses. For each: the poll ends with
//! a plain error on the source's status and in the log, the earlier items
//! stay, the merged feed keeps being served and the other sources keep
//! polling. Also a locked or full database. Cases already covered in
//! polling.rs and broken_partners.rs (redirect loop, Retry-After in seconds,
//! 503 backoff, body limit, refused loopback, truncated/empty/HTML bodies,
//! 500) are not repeated here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use revierfeed::app::App;
use revierfeed::config::Config;
use revierfeed::pipeline::{self, PollOutcome};
use serde_json::Value;

use crate::support::daemon::{InProcessDaemon, get_text, wait_for};
use crate::support::hostile::{Fault, HostileServer, gzip_bomb, rss, small_feed};
use crate::support::{self, logs};

fn app(config: Config) -> Arc<App> {
    Arc::new(App::new(config).unwrap())
}

/// One source's row of /status.json, through the router.
async fn status_row(app: &Arc<App>, id: &str) -> Value {
    app.states_changed().await.unwrap();
    let body = support::body_bytes(support::get(&app.router(), "/status.json", &[]).await).await;
    status_row_in(&body, id)
}

fn status_row_in(status_json: &[u8], id: &str) -> Value {
    let status: Value = serde_json::from_slice(status_json).unwrap();
    status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("{id} not on /status.json"))
        .clone()
}

fn failed(report: &revierfeed::pipeline::PollReport) -> &str {
    match &report.outcome {
        PollOutcome::Failed { error, .. } => error,
        other => panic!("{}: expected a failure, got {other:?}", report.source_id),
    }
}

fn items_of(app: &App, id: &str) -> Vec<revierfeed::store::ItemView> {
    app.store.source_items(id, 100_000).unwrap()
}

/// Asserts the plain error is on the source's status, in the log, and its earlier items stayed.
async fn assert_named(app: &Arc<App>, id: &str, message: &str, items_before: i64) {
    let row = status_row(app, id).await;
    assert_eq!(row["ok"], false, "{id}: {row}");
    let error = row["last_error"].as_str().unwrap_or_default();
    assert!(error.contains(message), "{id}: status says `{error}`");
    assert_eq!(row["items"], items_before, "{id}: earlier items stay");
    assert!(
        !logs::lines_with(&[id, message]).is_empty(),
        "{id}: the log does not say `{message}`"
    );
}

/// The sources credited by each merged entry (more than one) of a served JSON Feed, sorted.
fn merged_credits(json_feed: &str) -> Vec<Vec<String>> {
    let feed: Value = serde_json::from_str(json_feed).unwrap_or_default();
    feed["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    let mut ids: Vec<String> = i["_revierfeed"]["sources"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|s| s["id"].as_str().map(str::to_string))
                        .collect();
                    ids.sort();
                    ids
                })
                .filter(|ids| ids.len() > 1)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_gzip_bomb_is_a_real_gzip() {
    let bomb = gzip_bomb(8 << 20);
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bomb[..]), &mut out).unwrap();
    assert_eq!(out.len(), 8 << 20);
    assert!(out.iter().all(|b| *b == 0));
    let big = gzip_bomb(1 << 30);
    assert!(big.len() < 2 << 20, "1 GiB from {} bytes", big.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_keeps_serving_and_polling_while_partners_misbehave() {
    logs::capture();
    let dir = tempfile::tempdir().unwrap();
    // A partner without Cache-Control, so its one-second schedule is all that counts.
    let healthy = HostileServer::start().await;
    healthy.set("/feed", Fault::feed(small_feed("d-healthy", 3)));
    // Each misbehaving partner on its own origin, as in real life.
    let faults: Vec<(&str, Fault, &str)> = vec![
        ("d-hang", Fault::Hang, "no complete answer within 2s"),
        (
            "d-drip",
            Fault::Drip {
                body: Bytes::from(small_feed("d-drip", 3)),
                every: Duration::from_secs(1),
            },
            "no complete answer within 2s",
        ),
        ("d-endless", Fault::Endless, "body larger than the limit"),
        (
            "d-bomb",
            Fault::Body {
                content_type: "application/rss+xml".into(),
                headers: vec![("Content-Encoding".into(), "gzip".into())],
                body: Bytes::from(gzip_bomb(1 << 30)),
            },
            "decompressed body larger than the limit",
        ),
        ("d-502", Fault::status(502, &[]), "HTTP 502"),
    ];
    // A partner that reports d-healthy's first news too (the same article
    // link): with story matching on, as shipped, it joins that story, and the
    // merged entry must keep crediting both while the others misbehave.
    let twin = HostileServer::start().await;
    twin.set(
        "/feed",
        Fault::feed(rss(&[(
            "d-healthy-1".into(),
            "d-healthy Meldung 1, auch hier".into(),
            "<p>Dieselbe Nachricht beim Partner.</p>".into(),
        )])),
    );
    let mut servers = Vec::new();
    let mut sources = vec![
        support::source("d-healthy", healthy.url("/feed"), "feed"),
        support::source("d-twin", twin.url("/feed"), "feed"),
    ];
    for (id, _, _) in &faults {
        let s = HostileServer::start().await;
        s.set("/feed", Fault::feed(small_feed(id, 3)));
        sources.push(support::source(id, s.url("/feed"), "feed"));
        servers.push(s);
    }
    let config = support::config_with(
        dir.path(),
        &sources,
        &[
            ("schedule", "\"1s\""),
            ("timeout", "\"2s\""),
            ("max_backoff", "\"2s\""),
            ("max_body", "\"2 MiB\""),
            ("max_decompressed", "\"4 MiB\""),
        ],
    );
    let app = app(config);
    let daemon = InProcessDaemon::start(app.clone()).await;
    let base = daemon.base.clone();
    let entries = |t: &str| t.matches("\"id\": \"urn:uuid:").count();
    let all = 3 + 3 * faults.len();
    let both = vec!["d-healthy".to_string(), "d-twin".to_string()];
    wait_for(&format!("{base}/feed.json"), |t| {
        entries(t) == all && merged_credits(t).contains(&both)
    })
    .await;

    let polls = || healthy.hits("/feed");
    let before = polls();
    let window = Instant::now();
    for ((_, fault, _), server) in faults.iter().zip(&servers) {
        server.set("/feed", fault.clone());
    }
    let status = wait_for(&format!("{base}/status.json"), |t| {
        faults.iter().all(|(id, _, message)| {
            let row = status_row_in(t.as_bytes(), id);
            row["last_error"]
                .as_str()
                .is_some_and(|e| e.contains(message))
        })
    })
    .await;
    for (id, _, message) in &faults {
        let row = status_row_in(status.as_bytes(), id);
        assert_eq!(row["ok"], false, "{id}");
        assert_eq!(row["items"], 3, "{id}: earlier items stay");
        assert!(
            !logs::lines_with(&[id, message]).is_empty(),
            "{id}: the log does not say `{message}`"
        );
    }

    // The healthy partner kept its one-second schedule while the others hung and dripped.
    if let Some(rest) = Duration::from_secs(3).checked_sub(window.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    let during = polls() - before;
    let seconds = window.elapsed().as_secs();
    assert!(
        during + 1 >= seconds as usize,
        "the healthy source was polled {during} times in {:?}",
        window.elapsed()
    );
    let feed = get_text(&format!("{base}/feed.json")).await;
    assert_eq!(
        entries(&feed),
        all,
        "the merged feed keeps every earlier item"
    );
    assert!(
        merged_credits(&feed).contains(&both),
        "the story both partners reported still credits both: {:?}",
        merged_credits(&feed)
    );

    // Recovery on the next success.
    servers[4].set("/feed", Fault::feed(small_feed("d-502", 4)));
    wait_for(&format!("{base}/status.json"), |t| {
        let row = status_row_in(t.as_bytes(), "d-502");
        row["ok"] == true && row["items"] == 4
    })
    .await;

    daemon.stop().await;
}

#[tokio::test]
async fn server_errors_back_off_to_a_cap_and_recover() {
    logs::capture();
    let server = HostileServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ids = ["b-500", "b-502", "b-503"];
    let sources: Vec<_> = ids
        .iter()
        .map(|id| support::source(id, server.url(&format!("/{id}")), "feed"))
        .collect();
    let app = app(support::config_with(
        dir.path(),
        &sources,
        &[("schedule", "\"1m\""), ("max_backoff", "\"4m\"")],
    ));
    for id in ids {
        server.set(&format!("/{id}"), Fault::feed(small_feed(id, 2)));
    }
    pipeline::refresh_all(&app, true, |_| {}).await;
    for (id, code) in ids.iter().zip([500, 502, 503]) {
        server.set(&format!("/{id}"), Fault::status(code, &[]));
    }
    let config = app.config();
    for id in ids {
        let source = config.source(id).unwrap();
        let mut waits = Vec::new();
        for _ in 0..4 {
            let report = pipeline::refresh_source(&app, source, true).await;
            assert!(failed(&report).starts_with("HTTP 50"), "{report:?}");
            let s = app.store.source_state(id).unwrap().unwrap();
            let last = s.history.last_attempt.unwrap();
            let next = revierfeed::schedule::next_poll(
                id,
                &source.schedule,
                &s.history,
                config.fetch.jitter,
                config.fetch.max_backoff,
                last,
            );
            waits.push((next - last).num_seconds());
        }
        assert_eq!(
            waits,
            vec![60, 120, 240, 240],
            "{id}: doubling up to the cap"
        );
    }
    assert_named(&app, "b-502", "HTTP 502", 2).await;
    // The next success resets the backoff and brings the new item.
    server.set("/b-502", Fault::feed(small_feed("b-502", 3)));
    pipeline::refresh_source(&app, config.source("b-502").unwrap(), true).await;
    let s = app.store.source_state("b-502").unwrap().unwrap();
    assert_eq!(
        (s.history.consecutive_failures, s.last_error, s.item_count),
        (0, None, 3)
    );
}

#[tokio::test]
async fn retry_after_as_an_http_date_holds_back_every_source_on_that_host() {
    logs::capture();
    let server = HostileServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sources = vec![
        support::source("ra-busy", server.url("/busy"), "feed"),
        support::source("ra-sibling", server.url("/sibling"), "feed"),
    ];
    let app = app(support::config(dir.path(), &sources, ""));
    // HTTP dates have whole seconds: two seconds ahead is at least one second of waiting.
    let until = std::time::SystemTime::now() + Duration::from_secs(2);
    let date = httpdate::fmt_http_date(until);
    server.set("/busy", Fault::status(503, &[("Retry-After", &date)]));
    server.set("/sibling", Fault::feed(small_feed("ra-sibling", 2)));
    let config = app.config();
    let (busy, sibling) = (
        config.source("ra-busy").unwrap(),
        config.source("ra-sibling").unwrap(),
    );
    let first = pipeline::refresh_source(&app, busy, true).await;
    assert!(failed(&first).contains("HTTP 503 (partner asks to wait until"));
    let state = app.store.source_state("ra-busy").unwrap().unwrap();
    let asked: chrono::DateTime<chrono::Utc> = httpdate::parse_http_date(&date).unwrap().into();
    assert_eq!(state.history.not_before, Some(asked));
    let next = revierfeed::schedule::next_poll(
        "ra-busy",
        &busy.schedule,
        &state.history,
        config.fetch.jitter,
        config.fetch.max_backoff,
        chrono::Utc::now(),
    );
    assert!(next >= asked, "the scheduler waits for the partner's date");

    // Until then no request reaches that host: not for this source, not for another one on it.
    let again = pipeline::refresh_source(&app, busy, true).await;
    assert!(
        matches!(again.outcome, PollOutcome::Deferred { .. }),
        "{again:?}"
    );
    let other = pipeline::refresh_source(&app, sibling, true).await;
    assert!(
        failed(&other).contains("asked (Retry-After) that no request reach it before"),
        "{other:?}"
    );
    assert_eq!((server.hits("/busy"), server.hits("/sibling")), (1, 0));
    assert_named(&app, "ra-sibling", "no request reach it before", 0).await;

    // Once the date has passed both are polled again.
    tokio::time::sleep(
        until
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default()
            + Duration::from_millis(100),
    )
    .await;
    server.set("/busy", Fault::feed(small_feed("ra-busy", 2)));
    let config = app.config();
    for id in ["ra-busy", "ra-sibling"] {
        let r = pipeline::refresh_source(&app, config.source(id).unwrap(), true).await;
        assert!(matches!(r.outcome, PollOutcome::Fetched { .. }), "{r:?}");
    }
    assert_eq!((server.hits("/busy"), server.hits("/sibling")), (2, 1));
}

#[tokio::test]
async fn redirects_and_names_leading_to_refused_addresses_are_refused_before_connecting() {
    logs::capture();
    // Allowed: only 127.0.0.1. A trap listens on 127.0.0.2 (also loopback on Linux).
    let partner = HostileServer::start_on("127.0.0.1").await;
    let trap = HostileServer::start_on("127.0.0.2").await;
    trap.set("/feed", Fault::feed(small_feed("trap", 1)));
    partner.set("/ok", Fault::feed(small_feed("rd-literal", 2)));
    let dir = tempfile::tempdir().unwrap();
    let sources = vec![
        support::source("rd-literal", partner.url("/ok"), "feed"),
        support::source("rd-metadata", partner.url("/meta"), "feed"),
    ];
    let app = app(support::config_with(
        dir.path(),
        &sources,
        &[("allow_networks", "[\"127.0.0.1/32\"]")],
    ));
    pipeline::refresh_all(&app, true, |_| {}).await;
    partner.set(
        "/ok",
        Fault::Redirect {
            status: 302,
            location: trap.url("/feed"),
        },
    );
    partner.set(
        "/meta",
        Fault::Redirect {
            status: 301,
            location: "http://169.254.169.254/latest/meta-data/".into(),
        },
    );
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    let literal = failed(&reports[0]);
    assert!(
        literal.contains("refused to connect to 127.0.0.2") && literal.contains("loopback"),
        "{literal}"
    );
    let metadata = failed(&reports[1]);
    assert!(
        metadata.contains("169.254.169.254") && metadata.contains("cloud metadata"),
        "{metadata}"
    );
    assert_named(&app, "rd-literal", "refused to connect to 127.0.0.2", 2).await;
    assert_eq!(
        trap.total_hits(),
        0,
        "nothing may reach the refused address"
    );
    // The 301 to the metadata address did not move the source.
    let s = app.store.source_state("rd-metadata").unwrap().unwrap();
    assert_eq!(s.poll_url(), partner.url("/meta"));

    // By name: only 127.0.0.2 allowed; `localhost` resolves to 127.0.0.1 (and ::1),
    // so a redirect there is refused after resolving, before connecting.
    let partner2 = HostileServer::start_on("127.0.0.2").await;
    let trap2 = HostileServer::start_on("127.0.0.1").await;
    trap2.set("/feed", Fault::feed(small_feed("trap", 1)));
    partner2.set(
        "/by-name",
        Fault::Redirect {
            status: 302,
            location: format!("http://localhost:{}/feed", trap2.port),
        },
    );
    let dir2 = tempfile::tempdir().unwrap();
    let app2 = self::app(support::config_with(
        dir2.path(),
        &[support::source("rd-name", partner2.url("/by-name"), "feed")],
        &[("allow_networks", "[\"127.0.0.2/32\"]")],
    ));
    let reports = pipeline::refresh_all(&app2, true, |_| {}).await;
    let by_name = failed(&reports[0]);
    assert!(
        by_name.contains("refused to connect") && by_name.contains("(localhost): loopback"),
        "{by_name}"
    );
    assert_eq!(partner2.hits("/by-name"), 1);
    assert_eq!(
        trap2.total_hits(),
        0,
        "nothing may reach the refused address"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_stop_at_the_limit() {
    logs::capture();
    let server = HostileServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ids = ["ob-huge", "ob-endless", "ob-bomb"];
    let sources: Vec<_> = ids
        .iter()
        .map(|id| support::source(id, server.url(&format!("/{id}")), "feed"))
        .collect();
    // The shipped limits: 10 MiB on the wire, 50 MiB decompressed.
    let app = app(support::config_with(
        dir.path(),
        &sources,
        &[("timeout", "\"5s\"")],
    ));
    for id in ids {
        server.set(&format!("/{id}"), Fault::feed(small_feed(id, 2)));
    }
    pipeline::refresh_all(&app, true, |_| {}).await;
    let config = app.config();

    server.set("/ob-huge", Fault::Huge { len: 64 << 20 });
    let r = pipeline::refresh_source(&app, config.source("ob-huge").unwrap(), true).await;
    assert!(failed(&r).contains("response body larger than the limit of 10485760 bytes"));
    assert_named(
        &app,
        "ob-huge",
        "larger than the limit of 10485760 bytes",
        2,
    )
    .await;

    let sent_before = server.streamed_bytes();
    server.set("/ob-endless", Fault::Endless);
    let r = pipeline::refresh_source(&app, config.source("ob-endless").unwrap(), true).await;
    assert!(
        failed(&r).contains("response body larger than the limit"),
        "{r:?}"
    );
    assert!(r.elapsed < Duration::from_secs(4), "took {:?}", r.elapsed);
    // We hung up: the endless body stops being sent.
    let deadline = Instant::now() + Duration::from_secs(3);
    while server.open_streams() > 0 {
        assert!(
            Instant::now() < deadline,
            "the endless body is still being sent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent = server.streamed_bytes() - sent_before;
    assert!(
        sent < 64 << 20,
        "{sent} bytes were sent for a 10 MiB limit (plus socket buffers)"
    );

    server.set(
        "/ob-bomb",
        Fault::Body {
            content_type: "application/rss+xml".into(),
            headers: vec![("Content-Encoding".into(), "gzip".into())],
            body: Bytes::from(gzip_bomb(1 << 30)),
        },
    );
    let r = pipeline::refresh_source(&app, config.source("ob-bomb").unwrap(), true).await;
    assert!(
        failed(&r).contains("decompressed body larger than the limit of 52428800 bytes"),
        "{r:?}"
    );
    assert!(r.elapsed < Duration::from_secs(4), "took {:?}", r.elapsed);
    assert_named(
        &app,
        "ob-bomb",
        "decompressed body larger than the limit",
        2,
    )
    .await;
}

#[tokio::test]
async fn entity_bombs_and_external_entities_expand_nothing() {
    logs::capture();
    let server = HostileServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut lols = String::from("<!ENTITY lol0 \"lol\">\n");
    for i in 1..=9 {
        let prev = format!("&lol{};", i - 1).repeat(10);
        lols.push_str(&format!("<!ENTITY lol{i} \"{prev}\">\n"));
    }
    let feed = format!(
        r#"<?xml version="1.0"?>
<!DOCTYPE rss [
{lols}<!ENTITY xxe SYSTEM "file:///etc/passwd">
<!ENTITY net SYSTEM "{net}">
<!ENTITY % remote SYSTEM "{dtd}">
%remote;
]>
<rss version="2.0"><channel><title>Bombe &lol9;</title><link>https://partner.example/</link>
<item><guid>xe-1</guid><title>Lacher &lol9;</title><link>https://partner.example/1</link><description>&lol9; &xxe; &net;</description></item>
<item><guid>xe-2</guid><title>Datei &xxe; Netz &net;</title><link>https://partner.example/2</link><description>Text</description></item>
</channel></rss>"#,
        net = server.url("/entity"),
        dtd = server.url("/evil.dtd"),
    );
    server.set("/feed", Fault::feed(feed));
    let app = app(support::config(
        dir.path(),
        &[support::source("xe-bomb", server.url("/feed"), "feed")],
        "",
    ));
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    assert!(
        matches!(&reports[0].outcome, PollOutcome::Fetched { report, .. } if report.new == 2),
        "{:?}",
        reports[0]
    );
    assert!(reports[0].elapsed < Duration::from_secs(2));
    assert_eq!(
        server.hits("/entity") + server.hits("/evil.dtd"),
        0,
        "no entity was fetched"
    );
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let first_line = passwd.lines().next().unwrap_or("root:x:0:0");
    for item in items_of(&app, "xe-bomb") {
        let all = format!(
            "{} {} {:?} {:?}",
            item.title, item.text, item.summary_html, item.content_html
        );
        assert!(!all.contains("lollol"), "an entity expanded: {all}");
        assert!(
            !all.contains(first_line) && !all.contains("root:"),
            "a file leaked: {all}"
        );
        assert!(all.len() < 1000, "{} bytes", all.len());
    }
    app.render().await.unwrap();
    let atom = support::body_bytes(support::get(&app.router(), "/feed.atom", &[]).await).await;
    assert!(atom.len() < 20_000, "{} bytes served", atom.len());
}

#[tokio::test]
async fn unreadable_documents_record_a_parse_error_and_invent_no_items() {
    logs::capture();
    let server = HostileServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    // JSON is not recovered: two complete new items come before the break and
    // none of them may be stored. XML recovers entry by entry (see
    // `sloppy_documents_keep_what_is_readable`), so an XML document fails
    // only when no entry is complete.
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "ur-json-truncated",
            br#"{"version":"https://jsonfeed.org/version/1.1","title":"T","items":[{"id":"NEW-1","title":"Neu 1"},{"id":"NEW-2","title":"Neu 2"},{"id":"NEW-3","title":"Abge"#.to_vec(),
            "application/feed+json",
            "feed could not be parsed",
        ),
        (
            "ur-xml-no-complete-entry",
            b"<rss version=\"2.0\"><channel><title>T</title><item><guid>NEW-1</guid><title>Neu 1</title><description>Abgesch".to_vec(),
            "application/rss+xml",
            "feed could not be parsed",
        ),
    ];
    let sources: Vec<_> = cases
        .iter()
        .map(|(id, ..)| support::source(id, server.url(&format!("/{id}")), "feed"))
        .collect();
    let app = app(support::config(dir.path(), &sources, ""));
    for (id, ..) in &cases {
        server.set(&format!("/{id}"), Fault::feed(small_feed(id, 3)));
    }
    pipeline::refresh_all(&app, true, |_| {}).await;
    for (id, body, content_type, _) in &cases {
        server.set(
            &format!("/{id}"),
            Fault::Body {
                content_type: content_type.to_string(),
                headers: vec![],
                body: Bytes::from(body.clone()),
            },
        );
    }
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    for (id, _, _, message) in &cases {
        let r = reports.iter().find(|r| r.source_id == *id).unwrap();
        assert!(failed(r).contains(message), "{id}: {}", failed(r));
        assert_named(&app, id, message, 3).await;
        let titles: Vec<String> = items_of(&app, id).into_iter().map(|i| i.title).collect();
        assert!(
            titles.iter().all(|t| !t.starts_with("Neu")),
            "{id}: items of a broken document were stored: {titles:?}"
        );
    }
}

/// Issue 12 changed these cases from whole-document errors to recovery:
/// bytes that are not UTF-8 under a UTF-8 claim are read as windows-1252,
/// and a document cut off mid-entry keeps its complete entries; only the
/// cut-off entry is lost.
#[tokio::test]
async fn sloppy_documents_keep_what_is_readable() {
    logs::capture();
    let server = HostileServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let head = "<rss version=\"2.0\"><channel><title>T</title>\
        <item><guid>NEW-1</guid><title>Neu 1</title></item>\
        <item><guid>NEW-2</guid><title>Neu 2</title></item>";
    let cases: Vec<(&str, Vec<u8>, &str, &[&str])> = vec![
        (
            "ur-utf8-declared",
            [
                b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>".as_slice(),
                head.as_bytes(),
                b"<item><guid>NEW-3</guid><title>Gr\xfc\xdfe</title></item></channel></rss>",
            ]
            .concat(),
            "application/rss+xml; charset=utf-8",
            &["Neu 1", "Neu 2", "Grüße"],
        ),
        (
            "ur-utf8-undeclared",
            [
                head.as_bytes(),
                b"<item><guid>NEW-3</guid><title>\xff\xfe</title></item></channel></rss>",
            ]
            .concat(),
            "application/rss+xml",
            &["Neu 1", "Neu 2"],
        ),
        (
            "ur-truncated",
            format!("{head}<item><guid>NEW-3</guid><title>Abgesch").into_bytes(),
            "application/rss+xml",
            &["Neu 1", "Neu 2"],
        ),
    ];
    let sources: Vec<_> = cases
        .iter()
        .map(|(id, ..)| support::source(id, server.url(&format!("/{id}")), "feed"))
        .collect();
    let app = app(support::config(dir.path(), &sources, ""));
    for (id, body, content_type, _) in &cases {
        server.set(
            &format!("/{id}"),
            Fault::Body {
                content_type: content_type.to_string(),
                headers: vec![],
                body: Bytes::from(body.clone()),
            },
        );
    }
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    for (id, _, _, wanted) in &cases {
        let r = reports.iter().find(|r| r.source_id == *id).unwrap();
        assert!(
            matches!(r.outcome, PollOutcome::Fetched { .. }),
            "{id}: {}",
            r.summary()
        );
        let titles: Vec<String> = items_of(&app, id).into_iter().map(|i| i.title).collect();
        for title in *wanted {
            assert!(
                titles.iter().any(|t| t == title),
                "{id}: {title} missing from {titles:?}"
            );
        }
        assert!(
            !titles.iter().any(|t| t.starts_with("Abgesch")),
            "{id}: the cut-off entry was stored: {titles:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_feeds_and_fields_are_capped() {
    logs::capture();
    let server = HostileServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut flood = String::from("<rss version=\"2.0\"><channel><title>Flut</title>");
    for i in 0..50_000 {
        flood.push_str(&format!(
            "<item><guid>f{i}</guid><title>M {i}</title></item>"
        ));
    }
    flood.push_str("</channel></rss>");
    server.set("/flood", Fault::feed(flood));
    let mb = |c: &str| c.repeat((1 << 20) / c.len());
    let giant = format!(
        "<rss version=\"2.0\"><channel><title>{ct}</title>\
         <item><guid>{g}</guid><title>{t}</title><link>https://partner.example/{l}</link><author>{a}</author><category>{c}</category><description>{d}</description></item>\
         <item><guid>klein</guid><title>{t}</title><description>kurz</description></item>\
         </channel></rss>",
        ct = "Kanal ".repeat(10_000),
        t = mb("Titel "),
        g = mb("g"),
        l = mb("l"),
        a = mb("a"),
        c = mb("c"),
        d = mb("&lt;p&gt;Absatz&lt;/p&gt;"),
    );
    server.set("/giant", Fault::feed(giant));
    let app = app(support::config(
        dir.path(),
        &[
            support::source("cap-flood", server.url("/flood"), "feed"),
            support::source("cap-giant", server.url("/giant"), "feed"),
        ],
        "",
    ));
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    match &reports[0].outcome {
        PollOutcome::Fetched { report, skipped } => {
            assert_eq!(
                (report.new, *skipped),
                (500, 49_500),
                "{}",
                reports[0].summary()
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(items_of(&app, "cap-flood").len(), 500);
    assert!(
        !logs::lines_with(&["cap-flood", "more items than fetch.max_items"]).is_empty(),
        "the cap is logged"
    );

    assert!(
        matches!(&reports[1].outcome, PollOutcome::Fetched { report, .. } if report.new == 2),
        "{:?}",
        reports[1]
    );
    for item in items_of(&app, "cap-giant") {
        assert!(
            item.title.chars().count() <= 300,
            "title of {} chars",
            item.title.len()
        );
        assert!(item.summary_html.as_deref().unwrap_or("").len() <= 17 * 1024);
        assert!(item.text.chars().count() <= 2000);
        assert!(
            item.link.is_none(),
            "a megabyte link is dropped, not stored"
        );
        assert!(item.authors.iter().all(|a| a.chars().count() <= 120));
        assert!(item.categories.iter().all(|c| c.chars().count() <= 120));
    }
    let state = app.store.source_state("cap-giant").unwrap().unwrap();
    assert!(state.feed_title.unwrap().chars().count() <= 200);
    app.render().await.unwrap();
    let json =
        support::body_bytes(support::get(&app.router(), "/sources/cap-giant.json", &[]).await)
            .await;
    assert!(
        json.len() < 200_000,
        "the served feed is {} bytes",
        json.len()
    );
}

/// Everything a reader gets: all formats, merged and per source, and the page.
async fn served_texts(app: &Arc<App>, source: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for path in [
        "/feed.atom".to_string(),
        "/feed.rss".into(),
        "/feed.json".into(),
        "/".into(),
        format!("/sources/{source}.atom"),
        format!("/sources/{source}.rss"),
        format!("/sources/{source}.json"),
    ] {
        let body = support::body_bytes(support::get(&app.router(), &path, &[]).await).await;
        let raw = String::from_utf8(body.clone()).unwrap();
        out.push((format!("{path} (raw)"), raw));
        // Decode what a reader decodes: XML escapes in feeds, strings in JSON.
        if path.ends_with(".atom") || path.ends_with(".rss") {
            let feed = feed_rs::parser::Builder::new()
                .sanitize_content(false)
                .build()
                .parse(&body[..])
                .unwrap();
            for e in feed.entries {
                let mut parts: Vec<String> = vec![e.title.map(|t| t.content).unwrap_or_default()];
                parts.extend(e.summary.map(|t| t.content));
                parts.extend(e.content.and_then(|c| c.body));
                parts.extend(e.links.into_iter().map(|l| l.href));
                parts.extend(e.authors.into_iter().filter_map(|a| a.name));
                parts.extend(e.categories.into_iter().map(|c| c.term));
                out.push((format!("{path} entry {}", e.id), parts.join("\n")));
            }
        } else if path.ends_with(".json") {
            fn strings(v: &Value, out: &mut Vec<String>) {
                match v {
                    Value::String(s) => out.push(s.clone()),
                    Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
                    Value::Object(o) => o.values().for_each(|v| strings(v, out)),
                    _ => {}
                }
            }
            let mut all = Vec::new();
            strings(&serde_json::from_slice(&body).unwrap(), &mut all);
            out.push((format!("{path} strings"), all.join("\n")));
        }
    }
    out
}

#[tokio::test]
async fn active_content_never_reaches_a_reader() {
    let server = HostileServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let payload = r#"<p onclick="alert(4)">Hallo</p><a href="javascript:alert(5)">x</a><a href="JaVaScRiPt:alert(6)">c</a><a href="&#106;avascript:alert(7)">d</a><a href=" javascript:alert(8)">e</a><a href="data:text/html;base64,PHNjcmlwdD5hbGVydCg5KTwvc2NyaXB0Pg==">y</a><img src="data:image/svg+xml,&lt;svg onload=alert(10)&gt;"><img src="/bild.jpg" onerror="alert(11)"><div style="background:url(javascript:alert(12));width:expression(alert(13))">z</div><svg><script>alert(14)</script></svg><iframe src="javascript:alert(15)"></iframe><form action="javascript:alert(16)"><button formaction="javascript:alert(17)">b</button></form><object data="x.swf"></object><embed src="x.swf"><style>body{background:url(javascript:alert(18))}</style><math><mi xlink:href="javascript:alert(19)">m</mi></math><base href="javascript:alert(20)//"><meta http-equiv="refresh" content="0;url=javascript:alert(21)"><link rel="stylesheet" href="javascript:alert(22)"><script>alert(23)</script><noscript><img src=x onerror=alert(24)></noscript>"#;
    let cdata = |s: &str| format!("<![CDATA[{s}]]>");
    let feed = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>Partner</title><link>javascript:alert(1)</link>
<item><guid>xss-1</guid><title>{title}</title><link>javascript:alert(3)</link>
<description>{payload}</description><content:encoded>{payload}</content:encoded>
<dc:creator>{author}</dc:creator><category>{category}</category></item>
<item><guid>xss-2</guid><title>Ohne Link</title><description>{payload}</description></item>
<item><guid>xss-3</guid><title>Mit Link</title><link>https://partner.example/ok?a=1</link><description>Nur Text &lt;b onmouseover="alert(25)"&gt;fett&lt;/b&gt;</description></item>
</channel></rss>"#,
        title = cdata(r#"<script>alert(2)</script>Titel <img src=x onerror=alert(26)>"#),
        payload = cdata(payload),
        author = cdata(r#"<b onmouseover="alert(27)">Autorin</b>"#),
        category = cdata(r#"<script>alert(28)</script>Energie"#),
    );
    server.set("/feed", Fault::feed(feed));
    let app = app(support::config(
        dir.path(),
        &[support::source("xss", server.url("/feed"), "feed")],
        "",
    ));
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    assert!(matches!(&reports[0].outcome, PollOutcome::Fetched { report, .. } if report.new == 3));
    app.render().await.unwrap();
    let texts = served_texts(&app, "xss").await;
    assert!(texts.len() > 10);
    for (what, text) in &texts {
        let lower = text.to_ascii_lowercase();
        for bad in [
            "alert(",
            "javascript:",
            "data:text",
            "data:image",
            "onclick",
            "onerror",
            "onload",
            "onmouseover",
            "expression(",
            "<script",
            "<iframe",
            "<object",
            "<embed",
            "<form",
            "<base",
            "<svg",
            "<math",
            "http-equiv",
        ] {
            assert!(!lower.contains(bad), "{what} contains {bad}:\n{text}");
        }
        if !what.starts_with("/ ") {
            // The news page has its own stylesheet; feeds carry no CSS at all.
            assert!(
                !lower.contains("style="),
                "{what} carries inline CSS:\n{text}"
            );
        }
    }
    // What is harmless survives: text, the safe link, the image with its absolute URL.
    let all: String = texts.iter().map(|(_, t)| t.as_str()).collect();
    assert!(all.contains("Hallo") && all.contains("<b>fett</b>"));
    assert!(all.contains("https://partner.example/ok?a=1"));
    assert!(all.contains(&server.url("/bild.jpg")) || all.contains("partner.example/bild.jpg"));
    assert!(all.contains("Titel") && all.contains("Autorin") && all.contains("Energie"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_or_full_database_fails_polls_plainly_and_the_feeds_stay() {
    logs::capture();
    let server = HostileServer::start().await;
    // A feed that gains an item (with a few KiB of text) at every request.
    server.set(
        "/feed",
        Fault::changing(|n| {
            let items: Vec<(String, String, String)> = (1..=n)
                .map(|i| {
                    (
                        format!("db-{i}"),
                        format!("Meldung {i}"),
                        format!("<p>{}</p>", "Strukturwandel ".repeat(300)),
                    )
                })
                .collect();
            rss(&items)
        }),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = support::config_with(
        dir.path(),
        &[
            support::source("db-fault", server.url("/feed"), "feed"),
            // Found only while the lock is held: its discovery cannot be stored either.
            support::source("db-late", server.url("/late"), "feed"),
        ],
        &[("schedule", "\"1s\""), ("max_backoff", "\"1s\"")],
    );
    let db_path = config.database_path();
    let store = revierfeed::store::Store::open(&db_path).unwrap();
    // Operators get five seconds of patience with a lock; the test needs less.
    store
        .with(|c| Ok(c.busy_timeout(Duration::from_millis(200))?))
        .unwrap();
    let app = Arc::new(App::with_store(config, store).unwrap());
    let daemon = InProcessDaemon::start(app.clone()).await;
    let base = daemon.base.clone();
    let entries = |t: &str| t.matches("\"id\": \"urn:uuid:").count();
    wait_for(&format!("{base}/feed.json"), |t| entries(t) >= 2).await;

    // Another process takes the write lock and keeps it.
    let other = rusqlite::Connection::open(&db_path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    server.set("/late", Fault::feed(small_feed("db-late", 2)));
    let hits_at_lock = server.hits("/feed");
    let late_at_lock = server.hits("/late");
    let locked_at = Instant::now();
    let locked = wait_for(&format!("{base}/status.json"), |t| {
        ["db-fault", "db-late"].iter().all(|id| {
            status_row_in(t.as_bytes(), id)["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("database is locked"))
        })
    })
    .await;
    let row = status_row_in(locked.as_bytes(), "db-fault");
    assert!(
        row["last_error"]
            .as_str()
            .unwrap()
            .contains("another process holds a lock on the database file"),
        "{row}"
    );
    let served = reqwest::get(format!("{base}/feed.json")).await.unwrap();
    assert_eq!(served.status(), 200);
    let stored_before = app.store.item_count().unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let served = get_text(&format!("{base}/feed.json")).await;
    assert_eq!(
        entries(&served) as i64,
        stored_before,
        "the last good feed is served"
    );
    // One a second (the schedule, and the backoff cap); a loop would make four or five a second.
    for (id, polls_locked) in [
        ("db-fault", server.hits("/feed") - hits_at_lock),
        ("db-late", server.hits("/late") - late_at_lock),
    ] {
        assert!(
            polls_locked as f64 <= locked_at.elapsed().as_secs_f64().ceil() + 1.0,
            "{id}: {polls_locked} polls in {:?} with the database locked: no backoff",
            locked_at.elapsed()
        );
    }
    assert!(!logs::lines_with(&["db-fault", "database is locked"]).is_empty());
    other.execute_batch("ROLLBACK").unwrap();
    drop(other);
    wait_for(&format!("{base}/status.json"), |t| {
        status_row_in(t.as_bytes(), "db-fault")["ok"] == true
    })
    .await;
    let after_lock = app.store.item_count().unwrap();
    assert!(
        after_lock > stored_before,
        "polls store again once the lock is gone"
    );

    // The disk fills up: the database may not grow any further.
    app.store
        .with(|c| {
            let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            c.pragma_update(None, "max_page_count", pages)?;
            Ok(())
        })
        .unwrap();
    let full = wait_for(&format!("{base}/status.json"), |t| {
        status_row_in(t.as_bytes(), "db-fault")["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("disk is full"))
    })
    .await;
    let stuck = app.store.item_count().unwrap();
    assert!(!logs::lines_with(&["db-fault", "database or disk is full"]).is_empty());
    let served = get_text(&format!("{base}/feed.json")).await;
    assert_eq!(entries(&served) as i64, stuck, "{full}");
    app.store
        .with(|c| Ok(c.pragma_update(None, "max_page_count", 1_073_741_823)?))
        .unwrap();
    wait_for(&format!("{base}/status.json"), |t| {
        status_row_in(t.as_bytes(), "db-fault")["ok"] == true
    })
    .await;
    assert!(app.store.item_count().unwrap() > stuck);
    assert_eq!(app.store.integrity_check().unwrap(), Ok(()));

    daemon.stop().await;
}

#[tokio::test]
async fn an_html_source_with_hanging_article_pages_is_stopped_by_the_poll_deadline() {
    let hostile = HostileServer::start().await;
    let listing = format!(
        "<html><body><main>{}</main></body></html>",
        (1..=6)
            .map(|i| format!("<article><h2><a href=\"/artikel/{i}\">Meldung Nummer {i} aus der Lausitz</a></h2><time datetime=\"2026-03-0{i}\">{i}. März 2026</time><p>Ein Teaser zur Meldung Nummer {i}, lang genug.</p></article>"))
            .collect::<String>()
    );
    hostile.set(
        "/aktuelles/",
        Fault::Body {
            content_type: "text/html; charset=utf-8".into(),
            headers: vec![],
            body: Bytes::from(listing),
        },
    );
    for i in 1..=6 {
        hostile.set(&format!("/artikel/{i}"), Fault::Hang);
    }
    let dir = tempfile::tempdir().unwrap();
    // Each article request would wait its 2 s deadline; the whole poll may take 3 s.
    let config = support::config_with(
        dir.path(),
        &[support::source(
            "langsam",
            hostile.url("/aktuelles/"),
            "html",
        )],
        &[
            ("timeout", "\"2s\""),
            ("poll_deadline", "\"3s\""),
            ("per_host", "1"),
        ],
    );
    let app = Arc::new(App::new(config).unwrap());
    let started = Instant::now();
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    match &reports[0].outcome {
        PollOutcome::Failed { error, .. } => {
            assert!(error.contains("fetch.poll_deadline"), "{error}")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    let state = app.store.source_state("langsam").unwrap().unwrap();
    assert!(state.last_error.unwrap().contains("took longer than 3s"));
}

#[tokio::test]
async fn a_gzip_body_of_several_members_is_read_whole() {
    use std::io::Write;
    let hostile = HostileServer::start().await;
    let feed = small_feed("mehrteilig", 4);
    let (a, b) = feed.split_at(feed.len() / 2);
    let mut body = Vec::new();
    for part in [a, b] {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(part).unwrap();
        body.extend(gz.finish().unwrap());
    }
    hostile.set(
        "/feed.xml",
        Fault::Body {
            content_type: "application/rss+xml".into(),
            headers: vec![("Content-Encoding".into(), "gzip".into())],
            body: Bytes::from(body),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(
        App::new(support::config(
            dir.path(),
            &[support::source("gz", hostile.url("/feed.xml"), "feed")],
            "",
        ))
        .unwrap(),
    );
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    match &reports[0].outcome {
        PollOutcome::Fetched { report, .. } => assert_eq!(report.new, 4),
        other => panic!("{other:?}"),
    }
}

/// The real binary, for tests that signal it (as in tests/crash.rs).
#[cfg(unix)]
fn spawn_daemon(config: &std::path::Path, log: &std::path::Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_revierfeed"))
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("RUST_LOG", "revierfeed=info")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deeply_nested_page_is_refused_while_status_feeds_and_sigterm_stay_responsive() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let hostile = HostileServer::start().await;
    // 200,000 nested elements (2.2 MB) as a listing page, and as the content
    // of feed items (cut to the content cap, still ~23,000 levels).
    hostile.set(
        "/deep",
        Fault::html(crate::support::hostile::deeply_nested_page(200_000)),
    );
    let deep_content = format!("{}Ende", "<div>".repeat(200_000));
    hostile.set(
        "/deep-feed",
        Fault::feed(rss(&[(
            "deep-1".into(),
            "Tief verschachtelt".into(),
            deep_content,
        )])),
    );
    // A healthy partner with a new item at every request.
    let healthy = HostileServer::start().await;
    healthy.set("/feed", Fault::changing(|n| small_feed("nested-ok", n)));
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let poll_deadline = Duration::from_secs(8);
    let text = support::config_text_with(
        dir.path(),
        &[
            support::source("nested-ok", healthy.url("/feed"), "feed"),
            support::source("nested-page", hostile.url("/deep"), "html"),
            support::source("nested-feed", hostile.url("/deep-feed"), "feed"),
        ],
        &[
            ("schedule", "\"1s\""),
            ("max_backoff", "\"1s\""),
            ("poll_deadline", "\"8s\""),
        ],
    )
    .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    let log = dir.path().join("daemon.log");
    let mut child = spawn_daemon(&path, &log);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();

    // Until the page's poll has ended, and a few seconds beyond: /status
    // answers within a second every time, and the healthy partner's new
    // items keep being published.
    let started = Instant::now();
    let mut page_failed_at = None;
    let mut first_request = None;
    let mut healthy_counts = Vec::new();
    while started.elapsed() < Duration::from_secs(25) {
        if first_request.is_none() && hostile.hits("/deep") > 0 {
            first_request = Some(Instant::now());
        }
        let asked = Instant::now();
        let status = match client.get(format!("{base}/status.json")).send().await {
            Ok(r) => r.bytes().await.ok(),
            Err(e) if e.is_connect() && first_request.is_none() => None, // still starting
            Err(e) => panic!("/status.json did not answer within 1 s: {e}"),
        };
        if let Some(status) = status {
            assert!(asked.elapsed() < Duration::from_secs(1));
            let row = status_row_in(&status, "nested-page");
            let error = row["last_error"].as_str().unwrap_or_default();
            if page_failed_at.is_none() && !error.is_empty() {
                assert!(
                    error.contains("nested more than 512 deep"),
                    "status says `{error}`"
                );
                page_failed_at = Some(Instant::now());
            }
            let feed = client.get(format!("{base}/feed.json")).send().await;
            let feed = feed.expect("/feed.json answers within 1 s");
            let text = feed.text().await.unwrap();
            healthy_counts.push(text.matches("nested-ok Meldung").count());
        }
        if page_failed_at.is_some_and(|t| t.elapsed() > Duration::from_secs(4)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let first = first_request.expect("the page was requested");
    let failed = page_failed_at.expect("the page's poll ended with an error on /status");
    assert!(
        failed - first < poll_deadline + Duration::from_secs(5),
        "the poll ended {:?} after the request",
        failed - first
    );
    // The feed whose content nests deeply was stored (as text), not refused.
    let status = client
        .get(format!("{base}/status.json"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let row = status_row_in(&status, "nested-feed");
    assert_eq!(row["ok"], true, "{row}");
    assert_eq!(row["items"], 1, "{row}");
    let last = *healthy_counts.last().unwrap();
    assert!(
        last >= 3 && healthy_counts.iter().filter(|&&c| c == last).count() < healthy_counts.len(),
        "the healthy partner's new items were not published: {healthy_counts:?}"
    );

    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let term = Instant::now();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let took = term.elapsed();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "exit {status}:\n{text}");
    assert!(took < Duration::from_secs(6), "took {took:?}:\n{text}");
}

/// 200 sources on one origin, all polled at once: each waits for its turn
/// (two at a time, `spacing` apart) far longer than `timeout` and
/// `poll_deadline`, and none may fail for it.
async fn many_sources_on_one_origin(spacing: &str, fetch: &[(&str, &str)]) {
    let server = HostileServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = (0..200).map(|i| format!("one-origin-{i:03}")).collect();
    let mut sources = Vec::new();
    for id in &ids {
        let path = format!("/{id}.xml");
        server.set(&path, Fault::feed(small_feed(id, 1)));
        sources.push(support::source(id, server.url(&path), "feed"));
    }
    let mut settings = vec![("host_spacing", spacing)];
    settings.extend_from_slice(fetch);
    let app = app(support::config_with(dir.path(), &sources, &settings));
    let started = Instant::now();
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    let took = started.elapsed();
    let failed: Vec<String> = reports
        .iter()
        .filter(|r| !matches!(r.outcome, PollOutcome::Fetched { .. }))
        .map(|r| r.summary())
        .collect();
    assert!(
        failed.is_empty(),
        "{} failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert_eq!(reports.len(), 200);
    // The politeness was kept: requests were spaced, not sent at once.
    let spacing = humantime::parse_duration(spacing.trim_matches('"')).unwrap();
    assert!(took >= spacing * 99, "200 requests in {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_sources_on_one_origin_all_succeed_though_they_wait_longer_than_any_deadline() {
    // Ten times faster than the defaults, with deadlines a tenth of theirs
    // and shorter than the queue: 10 s of waiting, 2 s to answer.
    many_sources_on_one_origin(
        "\"50ms\"",
        &[("timeout", "\"2s\""), ("poll_deadline", "\"3s\"")],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_sources_on_one_origin_all_succeed_with_the_default_politeness() {
    // per_host 2 and host_spacing 500ms as shipped: about 100 s.
    many_sources_on_one_origin("\"500ms\"", &[]).await;
}

#[tokio::test]
async fn retry_after_holds_survive_a_restart() {
    let server = HostileServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sources = vec![
        support::source("hold-busy", server.url("/busy"), "feed"),
        support::source("hold-sibling", server.url("/sibling"), "feed"),
    ];
    server.set("/busy", Fault::status(429, &[("Retry-After", "3600")]));
    server.set("/sibling", Fault::feed(small_feed("hold-sibling", 2)));
    {
        let app = app(support::config(dir.path(), &sources, ""));
        let busy = app.config().source("hold-busy").unwrap().clone();
        let first = pipeline::refresh_source(&app, &busy, true).await;
        assert!(failed(&first).contains("HTTP 429"), "{first:?}");
    }
    // A new process on the same database: the origin is still held back,
    // for the source that was told and for its sibling on the same host.
    let app = app(support::config(dir.path(), &sources, ""));
    let reports = pipeline::refresh_all(&app, true, |_| {}).await;
    for r in &reports {
        match &r.outcome {
            PollOutcome::Deferred { .. } => assert_eq!(r.source_id, "hold-busy"),
            PollOutcome::Failed { error, .. } => assert!(
                error.contains("no request reach it before"),
                "{}: {error}",
                r.source_id
            ),
            other => panic!("{}: {other:?}", r.source_id),
        }
    }
    assert_eq!((server.hits("/busy"), server.hits("/sibling")), (1, 0));
}
