//! The HTML pages in a real browser: headless Chromium (Debian's package,
//! installed by this test when missing) loads `/` and `/status` from a running
//! daemon, the expected items and the failing source are in the rendered DOM,
//! and phone-sized screenshots are taken (left in target/ for a human look).
//! A second test walks the news site like a reader (to a topic, a partner and
//! the older news) with puppeteer-core and checks every page with axe-core
//! (npm packages installed into target/ by the test, from tests/browser/).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use revierfeed::app::App;
use revierfeed::config::Config;
use revierfeed::pipeline;
use revierfeed::serve::{self, ClientLimits};
use tokio_util::sync::CancellationToken;

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
    // A fresh machine has no package lists: install finds nothing without them.
    let _ = Command::new("apt-get")
        .args(["update"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status();
    let installed = Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "chromium"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status();
    assert!(
        installed.is_ok_and(|s| s.success()) && Path::new("/usr/bin/chromium").exists(),
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
    // Each row has its two pictures; the failing source's last poll is drawn as failed.
    let row = |id: &str| {
        let r = status.split(&format!("id=\"source-{id}\"")).nth(1).unwrap();
        r.split("</tr>").next().unwrap().to_string()
    };
    let ok_row = row("revierbote");
    assert_eq!(ok_row.matches("<svg").count(), 2, "{ok_row}");
    assert!(ok_row.contains("role=\"img\"") && ok_row.contains("Einträge je Woche"));
    assert!(
        row("kaputt").contains("fehlgeschlagen"),
        "{}",
        row("kaputt")
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

/// The Node tools of `walk.mjs`, installed with the machine's npm into
/// target/ (once; again when tests/browser/package.json changes).
fn node_tools() -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-node");
    std::fs::create_dir_all(&dir).unwrap();
    let wanted = std::fs::read(source.join("package.json")).unwrap();
    let installed = std::fs::read(dir.join("package.json")).ok();
    if installed.as_ref() != Some(&wanted) || !dir.join("node_modules/axe-core").is_dir() {
        std::fs::write(dir.join("package.json"), &wanted).unwrap();
        let out = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--loglevel=error",
            ])
            .current_dir(&dir)
            .output()
            .expect("the browser test needs npm (Debian: apt-get install npm)");
        assert!(
            out.status.success(),
            "npm install failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::copy(source.join("walk.mjs"), dir.join("walk.mjs")).unwrap();
    dir
}

/// An impact axe-core counts as serious or worse.
fn serious(impact: &str) -> bool {
    matches!(impact, "serious" | "critical")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_reaches_topics_partners_and_older_news_and_axe_finds_no_serious_violation() {
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
    // Enough stories for two archive documents; topics to follow; the legal links.
    let text = support::config_text(dir.path(), &sources, "").replace(
        "[[source]]\nid = \"pro-schiene\"",
        "[[source]]\nid = \"pro-schiene\"\ntags = [\"bahn\"]",
    ) + "[[rule]]\naction = \"tag\"\nkeywords = [\"Wasserstoff\"]\ntags = [\"wasserstoff\"]\n\
           [site]\nimpressum = \"https://lausitz.example/impressum\"\ndatenschutz = \"https://lausitz.example/datenschutz\"\n\
           footer = \"Ein Angebot der Partner im Lausitzer Revier\"\n";
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &text).unwrap();
    let app = Arc::new(App::new(Config::load(&path).unwrap()).unwrap());
    pipeline::refresh_all(&app, true, |_| {}).await;
    app.render().await.unwrap();
    assert!(app.store.stories(1000).unwrap().len() > 100);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let served = tokio::spawn(serve::serve(
        listener,
        app.router(),
        ClientLimits::default(),
        stop.clone(),
    ));

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let walk = tokio::task::spawn_blocking({
        let (base, shots) = (base.clone(), shots.clone());
        move || {
            let tools = node_tools();
            Command::new("node")
                .arg(tools.join("walk.mjs"))
                .arg(&base)
                .arg(chromium())
                .arg(&shots)
                .current_dir(&tools)
                .output()
                .expect("node runs")
        }
    })
    .await
    .unwrap();
    stop.cancel();
    served.await.unwrap();
    assert!(
        walk.status.success(),
        "the browser walk failed: {}",
        String::from_utf8_lossy(&walk.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&walk.stdout).unwrap();
    let pages = report["pages"].as_array().unwrap();
    let page = |name: &str| {
        pages
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} not reached: {report}"))
    };
    let url = |name: &str| page(name)["url"].as_str().unwrap().to_string();
    assert!(
        url("tag").starts_with(&format!("{base}/tags/")),
        "{}",
        url("tag")
    );
    assert!(
        url("source").starts_with(&format!("{base}/sources/")),
        "{}",
        url("source")
    );
    assert_eq!(url("older"), format!("{base}/archive/2.html"));
    assert_eq!(url("oldest"), format!("{base}/archive/1.html"));
    assert!(page("tag")["h1"].as_str().unwrap().starts_with("Thema #"));
    for name in ["index", "tag", "source", "older", "oldest"] {
        assert!(
            page(name)["articles"].as_u64().unwrap() > 0,
            "{name} shows no news"
        );
    }
    assert_eq!(page("older")["articles"], 50);
    // /status draws two pictures per source (items per week, recent polls).
    assert_eq!(
        page("status")["charts"].as_u64().unwrap(),
        2 * sources.len() as u64,
        "pictures not rendered on /status: {}",
        page("status")
    );

    let mut serious_violations = Vec::new();
    for p in pages {
        assert_eq!(p["scripts"], 0, "{} has scripts of its own", p["url"]);
        assert_eq!(
            p["horizontalOverflow"], false,
            "{} is wider than a phone",
            p["url"]
        );
        let light = p["schemes"]["light"]["background"].as_str().unwrap();
        let dark = p["schemes"]["dark"]["background"].as_str().unwrap();
        assert_ne!(light, dark, "{}: no dark scheme", p["url"]);
        for (scheme, result) in p["schemes"].as_object().unwrap() {
            for v in result["violations"].as_array().unwrap() {
                if serious(v["impact"].as_str().unwrap_or("")) {
                    serious_violations.push(format!("{} ({scheme}): {v}", p["url"]));
                }
            }
        }
    }
    assert!(
        serious_violations.is_empty(),
        "axe-core found serious violations:\n{}",
        serious_violations.join("\n")
    );
    for name in ["index", "tag", "source", "older", "status"] {
        for scheme in ["light", "dark"] {
            let png = std::fs::read(shots.join(format!("{name}-{scheme}-phone.png"))).unwrap();
            assert!(
                png.starts_with(b"\x89PNG") && png.len() > 10_000,
                "{name} {scheme}"
            );
        }
    }
}
