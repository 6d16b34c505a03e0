//! Raw file → validated `Config`: every value is checked where it is
//! written, and every problem is reported with file:line:col and key. Rules
//! are checked by `filter` (`Rule::new`) and selectors parsed by `extract::html`
//! (`FieldSelector::parse`); this file says where their errors stand.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::PathBuf;

use ipnet::IpNet;
use toml::Spanned;
use url::Url;

use super::error::{ConfigError, ConfigErrors, Locator, one_of};
use super::raw::{
    RawConfig, RawFeed, RawFetch, RawLog, RawRule, RawSelectors, RawServer, RawSite, RawSource,
    RawStorage, RawStories,
};
use super::{
    Config, FeedSettings, FetchSettings, LogFormat, LogSettings, Purpose, ServerSettings,
    SiteSettings, SourceConfig, StorageSettings, valid_source_id,
};
use crate::extract::html::Selectors;
use crate::extract::html::listing::FieldSelector;
use crate::filter::{Rule, RuleError, RuleSpec, valid_tag};
use crate::model::SourceKind;
use crate::schedule::Schedule;

mod access;
mod alerts;
mod values;

/// Checks a parsed file and builds the settings; a config is returned only
/// when nothing was wrong.
pub(super) fn config(
    raw: RawConfig,
    locator: Locator<'_>,
    purpose: Purpose,
) -> Result<Config, ConfigErrors> {
    let mut v = Validator {
        locator,
        errors: Vec::new(),
        purpose,
        warnings: Vec::new(),
    };
    let mut config = v.config(raw);
    config.warnings = std::mem::take(&mut v.warnings);
    if v.errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(v.errors))
    }
}

/// Collects every problem instead of stopping at the first, so one
/// `revierfeed check` shows all of them.
struct Validator<'a> {
    locator: Locator<'a>,
    errors: Vec<ConfigError>,
    purpose: Purpose,
    warnings: Vec<ConfigError>,
}

impl Validator<'_> {
    fn err(&mut self, span: Range<usize>, key: &str, message: impl Into<String>) {
        let e = self.locator.error(span, key, &message.into());
        self.errors.push(e);
    }

    fn warn(&mut self, span: Range<usize>, key: &str, message: impl Into<String>) {
        let w = self.locator.error(span, key, &message.into());
        self.warnings.push(w);
    }

    fn config(&mut self, raw: RawConfig) -> Config {
        let feed = match raw.feed {
            Some(feed) => self.feed(feed),
            None => {
                if self.purpose == Purpose::Serve {
                    self.err(
                        0..0,
                        "feed",
                        "missing table [feed]: title and public_url are required to serve",
                    );
                }
                FeedSettings::unpublished()
            }
        };
        let server = self.server(raw.server);
        let storage = self.storage(raw.storage);
        let fetch = self.fetch(raw.fetch);
        let stories = self.stories(raw.stories);
        let site = self.site(raw.site);
        let log = self.log(raw.log);
        let sources = self.sources(raw.sources, &fetch.schedule);
        let rules = raw
            .rules
            .into_iter()
            .enumerate()
            .filter_map(|(i, r)| self.rule(r, &format!("rule[{i}]")))
            .collect();
        let alerts = raw
            .alerts
            .into_iter()
            .enumerate()
            .filter_map(|(i, a)| self.alert(a, i))
            .collect();
        Config {
            positions: super::SourcePositions::of(&sources),
            path: self.locator.file.to_path_buf(),
            feed,
            server,
            storage,
            fetch,
            stories,
            site,
            log,
            sources,
            rules,
            alerts,
            warnings: Vec::new(),
        }
    }

    fn site(&mut self, raw: RawSite) -> SiteSettings {
        let mut link = |raw: Option<Spanned<String>>, key: &str| {
            let raw = raw?;
            match Url::parse(raw.get_ref()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
                _ => {
                    self.err(
                        raw.span(),
                        key,
                        format!("`{}` is not an http(s) URL", raw.get_ref()),
                    );
                    None
                }
            }
        };
        let impressum = link(raw.impressum, "site.impressum");
        let datenschutz = link(raw.datenschutz, "site.datenschutz");
        let footer = raw.footer.and_then(|f| {
            let text = f.get_ref().trim();
            if text.chars().count() > SiteSettings::MAX_FOOTER_CHARS || text.contains(['\r', '\n'])
            {
                self.err(
                    f.span(),
                    "site.footer",
                    format!(
                        "must be one line of at most {} characters",
                        SiteSettings::MAX_FOOTER_CHARS
                    ),
                );
                None
            } else {
                Some(text.to_string()).filter(|t| !t.is_empty())
            }
        });
        SiteSettings {
            impressum,
            datenschutz,
            footer,
        }
    }

    fn log(&mut self, raw: RawLog) -> LogSettings {
        let format = match raw.format {
            None => LogFormat::default(),
            Some(f) => LogFormat::parse(f.get_ref()).unwrap_or_else(|| {
                self.err(
                    f.span(),
                    "log.format",
                    format!("must be {}", one_of(LogFormat::NAMES)),
                );
                LogFormat::default()
            }),
        };
        LogSettings { format }
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

    /// The rule is checked by `filter`; this only says where each problem stands.
    fn rule(&mut self, raw: RawRule, key: &str) -> Option<Rule> {
        let fields = raw.fields.unwrap_or_default();
        let spec = RuleSpec {
            name: raw.name.unwrap_or_else(|| key.to_string()),
            action: raw.action.get_ref(),
            keywords: &raw.keywords,
            regexes: raw.regex.iter().map(|r| r.get_ref().as_str()).collect(),
            fields: fields.iter().map(|f| f.get_ref().as_str()).collect(),
            tags: raw.tags.iter().map(|t| t.get_ref().as_str()).collect(),
        };
        let errors = match Rule::new(spec) {
            Ok(rule) => return Some(rule),
            Err(errors) => errors,
        };
        for e in errors {
            let (span, key) = match &e {
                RuleError::UnknownAction(_) => (raw.action.span(), format!("{key}.action")),
                RuleError::BadRegex { index, .. } => {
                    (raw.regex[*index].span(), format!("{key}.regex"))
                }
                RuleError::NothingToMatch => (raw.action.span(), key.to_string()),
                RuleError::UnknownField { index, .. } => {
                    (fields[*index].span(), format!("{key}.fields"))
                }
                RuleError::BadTag { index, .. } => (raw.tags[*index].span(), format!("{key}.tags")),
                RuleError::TagWithoutTags => (raw.action.span(), format!("{key}.tags")),
            };
            self.err(span, &key, e.to_string());
        }
        None
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
                placeholder_public_url()
            }
            Err(e) => {
                self.err(
                    raw.public_url.span(),
                    "feed.public_url",
                    format!("not a URL: {e}"),
                );
                placeholder_public_url()
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
        let items = match raw.items {
            Some(n) if !(1..=1000).contains(n.get_ref()) => {
                self.err(n.span(), "feed.items", "must be between 1 and 1000");
                FeedSettings::DEFAULT_ITEMS
            }
            Some(n) => *n.get_ref() as usize,
            None => FeedSettings::DEFAULT_ITEMS,
        };
        FeedSettings {
            title: raw.title.into_inner().trim().to_string(),
            subtitle: raw.subtitle,
            id,
            public_url,
            language: raw
                .language
                .unwrap_or_else(|| FeedSettings::DEFAULT_LANGUAGE.into()),
            items,
            author: raw
                .author
                .unwrap_or_else(|| FeedSettings::DEFAULT_AUTHOR.into()),
            hubs,
        }
    }

    fn server(&mut self, raw: RawServer) -> ServerSettings {
        let d = ServerSettings::default();
        let listen = match raw.listen {
            None => d.listen,
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
                    d.listen
                }
            },
        };
        ServerSettings {
            listen,
            cors: raw.cors.unwrap_or(d.cors),
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
            database: raw
                .database
                .map(PathBuf::from)
                .unwrap_or_else(|| StorageSettings::default().database),
            keep_days,
            keep_items_per_source: keep_items,
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
            proxy: raw.proxy.and_then(|p| self.proxy(p)),
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
            let kind = match &raw.kind {
                None => SourceKind::Auto,
                Some(k) => SourceKind::parse(k.get_ref()).unwrap_or_else(|| {
                    let kinds = one_of(SourceKind::ALL.iter().map(|k| k.as_str()));
                    self.err(
                        k.span(),
                        &key("kind"),
                        format!("`{}` is not a kind; use {kinds}", k.get_ref()),
                    );
                    SourceKind::Auto
                }),
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
            let follow_articles = raw.selectors.as_ref().and_then(|s| s.follow);
            let rules = raw
                .rules
                .into_iter()
                .enumerate()
                .filter_map(|(j, r)| self.rule(r, &key(&format!("rule[{j}]"))))
                .collect();
            let access = self.access(
                i,
                url.as_ref(),
                raw.headers,
                raw.cookies,
                raw.basic_auth,
                raw.bearer,
            );
            let has_selectors = raw.selectors.is_some();
            let selectors = raw
                .selectors
                .and_then(|sel| self.selectors(sel, &key("selectors")));
            if has_selectors && kind == SourceKind::Feed {
                self.err(
                    raw.id.span(),
                    &key("selectors"),
                    "selectors only apply to kind = \"html\" (or \"auto\") sources",
                );
            }
            let article = self.article_keys(
                (&raw.id, raw.full_text, &raw.content, &raw.remove),
                kind,
                &selectors,
                &key,
            );
            if let (Some(url), Some(schedule)) = (url, schedule) {
                let mut source = SourceConfig::new(&id, url, kind, schedule);
                if let Some(name) = raw.name.filter(|n| !n.trim().is_empty()) {
                    source.name = name;
                }
                source.tags = raw.tags;
                source.homepage = homepage;
                source.enabled = raw.enabled.unwrap_or(source.enabled);
                source.selectors = selectors;
                source.follow_articles = follow_articles.unwrap_or(source.follow_articles);
                (source.full_text, source.content, source.remove) = article;
                source.rules = rules;
                source.access = access;
                out.push(source);
            }
        }
        out
    }

    /// `full_text`, `content` and `remove` of a source: how its article pages are read.
    fn article_keys(
        &mut self,
        (id, full_text, content, remove): ArticleKeys,
        kind: SourceKind,
        selectors: &Option<Selectors>,
        key: &dyn Fn(&str) -> String,
    ) -> (bool, Option<FieldSelector>, Vec<scraper::Selector>) {
        let full_text = full_text.unwrap_or(false);
        if full_text && kind == SourceKind::Html {
            self.err(
                id.span(),
                &key("full_text"),
                "full_text applies to feed sources; an HTML source reads its article pages already",
            );
        }
        let content = content.as_ref().and_then(|c| {
            if selectors.as_ref().is_some_and(|s| s.content.is_some()) {
                self.err(
                    c.span(),
                    &key("content"),
                    "give the body selector once: here or as selectors.content",
                );
            }
            FieldSelector::parse(c.get_ref())
                .map_err(|e| self.err(c.span(), &key("content"), e))
                .ok()
        });
        let remove = remove
            .iter()
            .filter_map(|r| {
                scraper::Selector::parse(r.get_ref())
                    .map_err(|_| {
                        self.err(
                            r.span(),
                            &key("remove"),
                            format!("`{}` is not a valid CSS selector", r.get_ref()),
                        )
                    })
                    .ok()
            })
            .collect();
        (full_text, content, remove)
    }

    /// Each selector is parsed here, once; the parsed `content` selector is
    /// kept so the article reader never parses it again.
    /// Selectors are validated by their owner (`extract::html::listing`);
    /// here each error gets its place in the file. `None` if any is invalid.
    fn selectors(&mut self, raw: RawSelectors, key: &str) -> Option<Selectors> {
        let item = Selectors::new(raw.item.get_ref())
            .map_err(|e| self.err(raw.item.span(), &format!("{key}.item"), e))
            .ok();
        let mut valid = item.is_some();
        let mut field = |v: &Option<Spanned<String>>, name: &str| -> Option<FieldSelector> {
            let v = v.as_ref()?;
            FieldSelector::parse(v.get_ref())
                .map_err(|e| {
                    valid = false;
                    self.err(v.span(), &format!("{key}.{name}"), e)
                })
                .ok()
        };
        let title = field(&raw.title, "title");
        let link = field(&raw.link, "link");
        let date = field(&raw.date, "date");
        let summary = field(&raw.summary, "summary");
        let author = field(&raw.author, "author");
        let content = field(&raw.content, "content");
        if let Some(f) = &raw.date_format {
            if let Err(e) = Selectors::check_date_format(f.get_ref()) {
                valid = false;
                self.err(f.span(), &format!("{key}.date_format"), e);
            }
        }
        Some(Selectors {
            title,
            link,
            date,
            date_format: raw.date_format.map(Spanned::into_inner),
            summary,
            author,
            content,
            ..item?
        })
        .filter(|_| valid)
    }
}

/// A source's raw `id` (for locating errors), `full_text`, `content` and `remove`.
type ArticleKeys<'a> = (
    &'a Spanned<String>,
    Option<bool>,
    &'a Option<Spanned<String>>,
    &'a [Spanned<String>],
);

pub(crate) fn parse_network(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

/// Stands in for a broken `public_url` so validation can go on and report
/// the rest; a config with errors is never returned.
fn placeholder_public_url() -> Url {
    Url::parse(&format!("http://{}/", ServerSettings::default().listen)).expect("valid URL")
}
