//! revierfeed: polls the news of Lausitz partner projects and serves them as
//! one merged feed.
//!
//! # Layout
//!
//! One module per stage, in data-flow order; a stage takes plain data and
//! returns plain data, and lower modules never import higher ones:
//!
//! ```text
//! config ─► schedule ─► fetch ─► read ─► extract ─► normalize ─► filter ─► dedup ─► story ─► store ─► publish ─► serve
//!                                 └──────────── pipeline (one source, top to bottom) ─────────────┘
//! ```
//!
//! - [`allocator`]: jemalloc as the Rust heap, and glibc malloc's arenas, thresholds and trimming for C code.
//! - [`model`]: the types every stage shares (items, source kinds, validators, ids).
//! - [`text`]: plain-text helpers for partner text.
//! - [`config`]: config.toml, validated, with file:line:col errors.
//! - [`schedule`]: cron/interval schedules, jitter, backoff, partner-requested waits.
//! - [`fetch`]: the only network client (conditional GET, limits, SSRF guard).
//! - [`read`]: one source over the network, whatever it is (feed, discovery, listing and article pages).
//! - [`extract`]: feeds (feed-rs), HTML news pages and German dates into raw items.
//! - [`normalize`]: canonical links, clean text, sanitised HTML, field caps.
//! - `simple_markup`: the sanitiser's fast path for HTML that parses as written.
//! - [`filter`]: operator rules that keep, drop or tag items.
//! - [`dedup`]: item identity within a source.
//! - [`story`]: cross-source story matching (analysis, candidate index).
//! - [`store`]: the SQLite file; the only module that touches it.
//! - [`publish`]: Atom, RSS, JSON Feed, OPML and HTML rendered to bytes on change.
//! - [`serve`]: HTTP over the pre-rendered bytes.
//! - [`websub`]: pinging hubs when a feed changes.
//! - [`metrics`]: Prometheus counters.
//! - [`app`]: the state polls, renders and the server share.
//! - [`pipeline`]: `refresh_source()`: read → extract → normalize → rules → store.
//! - [`daemon`]: the scheduler tasks, renderer, reloads and shutdown.
//! - [`cli`]: one file per command.

pub mod allocator;
pub mod markup;
pub mod model;
pub mod text;

pub mod config;
pub mod schedule;

pub(crate) mod fetch;
pub(crate) mod read;

pub mod extract;
pub mod normalize;
pub(crate) mod simple_markup;

pub(crate) mod dedup;
pub(crate) mod filter;
pub mod story;

pub mod store;

pub mod publish;
pub mod serve;
pub(crate) mod websub;
pub mod zero_copy;

pub(crate) mod metrics;

pub mod app;
pub mod pipeline;

pub mod cli;
pub mod daemon;
