//! config.toml: the raw serde types an operator writes, and the validated
//! `Config` the rest of the daemon uses. Every error names file, line, column
//! and key, so an operator can fix a half-edited file without guessing.

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::filter::{self, Action, Field, Rule};
use crate::model::{Registration, SourceKind};
use crate::schedule::Schedule;

/// One problem in a config file, located precisely enough to jump to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Dotted key path such as `source[2].schedule`, or the table for syntax errors.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.key,
            self.message
        )
    }
}

/// All problems found in one file; a config is accepted only when this is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

// ---------------------------------------------------------------------------
// Raw file shape. Field names here are the operator-facing contract.
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    feed: RawFeed,
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    storage: RawStorage,
    #[serde(default)]
    fetch: RawFetch,
    #[serde(default)]
    stories: RawStories,
    #[serde(default, rename = "source")]
    sources: Vec<RawSource>,
    #[serde(default, rename = "rule")]
    rules: Vec<RawRule>,
}

/// A keep/drop/tag rule, global (`[[rule]]`) or per source (`[[source.rule]]`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<String>,
    action: Spanned<String>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    regex: Vec<Spanned<String>>,
    fields: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    tags: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeed {
    title: Spanned<String>,
    subtitle: Option<String>,
    id: Option<Spanned<String>>,
    public_url: Spanned<String>,
    #[serde(default = "default_language")]
    language: String,
    #[serde(default = "default_items")]
    items: Spanned<i64>,
    author: Option<String>,
    #[serde(default)]
    hubs: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<Spanned<String>>,
    cors: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStories {
    enabled: Option<bool>,
    window_days: Option<Spanned<i64>>,
    min_similarity: Option<Spanned<f64>>,
    min_shared_terms: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    database: Option<String>,
    keep_days: Option<Spanned<i64>>,
    keep_items_per_source: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFetch {
    schedule: Option<Spanned<String>>,
    user_agent: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    connect_timeout: Option<Spanned<String>>,
    max_body: Option<Spanned<String>>,
    max_decompressed: Option<Spanned<String>>,
    max_items: Option<Spanned<i64>>,
    max_redirects: Option<Spanned<i64>>,
    concurrency: Option<Spanned<i64>>,
    per_host: Option<Spanned<i64>>,
    jitter: Option<Spanned<String>>,
    host_spacing: Option<Spanned<String>>,
    max_backoff: Option<Spanned<String>>,
    max_interval: Option<Spanned<String>>,
    allow_networks: Option<Vec<Spanned<String>>>,
    backfill_pages: Option<Spanned<i64>>,
    article_pages: Option<Spanned<i64>>,
    poll_deadline: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    id: Spanned<String>,
    name: Option<String>,
    url: Spanned<String>,
    kind: Option<Spanned<String>>,
    schedule: Option<Spanned<String>>,
    #[serde(default)]
    tags: Vec<String>,
    homepage: Option<Spanned<String>>,
    #[serde(default = "default_true")]
    enabled: bool,
    selectors: Option<RawSelectors>,
    #[serde(default, rename = "rule")]
    rules: Vec<RawRule>,
}

/// CSS selectors for an HTML listing where automatic reading is wrong.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSelectors {
    item: Spanned<String>,
    title: Option<Spanned<String>>,
    link: Option<Spanned<String>>,
    date: Option<Spanned<String>>,
    date_format: Option<Spanned<String>>,
    summary: Option<Spanned<String>>,
    author: Option<Spanned<String>>,
    content: Option<Spanned<String>>,
    follow: Option<bool>,
}

fn default_language() -> String {
    "de".into()
}
fn default_items() -> Spanned<i64> {
    Spanned::new(0..0, 50)
}
fn default_true() -> bool {
    true
}

// ---------------------------------------------------------------------------
// Validated settings.
// ---------------------------------------------------------------------------

/// The whole validated configuration. Cheap to clone behind an `Arc`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from; relative paths inside resolve against its directory.
    pub path: PathBuf,
    pub feed: FeedSettings,
    pub server: ServerSettings,
    pub storage: StorageSettings,
    pub fetch: FetchSettings,
    /// When items of different sources form one story.
    pub stories: crate::story::Rules,
    pub sources: Vec<SourceConfig>,
    /// Rules for every source.
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeedSettings {
    pub title: String,
    pub subtitle: Option<String>,
    /// Atom feed id; ids of entries are derived from its authority.
    pub id: String,
    /// Public base URL, always ending in `/`.
    pub public_url: Url,
    pub language: String,
    pub items: usize,
    pub author: String,
    /// WebSub hubs the feeds advertise and that are pinged when a feed changes.
    pub hubs: Vec<Url>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    pub cors: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StorageSettings {
    pub database: PathBuf,
    /// Items older than this (and no longer in their source's feed) are deleted.
    pub keep_days: Option<u32>,
    /// At most this many items per source are kept (newest first).
    pub keep_items_per_source: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FetchSettings {
    pub schedule: Schedule,
    pub user_agent: String,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_body_bytes: u64,
    pub max_decompressed_bytes: u64,
    pub max_items: usize,
    pub max_redirects: usize,
    pub concurrency: usize,
    pub per_host: usize,
    pub jitter: Duration,
    /// Minimum time between two requests to one origin.
    pub host_spacing: Duration,
    pub max_backoff: Duration,
    /// Upper bound on how long a partner's Cache-Control/TTL may stretch its interval.
    pub max_interval: Duration,
    pub allow_networks: Vec<IpNet>,
    /// Listing pages read on a new HTML source's first poll (backfill).
    pub backfill_pages: usize,
    /// Article pages fetched per poll of an HTML source, at most.
    pub article_pages: usize,
    /// Deadline for a whole poll (an HTML source makes many requests).
    pub poll_deadline: Duration,
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
        }
    }
}

pub const DEFAULT_USER_AGENT: &str = concat!(
    "revierfeed/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/revierfeed/revierfeed)"
);

#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    pub id: String,
    pub name: String,
    pub url: Url,
    pub kind: SourceKind,
    pub schedule: Schedule,
    pub tags: Vec<String>,
    pub homepage: Option<Url>,
    pub enabled: bool,
    /// Operator selectors for HTML listings; `None` means automatic.
    pub selectors: Option<crate::extract::html::Selectors>,
    /// Whether article pages of an HTML source are fetched (else the listing alone).
    pub follow_articles: bool,
    /// Rules for this source only (besides the global ones).
    pub rules: Vec<Rule>,
}

impl SourceConfig {
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
    /// Changes whenever the rules or tags that decide verdicts change.
    pub fn rules_fingerprint(&self) -> String {
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

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: path.to_path_buf(),
                line: 0,
                column: 0,
                key: "(file)".into(),
                message: format!("cannot read: {e}"),
            }])
        })?;
        Config::parse(&text, path)
    }

    /// Validates config text; `path` names the file in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
        let locator = Locator { text, file: path };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let mut message = e.message().trim().to_string();
            let unknown = unknown_field(&message).unwrap_or_default().to_string();
            if let Some(hint) = suggest_for_unknown_field(&message) {
                message.push_str(&format!("; did you mean `{hint}`?"));
            }
            let key = key_path(&table_at(text, span.start), &unknown);
            ConfigErrors(vec![locator.error(span.clone(), &key, &message)])
        })?;
        let mut v = Validator {
            locator,
            errors: Vec::new(),
        };
        let config = v.config(raw);
        if v.errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(v.errors))
        }
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

    pub fn source(&self, id: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.id == id)
    }

    /// Every tag the config can give (source tags and rule tags), sorted: one feed each.
    pub fn tags(&self) -> Vec<String> {
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

struct Locator<'a> {
    text: &'a str,
    file: &'a Path,
}

impl Locator<'_> {
    fn error(&self, span: std::ops::Range<usize>, key: &str, message: &str) -> ConfigError {
        let (line, column) = line_col(self.text, span.start);
        ConfigError {
            file: self.file.to_path_buf(),
            line,
            column,
            key: key.to_string(),
            message: message.to_string(),
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

/// The key path of the table in force at `offset` (`feed`, `source[2]`), for
/// errors toml reports without one.
fn table_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let mut current = String::new();
    let mut array_counts: std::collections::HashMap<String, usize> =
        std::collections::HashMap::new();
    for line in text[..offset].lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
            let n = array_counts.entry(name.trim().to_string()).or_insert(0);
            current = format!("{}[{}]", name.trim(), n);
            *n += 1;
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().to_string();
        }
    }
    current
}

/// Joins a table path and a key for messages.
fn key_path(table: &str, key: &str) -> String {
    match (table.is_empty(), key.is_empty()) {
        (true, true) => "(top level)".into(),
        (true, false) => key.into(),
        (false, true) => table.into(),
        (false, false) => format!("{table}.{key}"),
    }
}

fn unknown_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("unknown field `")?
        .split_once('`')
        .map(|(f, _)| f)
}

/// toml reports "unknown field `titel`, expected one of `title`, ..."; pick the closest.
fn suggest_for_unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (unknown, expected) = rest.split_once('`')?;
    let candidates = expected.split('`').skip(1).step_by(2);
    candidates
        .map(|c| (strsim::jaro_winkler(unknown, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

struct Validator<'a> {
    locator: Locator<'a>,
    errors: Vec<ConfigError>,
}

impl Validator<'_> {
    fn err(&mut self, span: std::ops::Range<usize>, key: &str, message: impl Into<String>) {
        let e = self.locator.error(span, key, &message.into());
        self.errors.push(e);
    }

    fn config(&mut self, raw: RawConfig) -> Config {
        let feed = self.feed(raw.feed);
        let server = self.server(raw.server);
        let storage = self.storage(raw.storage);
        let fetch = self.fetch(raw.fetch);
        let stories = self.stories(raw.stories);
        let sources = self.sources(raw.sources, &fetch.schedule);
        let rules = raw
            .rules
            .into_iter()
            .enumerate()
            .filter_map(|(i, r)| self.rule(r, &format!("rule[{i}]")))
            .collect();
        Config {
            path: self.locator.file.to_path_buf(),
            feed,
            server,
            storage,
            fetch,
            stories,
            sources,
            rules,
        }
    }

    fn stories(&mut self, raw: RawStories) -> crate::story::Rules {
        let d = crate::story::Rules::default();
        let min_similarity = match raw.min_similarity {
            Some(s) if !(0.05..=1.0).contains(s.get_ref()) => {
                self.err(
                    s.span(),
                    "stories.min_similarity",
                    "must be between 0.05 and 1.0 (the share of weighted terms two reports have in common)",
                );
                d.min_similarity
            }
            Some(s) => *s.get_ref(),
            None => d.min_similarity,
        };
        crate::story::Rules {
            enabled: raw.enabled.unwrap_or(d.enabled),
            window_days: self.count(
                raw.window_days,
                "stories.window_days",
                0..=30,
                d.window_days as usize,
            ) as u32,
            min_similarity,
            min_shared_terms: self.count(
                raw.min_shared_terms,
                "stories.min_shared_terms",
                2..=50,
                d.min_shared_terms,
            ),
        }
    }

    fn rule(&mut self, raw: RawRule, key: &str) -> Option<Rule> {
        let action = match raw.action.get_ref().as_str() {
            "keep" => Action::Keep,
            "drop" => Action::Drop,
            "tag" => Action::Tag,
            other => {
                self.err(
                    raw.action.span(),
                    &format!("{key}.action"),
                    format!("`{other}` is not an action; use \"keep\", \"drop\" or \"tag\""),
                );
                return None;
            }
        };
        let mut ok = true;
        let mut regexes = Vec::new();
        for r in &raw.regex {
            match filter::compile_regex(r.get_ref()) {
                Ok(re) => regexes.push(re),
                Err(e) => {
                    self.err(
                        r.span(),
                        &format!("{key}.regex"),
                        format!("not a regular expression: {e}"),
                    );
                    ok = false;
                }
            }
        }
        let keywords: Vec<String> = raw
            .keywords
            .iter()
            .map(|k| k.trim().to_lowercase())
            .filter(|k| !k.is_empty())
            .collect();
        if keywords.is_empty() && regexes.is_empty() && ok {
            self.err(raw.action.span(), key, "a rule needs `keywords` or `regex`");
            ok = false;
        }
        let mut fields = Vec::new();
        for f in raw.fields.unwrap_or_default() {
            match f.get_ref().as_str() {
                "title" => fields.push(Field::Title),
                "summary" => fields.push(Field::Summary),
                "content" => fields.push(Field::Content),
                "author" => fields.push(Field::Author),
                "category" => fields.push(Field::Category),
                other => {
                    self.err(f.span(), &format!("{key}.fields"), format!("`{other}` is not a field; use title, summary, content, author or category"));
                    ok = false;
                }
            }
        }
        if fields.is_empty() {
            fields = filter::ALL_FIELDS.to_vec();
        }
        let mut tags = Vec::new();
        for t in raw.tags {
            if valid_tag(t.get_ref()) {
                tags.push(t.into_inner());
            } else {
                self.err(
                    t.span(),
                    &format!("{key}.tags"),
                    format!(
                        "tag `{}` must be 1–64 lower-case letters, digits, '-' or '_'",
                        t.get_ref()
                    ),
                );
                ok = false;
            }
        }
        if action == Action::Tag && tags.is_empty() && ok {
            self.err(
                raw.action.span(),
                &format!("{key}.tags"),
                "a rule with action = \"tag\" needs `tags`",
            );
            ok = false;
        }
        ok.then(|| Rule {
            name: raw.name.unwrap_or_else(|| key.to_string()),
            action,
            keywords,
            regexes,
            fields,
            tags,
        })
    }

    fn feed(&mut self, raw: RawFeed) -> FeedSettings {
        if raw.title.get_ref().trim().is_empty() {
            self.err(raw.title.span(), "feed.title", "must not be empty");
        }
        let public_url = match Url::parse(raw.public_url.get_ref()) {
            Ok(mut u) if matches!(u.scheme(), "http" | "https") => {
                if !u.path().ends_with('/') {
                    let p = format!("{}/", u.path());
                    u.set_path(&p);
                }
                u
            }
            Ok(_) => {
                self.err(
                    raw.public_url.span(),
                    "feed.public_url",
                    "must be an http:// or https:// URL",
                );
                Url::parse("http://127.0.0.1:8080/").expect("literal")
            }
            Err(e) => {
                self.err(
                    raw.public_url.span(),
                    "feed.public_url",
                    format!("not a URL: {e}"),
                );
                Url::parse("http://127.0.0.1:8080/").expect("literal")
            }
        };
        let id = match raw.id {
            Some(id) if id.get_ref().trim().is_empty() => {
                self.err(id.span(), "feed.id", "must not be empty");
                String::new()
            }
            Some(id) => id.into_inner(),
            None => public_url.to_string(),
        };
        let mut hubs = Vec::new();
        for h in &raw.hubs {
            match Url::parse(h.get_ref()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => hubs.push(u),
                _ => self.err(
                    h.span(),
                    "feed.hubs",
                    format!("`{}` is not an http(s) URL of a WebSub hub", h.get_ref()),
                ),
            }
        }
        let items = *raw.items.get_ref();
        if !(1..=1000).contains(&items) {
            self.err(raw.items.span(), "feed.items", "must be between 1 and 1000");
        }
        FeedSettings {
            title: raw.title.into_inner().trim().to_string(),
            subtitle: raw.subtitle,
            id,
            public_url,
            language: raw.language,
            items: items.clamp(1, 1000) as usize,
            author: raw.author.unwrap_or_else(|| "revierfeed".into()),
            hubs,
        }
    }

    fn server(&mut self, raw: RawServer) -> ServerSettings {
        let listen = match raw.listen {
            None => "127.0.0.1:8080".parse().expect("literal"),
            Some(l) => match l.get_ref().parse::<SocketAddr>() {
                Ok(a) => a,
                Err(_) => {
                    self.err(
                        l.span(),
                        "server.listen",
                        format!(
                            "`{}` is not an address:port such as \"127.0.0.1:8080\" or \"[::]:8080\"",
                            l.get_ref()
                        ),
                    );
                    "127.0.0.1:8080".parse().expect("literal")
                }
            },
        };
        ServerSettings {
            listen,
            cors: raw.cors.unwrap_or(true),
        }
    }

    fn storage(&mut self, raw: RawStorage) -> StorageSettings {
        let keep_days = raw.keep_days.and_then(|d| {
            let n = *d.get_ref();
            if !(1..=100_000).contains(&n) {
                self.err(
                    d.span(),
                    "storage.keep_days",
                    "must be a number of days ≥ 1",
                );
                None
            } else {
                Some(n as u32)
            }
        });
        let keep_items = raw.keep_items_per_source.and_then(|d| {
            let n = *d.get_ref();
            if n < 1 {
                self.err(d.span(), "storage.keep_items_per_source", "must be ≥ 1");
                None
            } else {
                Some(n as usize)
            }
        });
        StorageSettings {
            database: PathBuf::from(raw.database.unwrap_or_else(|| "revierfeed.db".into())),
            keep_days,
            keep_items_per_source: keep_items,
        }
    }

    fn duration(&mut self, raw: Option<Spanned<String>>, key: &str, default: Duration) -> Duration {
        self.duration_from(raw, key, default, false)
    }

    fn duration_or_zero(
        &mut self,
        raw: Option<Spanned<String>>,
        key: &str,
        default: Duration,
    ) -> Duration {
        self.duration_from(raw, key, default, true)
    }

    fn duration_from(
        &mut self,
        raw: Option<Spanned<String>>,
        key: &str,
        default: Duration,
        zero_ok: bool,
    ) -> Duration {
        let Some(raw) = raw else { return default };
        if zero_ok && raw.get_ref().trim() == "0" {
            return Duration::ZERO;
        }
        match humantime::parse_duration(raw.get_ref()) {
            Ok(d) if zero_ok || !d.is_zero() => d,
            Ok(_) => {
                self.err(raw.span(), key, "must be longer than zero");
                default
            }
            Err(e) => {
                self.err(
                    raw.span(),
                    key,
                    format!(
                        "`{}` is not a duration such as \"30s\" or \"15m\": {e}",
                        raw.get_ref()
                    ),
                );
                default
            }
        }
    }

    fn size(&mut self, raw: Option<Spanned<String>>, key: &str, default: u64) -> u64 {
        let Some(raw) = raw else { return default };
        match raw.get_ref().parse::<bytesize::ByteSize>() {
            Ok(s) if s.as_u64() >= 1024 => s.as_u64(),
            Ok(_) => {
                self.err(raw.span(), key, "must be at least 1 KiB");
                default
            }
            Err(e) => {
                self.err(
                    raw.span(),
                    key,
                    format!("`{}` is not a size such as \"10 MiB\": {e}", raw.get_ref()),
                );
                default
            }
        }
    }

    fn count(
        &mut self,
        raw: Option<Spanned<i64>>,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
        default: usize,
    ) -> usize {
        let Some(raw) = raw else { return default };
        let n = *raw.get_ref();
        if range.contains(&n) {
            n as usize
        } else {
            self.err(
                raw.span(),
                key,
                format!("must be between {} and {}", range.start(), range.end()),
            );
            default
        }
    }

    fn schedule(&mut self, raw: &Spanned<String>, key: &str) -> Option<Schedule> {
        match Schedule::parse(raw.get_ref()) {
            Ok(s) => Some(s),
            Err(e) => {
                self.err(raw.span(), key, e.to_string());
                None
            }
        }
    }

    fn fetch(&mut self, raw: RawFetch) -> FetchSettings {
        let d = FetchSettings::default();
        let schedule = raw
            .schedule
            .as_ref()
            .and_then(|s| self.schedule(s, "fetch.schedule"))
            .unwrap_or(d.schedule.clone());
        let user_agent = match raw.user_agent {
            Some(ua) if ua.get_ref().trim().is_empty() || ua.get_ref().contains(['\r', '\n']) => {
                self.err(ua.span(), "fetch.user_agent", "must be one non-empty line");
                d.user_agent.clone()
            }
            Some(ua) => ua.into_inner(),
            None => d.user_agent.clone(),
        };
        let mut allow_networks = Vec::new();
        for net in raw.allow_networks.unwrap_or_default() {
            match parse_network(net.get_ref()) {
                Some(n) => allow_networks.push(n),
                None => self.err(
                    net.span(),
                    "fetch.allow_networks",
                    format!(
                        "`{}` is not a CIDR range such as \"127.0.0.0/8\" or \"fd00::/8\"",
                        net.get_ref()
                    ),
                ),
            }
        }
        let max_body_bytes = self.size(raw.max_body, "fetch.max_body", d.max_body_bytes);
        let max_decompressed_bytes = self.size(
            raw.max_decompressed,
            "fetch.max_decompressed",
            d.max_decompressed_bytes.max(max_body_bytes),
        );
        FetchSettings {
            schedule,
            user_agent,
            timeout: self.duration(raw.timeout, "fetch.timeout", d.timeout),
            connect_timeout: self.duration(
                raw.connect_timeout,
                "fetch.connect_timeout",
                d.connect_timeout,
            ),
            max_body_bytes,
            max_decompressed_bytes,
            max_items: self.count(raw.max_items, "fetch.max_items", 1..=100_000, d.max_items),
            max_redirects: self.count(
                raw.max_redirects,
                "fetch.max_redirects",
                0..=20,
                d.max_redirects,
            ),
            concurrency: self.count(
                raw.concurrency,
                "fetch.concurrency",
                1..=1024,
                d.concurrency,
            ),
            per_host: self.count(raw.per_host, "fetch.per_host", 1..=16, d.per_host),
            jitter: self.duration_or_zero(raw.jitter, "fetch.jitter", d.jitter),
            host_spacing: self.duration_or_zero(
                raw.host_spacing,
                "fetch.host_spacing",
                d.host_spacing,
            ),
            max_backoff: self.duration(raw.max_backoff, "fetch.max_backoff", d.max_backoff),
            max_interval: self.duration(raw.max_interval, "fetch.max_interval", d.max_interval),
            allow_networks,
            backfill_pages: self.count(
                raw.backfill_pages,
                "fetch.backfill_pages",
                1..=50,
                d.backfill_pages,
            ),
            article_pages: self.count(
                raw.article_pages,
                "fetch.article_pages",
                0..=1000,
                d.article_pages,
            ),
            poll_deadline: self.duration(raw.poll_deadline, "fetch.poll_deadline", d.poll_deadline),
        }
    }

    fn sources(&mut self, raws: Vec<RawSource>, default_schedule: &Schedule) -> Vec<SourceConfig> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (i, raw) in raws.into_iter().enumerate() {
            let key = |k: &str| format!("source[{i}].{k}");
            let id = raw.id.get_ref().clone();
            if !valid_source_id(&id) {
                self.err(
                    raw.id.span(),
                    &key("id"),
                    format!(
                        "`{id}` is not a valid id: use 1–64 lower-case letters, digits and '-' (it appears in URLs and the database)"
                    ),
                );
            } else if !seen.insert(id.clone()) {
                self.err(
                    raw.id.span(),
                    &key("id"),
                    format!("duplicate source id `{id}`"),
                );
            }
            let url = match Url::parse(raw.url.get_ref()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
                Ok(_) => {
                    self.err(
                        raw.url.span(),
                        &key("url"),
                        "must be an http:// or https:// URL with a host",
                    );
                    None
                }
                Err(e) => {
                    self.err(raw.url.span(), &key("url"), format!("not a URL: {e}"));
                    None
                }
            };
            let kind = match raw.kind.as_ref().map(|k| k.get_ref().as_str()) {
                None | Some("auto") => SourceKind::Auto,
                Some("feed") => SourceKind::Feed,
                Some("html") => SourceKind::Html,
                Some(other) => {
                    let span = raw.kind.as_ref().map(|k| k.span()).unwrap_or(0..0);
                    self.err(
                        span,
                        &key("kind"),
                        format!("`{other}` is not a kind; use \"feed\", \"html\" or \"auto\""),
                    );
                    SourceKind::Auto
                }
            };
            let schedule = match &raw.schedule {
                Some(s) => self.schedule(s, &key("schedule")),
                None => Some(default_schedule.clone()),
            };
            let homepage = raw
                .homepage
                .as_ref()
                .and_then(|h| match Url::parse(h.get_ref()) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
                    _ => {
                        self.err(
                            h.span(),
                            &key("homepage"),
                            "must be an http:// or https:// URL",
                        );
                        None
                    }
                });
            for tag in &raw.tags {
                if !valid_tag(tag) {
                    self.err(
                        raw.id.span(),
                        &key("tags"),
                        format!("tag `{tag}` must be 1–64 lower-case letters, digits, '-' or '_'"),
                    );
                }
            }
            let follow_articles = raw
                .selectors
                .as_ref()
                .and_then(|s| s.follow)
                .unwrap_or(true);
            let rules = raw
                .rules
                .into_iter()
                .enumerate()
                .filter_map(|(j, r)| self.rule(r, &key(&format!("rule[{j}]"))))
                .collect();
            let selectors = raw
                .selectors
                .map(|sel| self.selectors(sel, &key("selectors")));
            if selectors.is_some() && kind == SourceKind::Feed {
                self.err(
                    raw.id.span(),
                    &key("selectors"),
                    "selectors only apply to kind = \"html\" (or \"auto\") sources",
                );
            }
            if let (Some(url), Some(schedule)) = (url, schedule) {
                out.push(SourceConfig {
                    name: raw
                        .name
                        .filter(|n| !n.trim().is_empty())
                        .unwrap_or_else(|| id.clone()),
                    id,
                    url,
                    kind,
                    schedule,
                    tags: raw.tags,
                    homepage,
                    enabled: raw.enabled,
                    selectors,
                    follow_articles,
                    rules,
                });
            }
        }
        out
    }
}

impl Validator<'_> {
    fn selectors(&mut self, raw: RawSelectors, key: &str) -> crate::extract::html::Selectors {
        use crate::extract::html::listing::FieldSelector;
        let check = |v: &Option<Spanned<String>>, name: &str, this: &mut Self| -> Option<String> {
            let v = v.as_ref()?;
            if let Err(e) = FieldSelector::parse(v.get_ref()) {
                this.err(v.span(), &format!("{key}.{name}"), e);
            }
            Some(v.get_ref().clone())
        };
        if scraper::Selector::parse(raw.item.get_ref()).is_err() {
            self.err(
                raw.item.span(),
                &format!("{key}.item"),
                format!("`{}` is not a valid CSS selector", raw.item.get_ref()),
            );
        }
        let title = check(&raw.title, "title", self);
        let link = check(&raw.link, "link", self);
        let date = check(&raw.date, "date", self);
        let summary = check(&raw.summary, "summary", self);
        let author = check(&raw.author, "author", self);
        let content = check(&raw.content, "content", self);
        if let Some(f) = &raw.date_format {
            // A format with no date field would silently never match.
            if !["%d", "%e", "%j", "%D", "%F", "%x", "%s", "%+"]
                .iter()
                .any(|d| f.get_ref().contains(d))
            {
                self.err(
                    f.span(),
                    &format!("{key}.date_format"),
                    "must contain a day (e.g. \"%d.%m.%Y\"; chrono strftime syntax)",
                );
            }
        }
        crate::extract::html::Selectors {
            item: raw.item.into_inner(),
            title,
            link,
            date,
            date_format: raw.date_format.map(Spanned::into_inner),
            summary,
            author,
            content,
        }
    }
}

fn parse_network(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

pub fn valid_source_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

pub fn valid_tag(tag: &str) -> bool {
    (1..=64).contains(&tag.len())
        && tag
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigErrors> {
        Config::parse(text, Path::new("config.toml"))
    }

    const MINIMAL: &str = "[feed]\ntitle = \"T\"\npublic_url = \"http://127.0.0.1:8080\"\n";

    #[test]
    fn minimal_config_gets_defaults() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.feed.public_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(c.feed.items, 50);
        assert_eq!(c.server.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.fetch.max_redirects, 5);
        assert!(c.sources.is_empty());
    }

    #[test]
    fn stories_table_has_defaults_values_and_located_errors() {
        let d = parse(MINIMAL).unwrap().stories;
        assert_eq!(d, crate::story::Rules::default());
        let c = parse(&format!(
            "{MINIMAL}[stories]\nwindow_days = 2\nmin_similarity = 0.4\nmin_shared_terms = 6\nenabled = false\n"
        ))
        .unwrap()
        .stories;
        assert_eq!(
            (
                c.enabled,
                c.window_days,
                c.min_similarity,
                c.min_shared_terms
            ),
            (false, 2, 0.4, 6)
        );
        let err = parse(&format!(
            "{MINIMAL}[stories]\nwindow_days = 90\nmin_similarity = 0.01\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("config.toml:5:15: stories.window_days"),
            "{err}"
        );
        assert!(
            err.contains("config.toml:6:18: stories.min_similarity"),
            "{err}"
        );
        let unknown = parse(&format!("{MINIMAL}[stories]\nwindow = 3\n")).unwrap_err();
        assert_eq!(unknown.0[0].key, "stories.window", "{unknown}");
        assert!(
            unknown.to_string().contains("did you mean `window_days`"),
            "{unknown}"
        );
    }

    #[test]
    fn unknown_key_names_line_column_and_suggests() {
        let text = format!("{MINIMAL}[fetch]\nshedule = \"1h\"\n");
        let err = parse(&text).unwrap_err();
        let e = &err.0[0];
        assert_eq!((e.line, e.column), (5, 1), "{e}");
        assert_eq!(e.key, "fetch.shedule");
        assert!(e.message.contains("did you mean `schedule`"), "{e}");
    }

    #[test]
    fn validation_errors_point_at_the_value() {
        let text = format!(
            "{MINIMAL}[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\nschedule = \"every tuesday\"\n\n[[source]]\nid = \"a\"\nurl = \"ftp://x\"\n"
        );
        let err = parse(&text).unwrap_err();
        let rendered = err.to_string();
        assert!(
            rendered.contains("config.toml:7:12: source[0].schedule"),
            "{rendered}"
        );
        assert!(
            rendered.contains("config.toml:10:6: source[1].id: duplicate source id `a`"),
            "{rendered}"
        );
        assert!(
            rendered.contains("config.toml:11:7: source[1].url"),
            "{rendered}"
        );
    }

    #[test]
    fn selectors_are_checked_where_they_are_written() {
        let text = format!(
            "{MINIMAL}[[source]]\nid = \"s\"\nurl = \"https://x.example/\"\nkind = \"html\"\n[source.selectors]\nitem = \"div.news\"\ndate = \"span::nope\"\nlink = \"a@href\"\n"
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("config.toml:10:8: source[0].selectors.date"),
            "{err}"
        );
        let ok = text.replace("span::nope", "span.date");
        let c = parse(&ok).unwrap();
        let s = c.sources[0].selectors.as_ref().unwrap();
        assert_eq!(
            (s.item.as_str(), s.link.as_deref()),
            ("div.news", Some("a@href"))
        );
    }

    #[test]
    fn rules_are_validated_in_place() {
        let text = format!(
            "{MINIMAL}[[rule]]\naction = \"keep\"\nkeywords = [\"Lausitz\"]\ntags = [\"lausitz\"]\n[[rule]]\naction = \"drop\"\nregex = [\"(unclosed\"]\n[[rule]]\naction = \"hide\"\n"
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains(
                "config.toml:10:10: rule[1].regex: not a regular expression: unclosed group"
            ),
            "{err}"
        );
        assert!(
            err.contains("config.toml:12:10: rule[2].action: `hide` is not an action"),
            "{err}"
        );
        let ok = format!(
            "{MINIMAL}[[rule]]\naction = \"keep\"\nkeywords = [\"Lausitz\"]\ntags = [\"lausitz\"]\n[[source]]\nid = \"s\"\nurl = \"https://x.example/\"\ntags = [\"magazin\"]\n[[source.rule]]\naction = \"tag\"\nkeywords = [\"Wasserstoff\"]\ntags = [\"wasserstoff\"]\n"
        );
        let c = parse(&ok).unwrap();
        assert_eq!(c.rules[0].keywords, vec!["lausitz"]);
        assert_eq!(c.sources[0].rules[0].name, "source[0].rule[0]");
        assert_eq!(c.tags(), vec!["lausitz", "magazin", "wasserstoff"]);
    }

    #[test]
    fn database_path_is_relative_to_the_config_file() {
        let mut c = parse(MINIMAL).unwrap();
        c.path = PathBuf::from("/etc/revierfeed/config.toml");
        assert_eq!(
            c.database_path(),
            PathBuf::from("/etc/revierfeed/revierfeed.db")
        );
    }

    #[test]
    fn allow_networks_accepts_cidr_and_plain_addresses() {
        let text = format!("{MINIMAL}[fetch]\nallow_networks = [\"127.0.0.0/8\", \"::1\"]\n");
        let c = parse(&text).unwrap();
        assert_eq!(c.fetch.allow_networks.len(), 2);
        let bad = format!("{MINIMAL}[fetch]\nallow_networks = [\"localhost\"]\n");
        assert!(
            parse(&bad)
                .unwrap_err()
                .to_string()
                .contains("fetch.allow_networks")
        );
    }
}
