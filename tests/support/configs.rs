//! Configs for tests: loopback allowed, no jitter or spacing, a database in
//! the test's own directory, and the sources a test names; and an app
//! that has polled the feed sites once.

use std::path::Path;
use std::sync::Arc;

use revierfeed::app::App;
use revierfeed::config::Config;
use revierfeed::pipeline;

use super::partners::PartnerServer;

/// A source line for a test config.
pub struct TestSource {
    pub id: String,
    pub url: String,
    pub kind: &'static str,
}

pub fn source(id: &str, url: String, kind: &'static str) -> TestSource {
    TestSource {
        id: id.to_string(),
        url,
        kind,
    }
}

/// Config text for tests: loopback allowed, no jitter or spacing, a database in
/// `dir`, everything else as shipped — story matching included, so every test
/// that polls partners whose items report the same news sees them merged.
/// Count what a merged feed credits ([`credited_items`]), not its entries:
/// which items share an entry can depend on the order of concurrent polls.
pub fn config_text(dir: &Path, sources: &[TestSource], extra_fetch: &str) -> String {
    config_text_base(dir, sources, extra_fetch, "")
}

/// Config text with story matching turned off, for tests about one entry per item.
pub fn config_text_unmatched(dir: &Path, sources: &[TestSource], extra_fetch: &str) -> String {
    config_text_base(dir, sources, extra_fetch, "[stories]\nenabled = false\n")
}

/// Config text with story matching at its defaults (the same as [`config_text`];
/// kept so tests about stories say so).
pub fn config_text_matching(dir: &Path, sources: &[TestSource]) -> String {
    config_text_base(dir, sources, "", "")
}

fn config_text_base(
    dir: &Path,
    sources: &[TestSource],
    extra_fetch: &str,
    stories: &str,
) -> String {
    let mut text = format!(
        "[feed]\ntitle = \"Test Lausitz\"\nid = \"urn:uuid:00000000-0000-4000-8000-000000000001\"\npublic_url = \"http://127.0.0.1:8080/\"\nitems = 200\n\
         [server]\nlisten = \"127.0.0.1:0\"\n\
         [storage]\ndatabase = \"{}\"\n\
         [fetch]\nschedule = \"15m\"\njitter = \"0s\"\nhost_spacing = \"0s\"\nallow_networks = [\"127.0.0.0/8\"]\ntimeout = \"10s\"\n{extra_fetch}\n{stories}",
        dir.join("test.db").display()
    );
    for s in sources {
        text.push_str(&format!(
            "[[source]]\nid = \"{}\"\nname = \"Quelle {}\"\nurl = \"{}\"\nkind = \"{}\"\n\n",
            s.id, s.id, s.url, s.kind
        ));
    }
    text
}

pub fn config(dir: &Path, sources: &[TestSource], extra_fetch: &str) -> Config {
    load_config(dir, config_text(dir, sources, extra_fetch))
}

/// A test config with story matching turned off.
pub fn config_unmatched(dir: &Path, sources: &[TestSource], extra_fetch: &str) -> Config {
    load_config(dir, config_text_unmatched(dir, sources, extra_fetch))
}

/// A test config with story matching on, at its defaults.
pub fn config_matching(dir: &Path, sources: &[TestSource]) -> Config {
    load_config(dir, config_text_matching(dir, sources))
}

fn load_config(dir: &Path, text: String) -> Config {
    let path = dir.join("config.toml");
    std::fs::write(&path, &text).unwrap();
    Config::load(&path).unwrap_or_else(|e| panic!("test config invalid: {e}\n{text}"))
}

/// Config text with `[fetch]` keys set (replacing the defaults of `config_text`).
pub fn config_text_with(dir: &Path, sources: &[TestSource], fetch: &[(&str, &str)]) -> String {
    let text = config_text(dir, sources, "");
    let (head, rest) = text
        .split_once("[fetch]\n")
        .expect("config_text has [fetch]");
    let mut lines: Vec<String> = rest.lines().map(str::to_string).collect();
    for (key, value) in fetch {
        let line = format!("{key} = {value}");
        let prefix = format!("{key} = ");
        let section_end = lines
            .iter()
            .position(|l| l.starts_with('['))
            .unwrap_or(lines.len());
        match lines[..section_end]
            .iter()
            .position(|l| l.starts_with(&prefix))
        {
            Some(i) => lines[i] = line,
            None => lines.insert(0, line),
        }
    }
    format!("{head}[fetch]\n{}\n", lines.join("\n"))
}

/// A loaded config with `[fetch]` keys set; values are TOML (`"\"2s\""`, `["..."]`).
pub fn config_with(dir: &Path, sources: &[TestSource], fetch: &[(&str, &str)]) -> Config {
    let path = dir.join("config.toml");
    let text = config_text_with(dir, sources, fetch);
    std::fs::write(&path, &text).unwrap();
    Config::load(&path).unwrap_or_else(|e| panic!("test config invalid: {e}\n{text}"))
}

/// The six partner sites that publish feeds, with the feed URL path each is polled at.
pub const FEED_SITES: &[(&str, &str)] = &[
    ("revierbote", "/feed/"),
    ("strukturagentur", "/aktuelles/atom.xml"),
    ("neuwerda", "/aktuelles/rss.php"),
    ("th-transfer", "/transfer/aktuelles.rdf"),
    ("wendepunkte", "/feed.json"),
    ("pro-schiene", "/blog/rss.xml"),
];

pub fn feed_sources(server: &PartnerServer) -> Vec<TestSource> {
    FEED_SITES
        .iter()
        .map(|(s, p)| source(s, server.url(s, p), "feed"))
        .collect()
}

/// An app over every feed site of `PartnerServer`, polled once and rendered.
/// The server and the directory live as long as the test holds them.
pub async fn polled_feed_app() -> (Arc<App>, PartnerServer, tempfile::TempDir) {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(App::new(config(dir.path(), &feed_sources(&server), "")).unwrap());
    pipeline::refresh_all(&app, true, |_| {}).await;
    app.render().await.unwrap();
    (app, server, dir)
}
