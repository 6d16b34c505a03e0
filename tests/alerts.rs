//! Alerts end to end (issue 16): a source that starts failing sends exactly
//! one alert to every `[[alert]]` channel — a generic JSON webhook, a Matrix
//! room and mail over SMTP, all local receivers — and its recovery exactly
//! one more, while the daemon keeps polling on a one-second schedule.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Response;
use revierfeed::app::App;
use revierfeed::config::Config;
use serde_json::Value;

use crate::support::config_text_with;
use crate::support::daemon::InProcessDaemon;
use crate::support::hostile::small_feed;
use crate::support::receivers::{Recorder, SmtpReceiver};
use crate::support::source;

/// Failed polls before the partner comes back.
const FAILING_POLLS: usize = 4;

#[tokio::test]
async fn a_failing_source_alerts_once_and_its_recovery_once_more() {
    let dir = tempfile::tempdir().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let partner = Recorder::start(move |_| {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        if n <= FAILING_POLLS {
            return Response::builder()
                .status(500)
                .body(Body::from("kaputt <b>"))
                .unwrap();
        }
        Response::builder()
            .status(200)
            .header("content-type", "application/rss+xml")
            .body(Body::from(small_feed("zurueck", 2)))
            .unwrap()
    })
    .await;
    let ok = |_: &_| {
        Response::builder()
            .status(200)
            .body(Body::from("{}"))
            .unwrap()
    };
    let webhook = Recorder::start(ok).await;
    let matrix = Recorder::start(ok).await;
    let smtp = SmtpReceiver::start().await;
    std::fs::write(dir.path().join("matrix.token"), "syt_geheim\n").unwrap();
    let text = config_text_with(
        dir.path(),
        &[source("wackelig", partner.url("/feed.xml"), "feed")],
        &[("schedule", "\"1s\""), ("max_backoff", "\"1s\"")],
    );
    let text = format!(
        "{text}\
         [[alert]]\nwebhook = \"{}\"\nafter_failures = 3\n\n\
         [[alert]]\nwebhook = \"{}\"\nformat = \"matrix\"\ntoken_file = \"matrix.token\"\nafter_failures = 3\n\n\
         [[alert]]\nmail_to = [\"betrieb@example.org\"]\nmail_from = \"revierfeed@example.org\"\nsmtp = \"smtp://{}\"\nafter_failures = 3\n",
        webhook.url("/hook"),
        matrix.url("/_matrix/client/v3/rooms/!raum:example.org/send/m.room.message"),
        smtp.addr,
    );
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &text).unwrap();
    let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let app = Arc::new(App::new(config).unwrap());
    let daemon = InProcessDaemon::start(app.clone()).await;

    let deadline = Instant::now() + Duration::from_secs(30);
    while (webhook.seen().len() < 2 || matrix.seen().len() < 2 || smtp.mails().len() < 2)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // More successful polls follow; none of them may alert again.
    let polls_then = requests.load(Ordering::SeqCst);
    while requests.load(Ordering::SeqCst) < polls_then + 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    daemon.stop().await;
    assert!(
        requests.load(Ordering::SeqCst) >= FAILING_POLLS + 3,
        "too few polls"
    );

    let hooks = webhook.seen();
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    let bodies: Vec<Value> = hooks
        .iter()
        .map(|h| serde_json::from_slice(&h.body).unwrap())
        .collect();
    assert_eq!(bodies[0]["event"], "failing");
    assert_eq!(bodies[0]["source"]["id"], "wackelig");
    assert_eq!(bodies[0]["failures"], 3);
    assert!(
        bodies[0]["error"].as_str().unwrap().contains("500"),
        "{}",
        bodies[0]
    );
    assert_eq!(
        bodies[0]["status_url"],
        "http://127.0.0.1:8080/status#source-wackelig"
    );
    assert_eq!(bodies[1]["event"], "recovered");
    assert_eq!(hooks[0].method, "POST");

    let rooms = matrix.seen();
    assert_eq!(rooms.len(), 2, "{rooms:?}");
    for r in &rooms {
        assert_eq!(r.method, "PUT");
        assert!(
            r.path
                .starts_with("/_matrix/client/v3/rooms/!raum:example.org/send/m.room.message/"),
            "{}",
            r.path
        );
        assert_eq!(r.headers["authorization"], "Bearer syt_geheim");
        let event: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(event["msgtype"], "m.text");
    }
    assert_ne!(
        rooms[0].path, rooms[1].path,
        "each event has its own transaction id"
    );

    let mails = smtp.mails();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(mails[0].to[0].contains("betrieb@example.org"));
    assert!(
        mails[0]
            .data
            .contains("Subject: revierfeed: Quelle wackelig is failing"),
        "{}",
        mails[0].data
    );
    assert!(mails[1].data.contains("has recovered"), "{}", mails[1].data);
}

#[test]
fn alert_tables_are_checked_where_they_stand() {
    let dir = tempfile::tempdir().unwrap();
    let base = config_text_with(dir.path(), &[], &[]);
    let path = dir.path().join("config.toml");
    for (table, key) in [
        ("webhook = \"ftp://x\"", "alert[0].webhook"),
        (
            "webhook = \"https://x.example/\"\nformat = \"teams\"",
            "alert[0].format",
        ),
        (
            "webhook = \"https://x.example/\"\nformat = \"matrix\"",
            "alert[0].token_env",
        ),
        (
            "mail_to = [\"nobody\"]\nmail_from = \"a@b.example\"",
            "alert[0].mail_to",
        ),
        ("mail_to = [\"a@b.example\"]", "alert[0].mail_from"),
        (
            "mail_to = [\"a@b.example\"]\nmail_from = \"a@b.example\"\nsmtp = \"smtps://x:465\"",
            "alert[0].smtp",
        ),
        ("after_failures = 2", "alert[0]"),
        (
            "webhook = \"https://x.example/\"\nafter_failures = 0",
            "alert[0].after_failures",
        ),
    ] {
        let text = format!("{base}[[alert]]\n{table}\n");
        std::fs::write(&path, &text).unwrap();
        let errors = Config::load(&path).expect_err(table);
        assert!(errors.0.iter().any(|e| e.key == key), "{table}: {errors}");
    }
}
