//! The daemon end to end: it polls on schedule and serves over a real
//! socket, starts with unreachable partners, and stops cleanly on request
//! and on SIGTERM.

use std::sync::Arc;
use std::time::{Duration, Instant};

use revierfeed::app::App;
use revierfeed::daemon::SHUTDOWN_GRACE;

use crate::support::daemon::{InProcessDaemon, get_text, wait_for};
use crate::support::{self, PartnerServer, logs, strict};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_serves_and_stops_on_request() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut sources = support::feed_sources(&server);
    // An unreachable partner: nothing listens on port 9 of loopback.
    sources.push(support::source(
        "offline",
        "http://127.0.0.1:9/feed.xml".into(),
        "feed",
    ));
    let app = Arc::new(App::new(support::config(dir.path(), &sources, "")).unwrap());
    let daemon = InProcessDaemon::start(app.clone()).await;
    let base = daemon.base.clone();
    let feed = wait_for(&format!("{base}/feed.json"), |t| {
        strict::credited_items(t) == 89
    })
    .await;
    assert!(feed.contains("Wenzelsee erreicht Zielwasserstand"));
    let status = wait_for(&format!("{base}/status.json"), |t| {
        t.contains("\"offline\"") && t.contains("connection failed")
    })
    .await;
    assert!(status.contains("\"ok\": false"));
    assert_eq!(
        reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .status(),
        200
    );

    // Nothing is in flight (the next polls are 15 minutes away): no grace to wait out.
    let took = daemon.stop().await;
    assert!(
        took < SHUTDOWN_GRACE,
        "an idle daemon took {took:?} to stop"
    );
    assert_eq!(app.store.integrity_check().unwrap(), Ok(()));
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_exits_zero_on_sigterm() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let text = support::config_text(dir.path(), &support::feed_sources(&server), "")
        .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_revierfeed"))
        .arg("--config")
        .arg(&path)
        .arg("run")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_for(&format!("{base}/feed.json"), |t| t.contains("Wenzelsee")).await;
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
    // Every poll was done: stopping must not wait out the grace a hanging poll gets.
    assert!(
        started.elapsed() < SHUTDOWN_GRACE,
        "took {:?}",
        started.elapsed()
    );
    let store = revierfeed::store::Store::open(&dir.path().join("test.db")).unwrap();
    assert_eq!(store.integrity_check().unwrap(), Ok(()));
    assert_eq!(store.item_count().unwrap(), 89);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_edits_apply_without_restart_and_bad_ones_are_refused() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let neuwerda = support::source(
        "neuwerda",
        server.url("neuwerda", "/aktuelles/rss.php"),
        "feed",
    );
    let pro = || {
        support::source(
            "pro-schiene",
            server.url("pro-schiene", "/blog/rss.xml"),
            "feed",
        )
    };
    logs::capture();
    let config = support::config(
        dir.path(),
        &[support::source(
            "neuwerda",
            server.url("neuwerda", "/aktuelles/rss.php"),
            "feed",
        )],
        "",
    );
    let path = config.path.clone();
    let app = Arc::new(App::new(config).unwrap());
    let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(4);
    let _watcher = revierfeed::daemon::watch_config(&path, reload_tx).unwrap();
    let daemon = InProcessDaemon::with_reloads(app.clone(), reload_rx).await;
    let base = daemon.base.clone();
    wait_for(&format!("{base}/feed.json"), |t| {
        strict::credited_items(t) == 15
    })
    .await;

    // Add a source: it is polled and served without a restart.
    std::fs::write(
        &path,
        support::config_text(dir.path(), &[neuwerda, pro()], ""),
    )
    .unwrap();
    let two = wait_for(&format!("{base}/feed.json"), |t| {
        strict::credited_items(t) == 25
    })
    .await;

    // A half-edited file is refused, and the log says where; the running
    // config and the feeds stay. Waiting for that report, not for a fixed
    // time, makes this fail if the watcher never fires.
    std::fs::write(&path, "[feed]\ntitle = \"x\"\npublic_url = \n").unwrap();
    let at = format!("{}:3:", path.display());
    let deadline = Instant::now() + Duration::from_secs(10);
    while logs::lines_with(&[&at]).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the broken config was not reported as refused (no log line naming {at})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!logs::lines_with(&["config not reloaded"]).is_empty());
    let feed = get_text(&format!("{base}/feed.json")).await;
    assert_eq!(feed, two, "the feeds stay as they were");
    assert_eq!(app.config().sources.len(), 2);
    // ... and /status says so, not only the log.
    let status = get_text(&format!("{base}/status.json")).await;
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let failed = status["config_reload_failed"]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(failed.contains("config.toml:3"), "{status}");
    let page = get_text(&format!("{base}/status")).await;
    assert!(page.contains("nicht neu geladen"), "{page}");

    // Remove a source: it stops, its items leave the feeds but stay stored.
    std::fs::write(&path, support::config_text(dir.path(), &[pro()], "")).unwrap();
    wait_for(&format!("{base}/feed.json"), |t| {
        strict::credited_items(t) == 10
    })
    .await;
    let status = get_text(&format!("{base}/status.json")).await;
    assert!(!status.contains("\"neuwerda\""), "{status}");
    assert!(!status.contains("config_reload_failed"), "{status}");
    assert_eq!(app.store.item_count().unwrap(), 25);

    daemon.stop().await;
}
