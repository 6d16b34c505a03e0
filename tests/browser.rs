//! The HTML pages in a real browser: headless Chromium (Debian's package,
//! installed when missing, after `apt-get update`) loads `/` and `/status` from a running daemon
//! (story matching on, as shipped), the expected items and the failing
//! source are in the rendered DOM, neither page scrolls sideways in a
//! phone-sized viewport, and phone-sized screenshots are taken (left in
//! target/ for a human look). Every Chromium run has a time limit.
//! A second test walks the news site like a reader (to a topic, a partner and
//! the older news) with puppeteer-core and checks every page with axe-core
//! (npm packages installed into target/ by the test, from tests/browser/).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use revierfeed::app::App;
use revierfeed::config::Config;
use revierfeed::pipeline;
use revierfeed::serve::{self, ClientLimits};
use tokio_util::sync::CancellationToken;

use crate::support::daemon::{InProcessDaemon, get_text};
use crate::support::{self, PartnerServer, tools};

/// How long one Chromium run may take before the test gives up on it.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(60);

/// The phone-sized viewport (CSS pixels) pages are laid out and shot in.
const PHONE: (u32, u32) = (412, 915);

/// Runs headless Chromium on `url` with extra arguments; returns stdout.
/// Killed, and the test failed, if it runs longer than [`CHROMIUM_TIMEOUT`].
fn browse(url: &str, profile: &Path, extra: &[String]) -> String {
    let mut child = Command::new(tools::chromium())
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
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium runs");
    // Read both pipes while waiting, so a chatty Chromium cannot block on a full pipe.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = pipe.read_to_end(&mut out);
            String::from_utf8_lossy(&out).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > CHROMIUM_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish {url} within {CHROMIUM_TIMEOUT:?}:\n{}",
                stderr.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    assert!(status.success(), "chromium failed on {url}: {stderr}");
    stdout
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
            format!("--window-size={},{}", PHONE.0, PHONE.1),
        ],
    );
    path
}

/// A page that lays out the page named after its `#` in a phone-sized frame
/// and writes what it measured into `data-layout` on its body, for
/// `--dump-dom` to read. The served pages carry no script and forbid framing
/// (`frame-ancestors 'none'`), so the probe fetches the page's markup —
/// cross-origin, hence Chromium without web security, only ever on this
/// test's loopback pages — and lays it out in a frame of its own.
const PROBE: &str = r#"<!doctype html><html><body>
<iframe id="f" style="width:WIDTHpx;height:HEIGHTpx;border:0"></iframe>
<script>
const f = document.getElementById('f');
f.addEventListener('load', () => {
  try {
    const doc = f.contentDocument, root = doc.documentElement, win = f.contentWindow;
    const wide = [];
    for (const el of doc.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && (r.right > root.clientWidth + 1 || r.left < -1) && wide.length < 5)
        wide.push(el.tagName + (el.id ? '#' + el.id : '') + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
    }
    document.body.setAttribute('data-layout', JSON.stringify({
      scroll_width: root.scrollWidth,
      client_width: root.clientWidth,
      font_px: parseFloat(win.getComputedStyle(doc.body).fontSize),
      articles: doc.querySelectorAll('article').length,
      rows: doc.querySelectorAll('tr').length,
      outside: wide,
    }));
  } catch (e) { document.body.setAttribute('data-layout', JSON.stringify({error: String(e)})); }
});
const page = location.hash.slice(1);
fetch(page).then(r => r.text()).then(html => {
  f.srcdoc = html.replace(/<head>/i, '<head><base href="' + page + '">');
}).catch(e => document.body.setAttribute('data-layout', JSON.stringify({error: String(e)})));
</script></body></html>"#;

#[derive(Debug, serde::Deserialize)]
struct Layout {
    scroll_width: u32,
    client_width: u32,
    font_px: f64,
    articles: usize,
    /// Table rows (the status page's sources).
    rows: usize,
    /// Elements reaching past the viewport's edges (the first five).
    outside: Vec<String>,
}

/// Serves [`PROBE`] on loopback; returns its URL.
async fn probe_server() -> String {
    let page = PROBE
        .replace("WIDTH", &PHONE.0.to_string())
        .replace("HEIGHT", &PHONE.1.to_string());
    let app = axum::Router::new().route(
        "/probe",
        axum::routing::get(move || {
            let page = page.clone();
            async move { axum::response::Html(page) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/probe", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// `page` laid out in a phone-sized viewport, as measured by [`PROBE`].
fn phone_layout(probe: &str, page: &str, profile: &Path) -> Layout {
    let dom = browse(
        &format!("{probe}#{page}"),
        profile,
        &[
            "--dump-dom".into(),
            "--disable-web-security".into(),
            "--disable-site-isolation-trials".into(),
            "--disable-features=IsolateOrigins,site-per-process".into(),
            "--virtual-time-budget=10000".into(),
        ],
    );
    let attr = dom
        .split("data-layout=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("the probe measured nothing for {page}:\n{dom}"));
    let json = html_escape::decode_html_entities(attr);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        v["error"].is_null(),
        "the probe failed on {page}: {}",
        v["error"]
    );
    serde_json::from_value(v).unwrap()
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
    while !get_text(&format!("{base}/status.json"))
        .await
        .contains("HTTP 404")
    {
        assert!(Instant::now() < deadline, "the daemon did not poll");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    while get_text(&format!("{base}/"))
        .await
        .matches("<article>")
        .count()
        < 50
    {
        assert!(Instant::now() < deadline, "the news page did not fill");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let profile = tempfile::tempdir().unwrap();
    let (page_url, status_url) = (format!("{base}/"), format!("{base}/status"));
    let probe = probe_server().await;
    let (news, status, shots, layouts) = tokio::task::spawn_blocking({
        let p = profile.path().to_path_buf();
        move || {
            let news = browse(&page_url, &p, &["--dump-dom".into()]);
            let status = browse(&status_url, &p, &["--dump-dom".into()]);
            let shots = (
                screenshot(&page_url, &p, "index-phone.png"),
                screenshot(&status_url, &p, "status-phone.png"),
            );
            let layouts = (
                phone_layout(&probe, &page_url, &p),
                phone_layout(&probe, &status_url, &p),
            );
            (news, status, shots, layouts)
        }
    })
    .await
    .unwrap();

    // The rendered news page: newest first, with dates, sources and teasers, and every feed linked.
    // Wenzelsee (16 Nov) is the newest item, the Folge 40 podcast (13 Nov) an older one of another source.
    let newest = news
        .find("Wenzelsee erreicht Zielwasserstand")
        .expect("newest item on the page");
    let older = news
        .find("Folge 40: Was bleibt vom Tagebau?")
        .expect("an older item of another source");
    assert!(newest < older, "newest first");
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
    // On a phone: nothing reaches past the screen's edges (no sideways
    // scrolling), the text is readable, and the news page shows its items.
    for (page, layout) in [("/", &layouts.0), ("/status", &layouts.1)] {
        assert_eq!(
            layout.client_width, PHONE.0,
            "{page}: laid out in a {}px viewport",
            PHONE.0
        );
        assert!(
            layout.scroll_width <= layout.client_width && layout.outside.is_empty(),
            "{page} scrolls sideways on a phone: {layout:?}"
        );
        assert!(
            layout.font_px >= 14.0,
            "{page}: text too small on a phone: {layout:?}"
        );
    }
    // The measured documents are the pages: the news page's items, a row per source.
    assert!(layouts.0.articles >= 50, "{:?}", layouts.0);
    assert!(
        layouts.1.rows > support::FEED_SITES.len(),
        "{:?}",
        layouts.1
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
                .arg(tools::chromium())
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
