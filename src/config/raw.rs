//! The file shape an operator writes: serde types whose field names are the
//! operator-facing contract. Unknown keys are errors (typos must not pass
//! silently), values keep their spans for located errors, and an omitted key
//! is `None` here: its default lives once, with the validated settings.

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    /// Required to serve; `discover` and `preview` read partners without it.
    pub feed: Option<RawFeed>,
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub storage: RawStorage,
    #[serde(default)]
    pub fetch: RawFetch,
    #[serde(default)]
    pub stories: RawStories,
    #[serde(default)]
    pub site: RawSite,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default, rename = "source")]
    pub sources: Vec<RawSource>,
    #[serde(default, rename = "rule")]
    pub rules: Vec<RawRule>,
    #[serde(default, rename = "alert")]
    pub alerts: Vec<Spanned<RawAlert>>,
}

/// `[[alert]]`: a webhook (`webhook`, `format`, a token for Matrix) or mail
/// (`mail_to`, `mail_from`, `smtp`), and when to send.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlert {
    pub webhook: Option<Spanned<String>>,
    pub format: Option<Spanned<String>>,
    pub token: Option<Spanned<String>>,
    pub token_env: Option<Spanned<String>>,
    pub token_file: Option<Spanned<String>>,
    pub mail_to: Option<Vec<Spanned<String>>>,
    pub mail_from: Option<Spanned<String>>,
    pub smtp: Option<Spanned<String>>,
    pub after_failures: Option<Spanned<i64>>,
    pub min_interval: Option<Spanned<String>>,
    pub max_per_hour: Option<Spanned<i64>>,
}

/// A keep/drop/tag rule, global (`[[rule]]`) or per source (`[[source.rule]]`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub name: Option<String>,
    pub action: Spanned<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub regex: Vec<Spanned<String>>,
    pub fields: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub tags: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeed {
    pub title: Spanned<String>,
    pub subtitle: Option<String>,
    pub id: Option<Spanned<String>>,
    pub public_url: Spanned<String>,
    pub language: Option<String>,
    pub items: Option<Spanned<i64>>,
    pub author: Option<String>,
    #[serde(default)]
    pub hubs: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub listen: Option<Spanned<String>>,
    pub cors: Option<bool>,
}

/// `[site]`: what the news pages show besides the news.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSite {
    pub impressum: Option<Spanned<String>>,
    pub datenschutz: Option<Spanned<String>>,
    pub footer: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLog {
    pub format: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStories {
    pub enabled: Option<bool>,
    pub window_days: Option<Spanned<i64>>,
    pub min_similarity: Option<Spanned<f64>>,
    pub min_shared_terms: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStorage {
    pub database: Option<String>,
    pub keep_days: Option<Spanned<i64>>,
    pub keep_items_per_source: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFetch {
    pub schedule: Option<Spanned<String>>,
    pub user_agent: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub connect_timeout: Option<Spanned<String>>,
    pub max_body: Option<Spanned<String>>,
    pub max_decompressed: Option<Spanned<String>>,
    pub max_items: Option<Spanned<i64>>,
    pub max_redirects: Option<Spanned<i64>>,
    pub concurrency: Option<Spanned<i64>>,
    pub per_host: Option<Spanned<i64>>,
    pub jitter: Option<Spanned<String>>,
    pub host_spacing: Option<Spanned<String>>,
    pub max_backoff: Option<Spanned<String>>,
    pub max_interval: Option<Spanned<String>>,
    pub allow_networks: Option<Vec<Spanned<String>>>,
    pub backfill_pages: Option<Spanned<i64>>,
    pub article_pages: Option<Spanned<i64>>,
    pub poll_deadline: Option<Spanned<String>>,
    pub proxy: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub id: Spanned<String>,
    pub name: Option<String>,
    pub url: Spanned<String>,
    pub kind: Option<Spanned<String>>,
    pub schedule: Option<Spanned<String>>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub homepage: Option<Spanned<String>>,
    pub enabled: Option<bool>,
    pub selectors: Option<RawSelectors>,
    /// Read each teaser item's article page for its full text (feed sources).
    pub full_text: Option<bool>,
    /// The element holding the body on article pages, where the automatic choice is wrong.
    pub content: Option<Spanned<String>>,
    /// Elements removed from article bodies (share boxes, ads, "read also").
    #[serde(default)]
    pub remove: Vec<Spanned<String>>,
    #[serde(default, rename = "rule")]
    pub rules: Vec<RawRule>,
    /// Extra request headers, name → value.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, Spanned<String>>,
    /// Cookies sent with every request to the source's origin, name → value.
    #[serde(default)]
    pub cookies: std::collections::BTreeMap<String, Spanned<String>>,
    pub basic_auth: Option<Spanned<RawBasicAuth>>,
    pub bearer: Option<Spanned<RawBearer>>,
}

/// `basic_auth = { user = "…", password_env = "…" }`: the password from
/// exactly one of `password_env`, `password_file` or (warned) `password`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBasicAuth {
    pub user: Spanned<String>,
    pub password: Option<Spanned<String>>,
    pub password_env: Option<Spanned<String>>,
    pub password_file: Option<Spanned<String>>,
}

/// `bearer = { token_env = "…" }`: the token from exactly one of
/// `token_env`, `token_file` or (warned) `token`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBearer {
    pub token: Option<Spanned<String>>,
    pub token_env: Option<Spanned<String>>,
    pub token_file: Option<Spanned<String>>,
}

/// CSS selectors for an HTML listing where automatic reading is wrong.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSelectors {
    pub item: Spanned<String>,
    pub title: Option<Spanned<String>>,
    pub link: Option<Spanned<String>>,
    pub date: Option<Spanned<String>>,
    pub date_format: Option<Spanned<String>>,
    pub summary: Option<Spanned<String>>,
    pub author: Option<Spanned<String>>,
    pub content: Option<Spanned<String>>,
    pub follow: Option<bool>,
}
