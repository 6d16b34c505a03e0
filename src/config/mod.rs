//! config.toml: the validated `Config` the rest of the daemon uses, and
//! `Config::load`/`parse` to get one. The file shape an operator writes is in
//! `raw`, the checks that turn it into settings in `validate`, located errors
//! in `error`. Every default is written once, here, next to its setting.

mod access;
mod alerts;
mod error;
mod raw;
mod validate;

pub(crate) use validate::parse_network;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use url::Url;

pub use access::{Auth, Secret, SourceAccess};
pub use alerts::{AlertChannel, AlertSettings, WebhookFormat};
pub use error::{ConfigError, ConfigErrors};

use crate::filter::{self, Rule, Verdict};
use crate::model::{Item, Registration, SourceKind};
use crate::schedule::Schedule;

/// The whole validated configuration. Cheap to clone behind an `Arc`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from; relative paths inside resolve against its directory.
    pub path: PathBuf,
    /// `[feed]`: what the merged feed says about itself.
    pub feed: FeedSettings,
    /// `[server]`: where the feeds are served.
    pub server: ServerSettings,
    /// `[storage]`: the database and how long items stay.
    pub storage: StorageSettings,
    /// `[fetch]`: how partners are polled.
    pub fetch: FetchSettings,
    /// When items of different sources form one story.
    pub stories: crate::story::Rules,
    /// `[site]`: the legal links and footer of the news pages.
    pub site: SiteSettings,
    /// `[log]`: how log lines are written.
    pub log: LogSettings,
    /// `[[source]]`: one per partner, in file order.
    pub sources: Vec<SourceConfig>,
    /// Rules for every source.
    pub rules: Vec<Rule>,
    /// `[[alert]]`: who hears of failing and recovered sources.
    pub alerts: Vec<AlertSettings>,
    /// Things that work but should not be so (a secret written into the
    /// file); `check` prints them, the daemon logs them.
    pub warnings: Vec<ConfigError>,
    /// Where each source stood in `sources` when the file was read, for
    /// [`Config::source`].
    positions: SourcePositions,
}

/// Source id → its place in [`Config::sources`]: looking a source up by id
/// is done per stored item (its rules), per served entry (its name) and per
/// row of `/status`, where a scan of 1,000 sources cost 1.5 % of poll cycle
/// 1 (perf, session 27). A place is only a hint: `sources` is public and
/// may have been changed since (`fetch --once` keeps a few, `probe` adds
/// one), so a lookup checks the id found there and scans when it differs.
#[derive(Debug, Clone, Default)]
struct SourcePositions(std::collections::HashMap<String, usize>);

impl SourcePositions {
    fn of(sources: &[SourceConfig]) -> SourcePositions {
        let mut positions = std::collections::HashMap::with_capacity(sources.len());
        for (at, source) in sources.iter().enumerate() {
            // The first of a repeated id, as a scan finds it.
            positions.entry(source.id.clone()).or_insert(at);
        }
        SourcePositions(positions)
    }
}

/// `[feed]`: title, ids and size of the served feeds.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedSettings {
    pub title: String,
    pub subtitle: Option<String>,
    /// Atom feed id; ids of entries are derived from its authority.
    pub id: String,
    /// Public base URL, always ending in `/`.
    pub public_url: Url,
    pub language: String,
    /// Entries per served feed.
    pub items: usize,
    /// Feed-level author, for entries whose partner names none.
    pub author: String,
    /// WebSub hubs the feeds advertise and that are pinged when a feed changes.
    pub hubs: Vec<Url>,
}

impl FeedSettings {
    /// `language` when the file names none.
    pub const DEFAULT_LANGUAGE: &str = "de";
    /// `items` when the file names none.
    pub const DEFAULT_ITEMS: usize = 50;
    /// `author` when the file names none.
    pub const DEFAULT_AUTHOR: &str = "revierfeed";
}

/// `[site]`: what every news page shows besides the news. A public German
/// website must link its Impressum and Datenschutzerklärung.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SiteSettings {
    /// The Impressum (legal notice), an http(s) URL.
    pub impressum: Option<Url>,
    /// The Datenschutzerklärung (privacy notice), an http(s) URL.
    pub datenschutz: Option<Url>,
    /// A line of plain text at the foot of every page.
    pub footer: Option<String>,
}

impl SiteSettings {
    /// The longest `footer` text, in characters.
    pub const MAX_FOOTER_CHARS: usize = 500;
}

impl FeedSettings {
    /// The feed of a config without `[feed]`, which only `discover` and
    /// `preview` accept: they publish nothing, so no title or address is needed.
    fn unpublished() -> FeedSettings {
        let public_url = Url::parse(&format!("http://{}/", ServerSettings::default().listen))
            .expect("valid URL");
        FeedSettings {
            title: "revierfeed".into(),
            subtitle: None,
            id: public_url.to_string(),
            public_url,
            language: FeedSettings::DEFAULT_LANGUAGE.into(),
            items: FeedSettings::DEFAULT_ITEMS,
            author: FeedSettings::DEFAULT_AUTHOR.into(),
            hubs: Vec::new(),
        }
    }
}

/// `[log]`: the form of log lines (on stderr).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogSettings {
    pub format: LogFormat,
}

/// How a log line is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line, for journald/Loki/Elasticsearch pipelines.
    Json,
}

impl LogFormat {
    /// Every format, by the name the config and `--log-format` use.
    pub const NAMES: [&str; 2] = ["text", "json"];

    pub fn parse(name: &str) -> Option<LogFormat> {
        match name {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// `[server]`: the HTTP listener.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    /// Whether feeds carry `Access-Control-Allow-Origin: *`.
    pub cors: bool,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
            cors: true,
        }
    }
}

/// `[storage]`: the SQLite file and how long items are kept.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageSettings {
    /// As written; `Config::database_path` anchors a relative path.
    pub database: PathBuf,
    /// Items older than this (and no longer in their source's feed) are deleted.
    pub keep_days: Option<u32>,
    /// At most this many items per source are kept (newest first).
    pub keep_items_per_source: Option<usize>,
}

impl Default for StorageSettings {
    fn default() -> Self {
        StorageSettings {
            database: PathBuf::from("revierfeed.db"),
            keep_days: None,
            keep_items_per_source: None,
        }
    }
}

/// `[fetch]`: schedule, limits and politeness of every request to a partner.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchSettings {
    /// Default schedule of sources that name none.
    pub schedule: Schedule,
    pub user_agent: String,
    /// Deadline for one request, redirects and body included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Bytes read from the wire per response, at most.
    pub max_body_bytes: u64,
    /// Bytes after gzip/brotli decompression, at most.
    pub max_decompressed_bytes: u64,
    /// Items taken from one document per poll.
    pub max_items: usize,
    pub max_redirects: usize,
    /// Requests in flight over all partners.
    pub concurrency: usize,
    /// Requests in flight to one origin.
    pub per_host: usize,
    /// How far sources sharing a schedule are spread.
    pub jitter: Duration,
    /// Minimum time between two requests to one origin.
    pub host_spacing: Duration,
    /// Longest wait between retries of a failing source.
    pub max_backoff: Duration,
    /// Upper bound on how long a partner's Cache-Control/TTL may stretch its interval.
    pub max_interval: Duration,
    /// Non-public networks that may be connected to nonetheless.
    pub allow_networks: Vec<IpNet>,
    /// Listing pages read on a new HTML source's first poll (backfill).
    pub backfill_pages: usize,
    /// Article pages fetched per poll of an HTML source, at most.
    pub article_pages: usize,
    /// Deadline for a whole poll (an HTML source makes many requests).
    pub poll_deadline: Duration,
    /// The outbound proxy for every request; `None`: the standard
    /// `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY` variables decide.
    pub proxy: Option<Url>,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            schedule: Schedule::parse("*/15 * * * *").expect("valid default"),
            user_agent: DEFAULT_USER_AGENT.into(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_body_bytes: 10 * 1024 * 1024,
            max_decompressed_bytes: 50 * 1024 * 1024,
            max_items: 500,
            max_redirects: 5,
            concurrency: 16,
            per_host: 2,
            jitter: Duration::from_secs(60),
            host_spacing: Duration::from_millis(500),
            max_backoff: Duration::from_secs(6 * 3600),
            max_interval: Duration::from_secs(24 * 3600),
            allow_networks: Vec::new(),
            backfill_pages: 3,
            article_pages: 30,
            poll_deadline: Duration::from_secs(300),
            proxy: None,
        }
    }
}

const DEFAULT_USER_AGENT: &str = concat!(
    "revierfeed/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/revierfeed/revierfeed)"
);

/// One `[[source]]`: a partner and how to read it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    /// Stable short name; appears in URLs and the database.
    pub id: String,
    /// Display name, credited in entries.
    pub name: String,
    pub url: Url,
    pub kind: SourceKind,
    pub schedule: Schedule,
    pub tags: Vec<String>,
    /// The partner's website, when the operator names it.
    pub homepage: Option<Url>,
    /// `false` keeps the source's items but stops polling it.
    pub enabled: bool,
    /// Operator selectors for HTML listings; `None` means automatic.
    pub selectors: Option<crate::extract::html::Selectors>,
    /// Whether article pages of an HTML source are fetched (else the listing alone).
    pub follow_articles: bool,
    /// Feed sources: teaser items get the text of their article page.
    pub full_text: bool,
    /// The article body on article pages (`content`), for any source kind;
    /// `selectors.content` is the same for HTML sources.
    pub content: Option<crate::extract::html::listing::FieldSelector>,
    /// Elements removed from article bodies (`remove`).
    pub remove: Vec<scraper::Selector>,
    /// Rules for this source only (besides the global ones).
    pub rules: Vec<Rule>,
    /// Headers, authentication and cookies its requests carry.
    pub access: SourceAccess,
}

impl SourceConfig {
    /// A source with every optional key at its default, as if its
    /// `[[source]]` named only id, url, kind and schedule.
    pub(crate) fn new(id: &str, url: Url, kind: SourceKind, schedule: Schedule) -> SourceConfig {
        SourceConfig {
            id: id.to_string(),
            name: id.to_string(),
            url: url.clone(),
            kind,
            schedule,
            tags: Vec::new(),
            homepage: None,
            enabled: true,
            selectors: None,
            follow_articles: true,
            full_text: false,
            content: None,
            remove: Vec::new(),
            rules: Vec::new(),
            access: SourceAccess {
                scope: Some(url.clone()),
                ..SourceAccess::default()
            },
        }
    }

    /// The operator's body selector for this source's article pages, if any.
    pub(crate) fn content_selector(&self) -> Option<&crate::extract::html::listing::FieldSelector> {
        self.selectors
            .as_ref()
            .and_then(|s| s.content.as_ref())
            .or(self.content.as_ref())
    }

    /// What the store keeps of this source.
    pub fn registration(&self) -> Registration<'_> {
        Registration {
            id: &self.id,
            name: &self.name,
            kind: self.kind,
            url: &self.url,
        }
    }
}

impl Config {
    /// What the operator's rules (global, and the source's own) say about
    /// an item of `source_id`, with the source's tags.
    pub fn judge(&self, source_id: &str, item: &Item) -> Verdict {
        match self.source(source_id) {
            Some(s) => filter::judge(item, &s.tags, &self.rules, &s.rules),
            None => filter::judge(item, &[], &self.rules, &[]),
        }
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| error::unreadable(path, &e))?;
        Config::parse(&text, path)
    }

    /// Validates config text; `path` names the file in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
        Config::parse_as(text, path, Purpose::Serve)
    }

    /// Reads and validates a config file for reading partners only
    /// (`discover`, `preview`): `[feed]` may be missing, as nothing is published.
    pub fn load_for_reading(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| error::unreadable(path, &e))?;
        Config::parse_as(&text, path, Purpose::Read)
    }

    /// The built-in defaults, as for an empty file at `path` read for
    /// reading partners: what `discover` and `preview` use without a config file.
    pub fn builtin(path: &Path) -> Config {
        Config::parse_as("", path, Purpose::Read).expect("the defaults are valid")
    }

    fn parse_as(text: &str, path: &Path, purpose: Purpose) -> Result<Config, ConfigErrors> {
        let locator = error::Locator { text, file: path };
        // serde stops at the first unknown key; each one found is reported
        // and blanked out (same length, so every span stays right) and the
        // text read again, so an operator sees every unknown key at once,
        // together with the problems of the rest of the file.
        let mut errors = Vec::new();
        let mut reading = text.to_string();
        let raw: raw::RawConfig = loop {
            match toml::from_str(&reading) {
                Ok(raw) => break raw,
                Err(e) => {
                    errors.push(locator.toml_error(&e));
                    let next = (error::is_unknown_field(&e) && errors.len() < 100)
                        .then(|| error::blank_entry(&reading, e.span().unwrap_or(0..0).start))
                        .flatten();
                    match next {
                        Some(next) if next != reading => reading = next,
                        _ => {
                            errors.sort_by_key(|e| (e.line, e.column));
                            return Err(ConfigErrors(errors));
                        }
                    }
                }
            }
        };
        match validate::config(raw, locator, purpose) {
            Ok(config) if errors.is_empty() => Ok(config),
            Ok(_) => {
                errors.sort_by_key(|e| (e.line, e.column));
                Err(ConfigErrors(errors))
            }
            Err(ConfigErrors(more)) => {
                errors.extend(more);
                // In file order, as an operator fixes them.
                errors.sort_by_key(|e| (e.line, e.column));
                Err(ConfigErrors(errors))
            }
        }
    }

    /// Changes whenever the rules or tags that decide verdicts change.
    pub(crate) fn rules_fingerprint(&self) -> String {
        filter::fingerprint(
            &self.rules,
            self.sources
                .iter()
                .map(|s| (s.id.as_str(), s.tags.as_slice(), s.rules.as_slice())),
        )
    }

    /// The enabled sources as the store registers them.
    pub fn registrations(&self) -> Vec<Registration<'_>> {
        self.sources
            .iter()
            .filter(|s| s.enabled)
            .map(SourceConfig::registration)
            .collect()
    }

    /// The database path with a relative path anchored at the config file's directory.
    pub fn database_path(&self) -> PathBuf {
        let db = &self.storage.database;
        if db.is_absolute() {
            db.clone()
        } else {
            self.path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(|dir| dir.join(db))
                .unwrap_or_else(|| db.clone())
        }
    }

    /// The source with this id, enabled or not.
    pub fn source(&self, id: &str) -> Option<&SourceConfig> {
        let hinted = self
            .positions
            .0
            .get(id)
            .and_then(|&at| self.sources.get(at))
            .filter(|s| s.id == id);
        hinted.or_else(|| self.sources.iter().find(|s| s.id == id))
    }

    /// Every tag the config can give (source tags and rule tags), sorted: one feed each.
    pub(crate) fn tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = self
            .sources
            .iter()
            .filter(|s| s.enabled)
            .flat_map(|s| {
                s.tags
                    .iter()
                    .chain(s.rules.iter().flat_map(|r| r.tags.iter()))
            })
            .chain(self.rules.iter().flat_map(|r| r.tags.iter()))
            .cloned()
            .collect();
        tags.sort();
        tags.dedup();
        tags
    }
}

/// What a config is loaded for: serving needs `[feed]`, reading partners does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Serve,
    Read,
}

/// Whether `id` can name a source: it appears in URLs and the database.
pub(crate) fn valid_source_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

#[cfg(test)]
mod tests;
