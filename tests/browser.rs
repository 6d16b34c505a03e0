//! The HTML pages in a real browser: headless Chromium (Debian's package,
//! installed by this test when missing, after `apt-get update`) loads `/` and `/status` from a running
//! daemon, the expected items and the failing source are in the rendered DOM,
//! and phone-sized screenshots are taken (left in target/ for a human look).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use revierfeed::app::App;

use crate::support::daemon::InProcessDaemon;
use crate::support::{self, PartnerServer};

/// The Chromium binary, installing Debian's package if this machine has none.
fn chromium() -> PathBuf {
    for candidate in [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ] {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    let installed = support::apt::install("chromium");
    assert!(
        installed && Path::new("/usr/bin/chromium").exists(),
        "the browser tests need Chromium; install Debian's `chromium` package (apt-get install chromium)"
    );
    PathBuf::from("/usr/bin/chromium")
}

/// Runs headless Chromium on `url` with extra arguments; returns stdout.
fn browse(url: &str, profile: &Path, extra: &[String]) -> String {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn screenshot(url: &str, profile: &Path, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    browse(
        url,
        profile,
        &[
            format!("--screenshot={}", path.display()),
            "--window-size=412,915".into(),
        ],
    );
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn news_page_and_status_page_in_headless_chromium() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut sources = support::feed_sources(&server);
    sources.push(support::source(
        "kaputt",
        server.url("kaputt", "/feed.xml"),
        "feed",
    ));
    let app = Arc::new(App::new(support::config(dir.path(), &sources, "")).unwrap());
    let daemon = InProcessDaemon::start(app.clone()).await;
    let base = daemon.base.clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !reqwest::get(format!("{base}/status.json"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("HTTP 404")
    {
        assert!(Instant::now() < deadline, "the daemon did not poll");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    while reqwest::get(format!("{base}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .matches("<article>")
        .count()
        < 50
    {
        assert!(Instant::now() < deadline, "the news page did not fill");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let profile = tempfile::tempdir().unwrap();
    let (page_url, status_url) = (format!("{base}/"), format!("{base}/status"));
    let (news, status, shots) = tokio::task::spawn_blocking({
        let p = profile.path().to_path_buf();
        move || {
            let news = browse(&page_url, &p, &["--dump-dom".into()]);
            let status = browse(&status_url, &p, &["--dump-dom".into()]);
            let shots = (
                screenshot(&page_url, &p, "index-phone.png"),
                screenshot(&status_url, &p, "status-phone.png"),
            );
            (news, status, shots)
        }
    })
    .await
    .unwrap();

    // The rendered news page: newest first, with dates, sources and teasers, and every feed linked.
    let first = news
        .find("Folge 40: Was bleibt vom Tagebau?")
        .expect("newest item on the page");
    let later = news
        .find("Wenzelsee erreicht Zielwasserstand")
        .expect("an item of another source");
    assert!(later < first, "newest first");
    assert!(news.contains("Quelle revierbote") && news.contains("Quelle wendepunkte"));
    assert!(news.contains("16.11.2026"), "dates shown in German format");
    for feed in [
        "/feed.atom",
        "/feed.rss",
        "/feed.json",
        "/sources.opml",
        "/sources/neuwerda.atom",
    ] {
        assert!(
            news.contains(&format!("{base}{feed}"))
                || news.contains(&format!("http://127.0.0.1:8080{feed}")),
            "{feed} not linked"
        );
    }
    assert!(!news.contains("<script"), "the page needs no JavaScript");
    // The status page: every source, and the failing one plainly marked with its error.
    for (site, _) in support::FEED_SITES {
        assert!(
            status.contains(&format!("id=\"source-{site}\"")),
            "{site} missing on /status"
        );
    }
    let failing = status.split("id=\"source-kaputt\"").nth(1).unwrap();
    assert!(
        status.contains("class=\"failing\" id=\"source-kaputt\""),
        "failing row not marked"
    );
    assert!(
        failing.split("</tr>").next().unwrap().contains("HTTP 404"),
        "the error is shown in the row"
    );
    for shot in [&shots.0, &shots.1] {
        let png = std::fs::read(shot).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{} is not a real screenshot",
            shot.display()
        );
    }

    daemon.stop().await;
}
