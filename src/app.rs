//! One source's poll, start to end (fetch → extract → normalize → store),
//! and the `App` that holds what every poll and every render shares: the
//! current config, the store, the HTTP client and the served site.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use url::Url;

use crate::config::{Config, SourceConfig};
use crate::crawl::{Document, Read, ReadError, Reader};
use crate::fetch::{Fetcher, ResponseMeta};
use crate::filter;
use crate::metrics::{ItemLabels, Metrics, PollLabels};
use crate::normalize::{self, FieldLimits};
use crate::publish::{self, SiteHandle};
use crate::serve::{self, ServeState};
use crate::store::{IngestReport, IngestRequest, PollRecord, Store, StoreError};

/// How one poll ended.
#[derive(Debug, Clone, PartialEq)]
pub enum PollOutcome {
    NotModified,
    Fetched {
        report: IngestReport,
        skipped: usize,
    },
    /// The partner asked us to wait (Retry-After) and that time has not come.
    Deferred {
        until: DateTime<Utc>,
    },
    Failed {
        error: String,
        status: Option<u16>,
    },
}

#[derive(Debug, Clone)]
pub struct PollReport {
    pub source_id: String,
    pub outcome: PollOutcome,
    pub elapsed: Duration,
}

impl PollReport {
    /// Whether the served feeds need re-rendering.
    pub fn changed(&self) -> bool {
        matches!(&self.outcome, PollOutcome::Fetched { report, .. } if report.changed())
    }

    /// One line for logs and `fetch --once`.
    pub fn summary(&self) -> String {
        let ms = self.elapsed.as_millis();
        match &self.outcome {
            PollOutcome::NotModified => format!(
                "{:<24} unchanged (304)                {ms:>6} ms",
                self.source_id
            ),
            PollOutcome::Fetched { report, skipped } => format!(
                "{:<24} ok: {} new, {} updated, {} unchanged{} {ms:>6} ms",
                self.source_id,
                report.new,
                report.updated,
                report.unchanged,
                if *skipped > 0 {
                    format!(", {skipped} over the item cap")
                } else {
                    String::new()
                }
            ),
            PollOutcome::Deferred { until } => format!(
                "{:<24} deferred: partner asked to wait until {}",
                self.source_id,
                until.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            PollOutcome::Failed { error, .. } => {
                format!("{:<24} FAILED: {error} {ms:>6} ms", self.source_id)
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum PollError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Other(String),
}

/// What `preview` shows: the items a source would give, nothing stored.
#[derive(Debug, Clone)]
pub struct Preview {
    /// The feed's or site's own name.
    pub title: Option<String>,
    pub notes: Vec<String>,
    pub resolution: Option<String>,
    pub final_url: String,
    pub items: Vec<normalize::Item>,
}

pub struct App {
    config: RwLock<Arc<Config>>,
    fetcher: RwLock<Arc<Fetcher>>,
    pub store: Store,
    pub site: SiteHandle,
    pub metrics: Arc<Metrics>,
}

impl App {
    /// Opens the database, registers the configured sources and renders what is stored.
    pub fn new(config: Config) -> anyhow::Result<App> {
        let store = Store::open(&config.database_path()).with_context(|| {
            format!("opening the database {}", config.database_path().display())
        })?;
        App::with_store(config, store)
    }

    pub fn with_store(config: Config, store: Store) -> anyhow::Result<App> {
        store.sync_sources(&config.sources)?;
        let fetcher = Fetcher::new(&config.fetch).context("building the HTTP client")?;
        let app = App {
            config: RwLock::new(Arc::new(config)),
            fetcher: RwLock::new(Arc::new(fetcher)),
            store,
            site: SiteHandle::default(),
            metrics: Arc::default(),
        };
        app.render_blocking()?;
        Ok(app)
    }

    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn fetcher(&self) -> Arc<Fetcher> {
        self.fetcher
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Switches to a new validated config; the served site stays until re-rendered.
    /// Source registration and rule re-judging run on the blocking pool.
    pub async fn apply_config(self: &Arc<Self>, config: Config) -> anyhow::Result<()> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || app.apply_config_blocking(config)).await?
    }

    fn apply_config_blocking(&self, config: Config) -> anyhow::Result<()> {
        let old = self.config();
        self.store.sync_sources(&config.sources)?;
        if old.fetch != config.fetch {
            let fetcher = Fetcher::new(&config.fetch)?;
            *self.fetcher.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fetcher);
        }
        let rules_changed = old.rules != config.rules
            || old.sources.len() != config.sources.len()
            || old
                .sources
                .iter()
                .zip(&config.sources)
                .any(|(a, b)| a.id != b.id || a.tags != b.tags || a.rules != b.rules);
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(config.clone());
        if rules_changed {
            let changed = self
                .store
                .rejudge(|source, item| judge(&config, source, item))?;
            tracing::info!(changed, "rules or tags changed; stored items judged again");
        }
        Ok(())
    }

    /// The HTTP router over the served site.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        let config = self.config();
        let app = self.clone();
        let on_request: serve::LazyRenderer = Arc::new(move |path| {
            let config = app.config();
            let rendered = if let Some(page) = serve::archive_page(path) {
                publish::render_archive(&config, &app.store, page)
            } else if let Some((id, ext)) = publish::source_feed_path(path) {
                publish::render_source_feed(&config, &app.store, id, ext)
            } else {
                Ok(None)
            };
            rendered.unwrap_or_else(|e| {
                tracing::error!(path, error = %e, "document could not be rendered");
                None
            })
        });
        serve::router(ServeState::new(
            self.site.clone(),
            feed_max_age(&config),
            config.server.cors,
            self.metrics.clone(),
            Some(on_request),
        ))
    }

    /// Re-renders every served file from the database (blocking) and
    /// forgets every document rendered on request; returns the feeds kept
    /// in memory whose content changed.
    pub fn render_blocking(&self) -> anyhow::Result<Vec<String>> {
        let site = publish::render_site(&self.config(), &self.store)?;
        self.metrics.renders.inc();
        self.metrics.items_stored.set(self.store.item_count()?);
        let changed = self.site.replace(site);
        self.site.forget(|_| true);
        Ok(changed)
    }

    pub async fn render(self: &Arc<Self>) -> anyhow::Result<Vec<String>> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || app.render_blocking()).await?
    }

    /// Re-renders after polls changed the items of the `changed` sources
    /// (same config): their feeds and the archives are rendered afresh on
    /// their next request. Returns the feeds whose content changed,
    /// counting every feed of a changed source.
    pub async fn render_changed(
        self: &Arc<Self>,
        changed: HashSet<String>,
    ) -> anyhow::Result<Vec<String>> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
            let site = publish::render_site(&app.config(), &app.store)?;
            app.metrics.renders.inc();
            app.metrics.items_stored.set(app.store.item_count()?);
            let mut feeds = app.site.replace(site);
            app.site.forget(|path| {
                path.starts_with("/archive/")
                    || publish::source_feed_path(path).is_some_and(|(id, _)| changed.contains(id))
            });
            let mut sources: Vec<String> =
                changed.iter().map(|id| format!("/sources/{id}")).collect();
            sources.sort();
            feeds.extend(sources);
            Ok(feeds)
        })
        .await?
    }

    /// Re-renders only the status pages (after a poll that changed no items).
    pub async fn render_status(self: &Arc<Self>) -> anyhow::Result<()> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let states = app.store.source_states()?;
            let mut site = (*app.site.get()).clone();
            publish::render_status(&app.config(), &states, &mut site);
            app.metrics
                .sources_failing
                .set(states.iter().filter(|s| s.last_error.is_some()).count() as i64);
            app.site.replace(site);
            Ok(())
        })
        .await?
    }

    /// Polls one source now. Never fails: every problem ends up in the report
    /// and on the source's status row.
    pub async fn poll(&self, source: &SourceConfig, respect_retry_after: bool) -> PollReport {
        let started = Instant::now();
        let outcome = match self.poll_inner(source, respect_retry_after).await {
            Ok(outcome) => outcome,
            Err((error, status)) => PollOutcome::Failed {
                error: error.to_string(),
                status,
            },
        };
        let report = PollReport {
            source_id: source.id.clone(),
            outcome,
            elapsed: started.elapsed(),
        };
        match &report.outcome {
            PollOutcome::Failed { error, .. } => {
                tracing::warn!(source = %source.id, %error, "poll failed")
            }
            _ => tracing::info!("{}", report.summary()),
        }
        let outcome = match &report.outcome {
            PollOutcome::NotModified => "not_modified",
            PollOutcome::Fetched { report: r, .. } => {
                self.metrics
                    .items
                    .get_or_create(&ItemLabels { change: "new" })
                    .inc_by(r.new as u64);
                self.metrics
                    .items
                    .get_or_create(&ItemLabels { change: "updated" })
                    .inc_by(r.updated as u64);
                "fetched"
            }
            PollOutcome::Deferred { .. } => "deferred",
            PollOutcome::Failed { .. } => "failed",
        };
        self.metrics
            .polls
            .get_or_create(&PollLabels { outcome })
            .inc();
        if outcome != "deferred" {
            self.metrics
                .fetch_seconds
                .observe(report.elapsed.as_secs_f64());
        }
        report
    }

    async fn poll_inner(
        &self,
        source: &SourceConfig,
        respect_retry_after: bool,
    ) -> Result<PollOutcome, (PollError, Option<u16>)> {
        let config = self.config();
        let id = source.id.clone();
        let state = self
            .store
            .call({
                let id = id.clone();
                move |s| s.source_state(&id)
            })
            .await
            .map_err(|e| (e.into(), None))?
            .ok_or_else(|| {
                (
                    PollError::Other(format!("source {id} is not registered")),
                    None,
                )
            })?;
        let now = Utc::now();
        if respect_retry_after && state.history.consecutive_failures > 0 {
            if let Some(until) = state.history.not_before.filter(|t| *t > now) {
                return Ok(PollOutcome::Deferred { until });
            }
        }
        let started = Instant::now();
        let fetcher = self.fetcher();
        let reader = Reader {
            fetcher: &fetcher,
            store: &self.store,
            config: &config,
            source,
            state: &state,
            now,
        };
        // Held until this function returns, i.e. until the document is stored.
        let mut _document_slot = None;
        let read = reader.read_holding(&mut _document_slot).await;
        let duration_ms = started.elapsed().as_millis() as i64;
        let mut record = PollRecord {
            at: now,
            status: None,
            error: None,
            duration_ms,
            not_before: None,
            validators: None,
            moved_to: None,
        };
        match read {
            Err(e) => {
                if e.invalidates_discovery() && state.resolved_kind.is_some() {
                    tracing::info!(source = %id, "the discovered feed is gone; discovering again on the next poll");
                    let (store, id) = (self.store.clone(), id.clone());
                    let _ = store
                        .call(move |s| s.set_resolution(&id, None, None, None))
                        .await;
                }
                let status = match &e {
                    ReadError::Fetch(f) => f.http_status(),
                    _ => None,
                };
                record.status = status;
                record.error = Some(e.to_string());
                record.not_before = match &e {
                    ReadError::Fetch(f) => f.retry_after(),
                    _ => None,
                };
                self.record(&id, record).await;
                Err((PollError::Read(e), status))
            }
            Ok(Read::NotModified(meta)) => {
                log_move(&id, &meta);
                record.status = Some(304);
                record.not_before = fresh_until(&meta, None, &config, now);
                record.validators = Some(meta.validators.clone());
                record.moved_to = meta.moved_permanently_to.as_ref().map(Url::to_string);
                self.record(&id, record).await;
                Ok(PollOutcome::NotModified)
            }
            Ok(Read::Document(doc)) => {
                log_move(&id, &doc.meta);
                if let Some(r) = &doc.resolution {
                    tracing::info!(source = %id, kind = r.kind, "{}", r.how);
                    let (store, sid, r) = (self.store.clone(), id.clone(), r.clone());
                    store
                        .call(move |s| {
                            s.set_resolution(
                                &sid,
                                Some(r.kind),
                                Some(&r.how),
                                r.fetch_url.as_ref().map(Url::as_str),
                            )
                        })
                        .await
                        .map_err(|e| (e.into(), None))?;
                }
                for note in &doc.notes {
                    tracing::debug!(source = %id, "{note}");
                }
                let status = Some(doc.meta.status);
                let store = self.store.clone();
                let result = tokio::task::spawn_blocking(move || {
                    store_document(&store, &id, doc, &config, now, duration_ms)
                })
                .await;
                match result {
                    Ok(Ok((report, skipped))) => {
                        if report.guid_collision {
                            tracing::info!(source = %source.id, "items share a guid but differ in link; identifying this source's items by link");
                        }
                        if skipped > 0 {
                            tracing::warn!(source = %source.id, skipped, "document has more items than fetch.max_items; the rest were ignored");
                        }
                        Ok(PollOutcome::Fetched { report, skipped })
                    }
                    Ok(Err(error)) => Err((error, status)),
                    Err(join) => Err((
                        PollError::Other(format!("poll task failed: {join}")),
                        status,
                    )),
                }
            }
        }
    }

    /// Reads a source without storing anything: what `preview` shows.
    pub async fn preview(&self, source: &SourceConfig) -> Result<Preview, String> {
        let config = self.config();
        let state = self
            .store
            .source_state(&source.id)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("source {} is not registered", source.id))?;
        // A preview always reads the document, never "not modified".
        let state = crate::store::SourceState {
            validators: Default::default(),
            ..state
        };
        let fetcher = self.fetcher();
        let now = Utc::now();
        let reader = Reader {
            fetcher: &fetcher,
            store: &self.store,
            config: &config,
            source,
            state: &state,
            now,
        };
        match reader.read().await.map_err(|e| e.to_string())? {
            Read::NotModified(_) => {
                Err("the partner answered 304 Not Modified to an unconditional request".into())
            }
            Read::Document(doc) => {
                let limits = FieldLimits::default();
                let items = doc
                    .extracted
                    .items
                    .iter()
                    .filter_map(|raw| normalize::normalize_item(raw, now, &limits))
                    .map(|item| apply_rules(&config, &source.id, item))
                    .collect();
                Ok(Preview {
                    title: doc.extracted.title.clone(),
                    notes: doc.notes.clone(),
                    resolution: doc.resolution.as_ref().map(|r| r.how.clone()),
                    final_url: doc.meta.final_url.to_string(),
                    items,
                })
            }
        }
    }

    async fn record(&self, id: &str, record: PollRecord) {
        let id = id.to_string();
        if let Err(e) = self.store.call(move |s| s.record_poll(&id, &record)).await {
            tracing::error!(error = %e, "could not record a poll in the database");
        }
    }

    /// Polls every enabled source once, concurrently within the fetch limits.
    pub async fn poll_all(
        self: &Arc<Self>,
        respect_retry_after: bool,
        on_done: impl Fn(&PollReport),
    ) -> Vec<PollReport> {
        let config = self.config();
        let mut set = tokio::task::JoinSet::new();
        for source in config.sources.iter().filter(|s| s.enabled) {
            let app = self.clone();
            let source = source.clone();
            set.spawn(async move { app.poll(&source, respect_retry_after).await });
        }
        let mut reports = Vec::new();
        while let Some(r) = set.join_next().await {
            if let Ok(r) = r {
                on_done(&r);
                reports.push(r);
            }
        }
        reports.sort_by(|a, b| a.source_id.cmp(&b.source_id));
        reports
    }
}

/// Normalise and store one read document (blocking: SQLite stays off the
/// async threads). A failure is recorded on the source.
fn store_document(
    store: &Store,
    source_id: &str,
    doc: Document,
    config: &Config,
    now: DateTime<Utc>,
    duration_ms: i64,
) -> Result<(IngestReport, usize), PollError> {
    let limits = FieldLimits::default();
    let items = doc
        .extracted
        .items
        .iter()
        .filter_map(|raw| normalize::normalize_item(raw, now, &limits))
        .map(|item| apply_rules(config, source_id, item))
        .collect();
    let record = PollRecord {
        at: now,
        status: Some(doc.meta.status),
        error: None,
        duration_ms,
        not_before: fresh_until(&doc.meta, doc.extracted.ttl_minutes, config, now),
        validators: Some(doc.meta.validators.clone()),
        moved_to: doc.meta.moved_permanently_to.as_ref().map(Url::to_string),
    };
    let ingested = store.ingest(IngestRequest {
        source_id: source_id.to_string(),
        items,
        record: record.clone(),
        feed_title: doc
            .extracted
            .title
            .as_deref()
            .map(|t| normalize::truncate_chars(t, 200)),
        home_url: doc.extracted.home.as_ref().map(Url::to_string),
        keep_days: config.storage.keep_days,
        keep_items: config.storage.keep_items_per_source,
        pages: doc.pages,
    });
    match ingested {
        Ok(report) => Ok((report, doc.extracted.skipped)),
        Err(e) => {
            let failed = PollRecord {
                error: Some(format!("storing items failed: {e}")),
                validators: None,
                not_before: None,
                ..record
            };
            if let Err(again) = store.record_poll(source_id, &failed) {
                tracing::error!(source = %source_id, error = %again, "could not record the failed poll either");
            }
            Err(e.into())
        }
    }
}

/// What the operator's rules say about an item of `source_id`.
fn judge(config: &Config, source_id: &str, item: &normalize::Item) -> filter::Verdict {
    match config.source(source_id) {
        Some(s) => filter::judge(item, &s.tags, &config.rules, &s.rules),
        None => filter::judge(item, &[], &config.rules, &[]),
    }
}

fn apply_rules(config: &Config, source_id: &str, mut item: normalize::Item) -> normalize::Item {
    let v = judge(config, source_id, &item);
    if let Some(why) = &v.hidden {
        tracing::debug!(source = %source_id, title = %item.title, "hidden: {why}");
    }
    item.hidden = v.hidden;
    item.tags = v.tags;
    item
}

fn log_move(id: &str, meta: &ResponseMeta) {
    if let Some(to) = &meta.moved_permanently_to {
        tracing::info!(source = %id, to = %to, "partner moved permanently (301/308); polling the new address from now on");
    }
}

/// The earliest next poll the partner allows: Cache-Control/Expires or RSS ttl, capped.
fn fresh_until(
    meta: &ResponseMeta,
    ttl_minutes: Option<u32>,
    config: &Config,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let ttl = ttl_minutes.map(|m| Duration::from_secs(u64::from(m) * 60));
    let wait = meta
        .fresh_for
        .into_iter()
        .chain(ttl)
        .max()?
        .min(config.fetch.max_interval);
    Some(now + chrono::Duration::from_std(wait).ok()?)
}

/// How long readers may cache served feeds: a quarter of the default schedule, 1–15 minutes.
fn feed_max_age(config: &Config) -> Duration {
    let interval = config.fetch.schedule.nominal_interval(Utc::now());
    (interval / 4).clamp(Duration::from_secs(60), Duration::from_secs(900))
}
