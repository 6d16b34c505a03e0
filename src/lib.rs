//! revierfeed: polls the news of Lausitz partner projects and serves them as
//! one merged feed.
//!
//! Data flows through one module per stage:
//!
//! ```text
//! config ─► schedule ─► fetch ─► extract ─► normalize ─► dedup ─► store ─► publish ─► serve
//! ```
//!
//! - [`config`]: config.toml, validated, with file:line:col errors.
//! - [`schedule`]: cron/interval schedules, jitter, backoff, partner-requested waits.
//! - [`fetch`]: the only network client (conditional GET, limits, SSRF guard).
//! - [`extract`]: feeds (feed-rs), HTML news pages and German dates into raw items.
//! - [`normalize`]: canonical links, clean text, sanitised HTML, field caps.
//! - [`filter`]: operator rules that keep, drop or tag items.
//! - [`dedup`]: item identity within a source.
//! - [`story`]: cross-source story matching (signatures, candidate index).
//! - [`store`]: the SQLite file; the only module that touches it.
//! - [`publish`]: Atom, RSS, JSON Feed and HTML rendered to bytes on change.
//! - [`serve`]: HTTP over the pre-rendered bytes.
//! - [`app`]: one poll end to end, and the state polls and renders share.
//! - [`crawl`]: reading one source: feeds, discovery, HTML listings and article pages.
//! - [`daemon`]: the scheduler tasks, renderer, server and shutdown.
//! - [`tools`]: `discover` and `preview` for operators.
//! - [`portable`]: `export` of the served files, `import-opml` into the config.
//! - [`websub`]: pinging hubs when a feed changes.
//! - [`metrics`]: Prometheus counters.

pub mod app;
pub mod config;
pub mod crawl;
pub mod daemon;
pub mod dedup;
pub mod extract;
pub mod fetch;
pub mod filter;
pub mod metrics;
pub mod model;
pub mod normalize;
pub mod portable;
pub mod publish;
pub mod schedule;
pub mod serve;
pub mod store;
pub mod story;
pub mod text;
pub mod tools;
pub mod websub;
