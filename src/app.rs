//! One source's poll, start to end (fetch → extract → normalize → store),
//! and the `App` that holds what every poll and every render shares: the
//! current config, the store, the HTTP client and the served site.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use url::Url;

use crate::config::{Config, SourceConfig};
use crate::crawl::{Document, Read, ReadError, Reader};
use crate::fetch::{Fetcher, ResponseMeta};
use crate::filter;
use crate::metrics::{ItemLabels, Metrics, PollLabels};
use crate::model::{Item, Resolution, ResolvedKind};
use crate::normalize::{self, FieldLimits};
use crate::publish::{self, SiteHandle};
use crate::serve::{self, ServeState};
use crate::store::{IngestReport, IngestRequest, PollRecord, SourceState, Store, StoreError};

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
    pub resolution: Option<Resolution>,
    pub final_url: String,
    pub items: Vec<Item>,
}

pub struct App {
    config: RwLock<Arc<Config>>,
    fetcher: RwLock<Arc<Fetcher>>,
    pub store: Store,
    pub site: SiteHandle,
    pub metrics: Arc<Metrics>,
    /// Polls the database would not take (locked by another process, disk
    /// full), by source. Laid over the stored state so /status still names
    /// the problem and the scheduler still backs off; dropped as soon as a
    /// poll of that source is recorded again.
    unrecorded: Mutex<HashMap<String, Unrecorded>>,
}

#[derive(Debug, Clone)]
struct Unrecorded {
    record: PollRecord,
    /// Failed polls since the last one the database took.
    failures: u32,
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
        store.sync_sources(&config.registrations())?;
        store.set_story_rules(config.stories.clone());
        let fetcher = Fetcher::new(&config.fetch).context("building the HTTP client")?;
        let app = App {
            config: RwLock::new(Arc::new(config)),
            fetcher: RwLock::new(Arc::new(fetcher)),
            store,
            site: SiteHandle::default(),
            metrics: Arc::default(),
            unrecorded: Mutex::default(),
        };
        // Rules may have been edited while the daemon was stopped.
        app.rejudge_if_rules_changed(&app.config())?;
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
        self.store.sync_sources(&config.registrations())?;
        self.store.set_story_rules(config.stories.clone());
        if old.fetch != config.fetch {
            let fetcher = Fetcher::new(&config.fetch)?;
            *self.fetcher.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fetcher);
        }
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(config.clone());
        self.rejudge_if_rules_changed(&config)?;
        Ok(())
    }

    /// Judges every stored item again when the rules or tags differ from the
    /// ones the stored verdicts were made with (remembered in the database).
    fn rejudge_if_rules_changed(&self, config: &Config) -> anyhow::Result<()> {
        let fingerprint = config.rules_fingerprint();
        if self.store.meta("rules")?.as_deref() == Some(fingerprint.as_str()) {
            return Ok(());
        }
        let changed = self
            .store
            .rejudge(|source, item| judge(config, source, item))?;
        self.store.set_meta("rules", &fingerprint)?;
        if changed > 0 {
            tracing::info!(changed, "rules or tags changed; stored items judged again");
        }
        Ok(())
    }

    /// The HTTP router over the served site.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        let config = self.config();
        serve::router(ServeState::new(
            self.site.clone(),
            feed_max_age(&config),
            config.server.cors,
            self.metrics.clone(),
            Some(self.clone()),
        ))
    }

    /// Re-renders every served file from the database (blocking) and
    /// forgets every document rendered on request; returns the feeds kept
    /// in memory whose content changed.
    pub fn render_blocking(&self) -> anyhow::Result<Vec<String>> {
        let changed = self.render_kept()?;
        self.site.forget(|_| true);
        Ok(changed)
    }

    /// Renders the files kept in memory and puts them in place (blocking);
    /// returns the feeds whose bytes changed. The caller forgets what was
    /// rendered on request and is now stale.
    fn render_kept(&self) -> anyhow::Result<Vec<String>> {
        let states = self.source_states_blocking()?;
        let site = publish::render_site(&self.config(), &self.store, &states)?;
        self.count_failing(&states);
        self.metrics.renders.inc();
        self.metrics.items_stored.set(self.store.item_count()?);
        Ok(self.site.replace(site))
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
            let mut feeds = app.render_kept()?;
            app.site.forget(|path| {
                path.starts_with("/archive/")
                    || publish::is_status_path(path)
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

    /// After polls that changed no items, only source states: the status
    /// pages are rendered afresh on their next request (rendering them after
    /// every such poll was most of an idle daemon's CPU time).
    pub async fn states_changed(self: &Arc<Self>) -> anyhow::Result<()> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            app.count_failing(&app.source_states_blocking()?);
            app.site.forget(publish::is_status_path);
            Ok(())
        })
        .await?
    }

    fn count_failing(&self, states: &[SourceState]) {
        self.metrics
            .sources_failing
            .set(states.iter().filter(|s| s.last_error.is_some()).count() as i64);
    }

    fn unrecorded(&self) -> std::sync::MutexGuard<'_, HashMap<String, Unrecorded>> {
        self.unrecorded.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A stored source state with a poll the database would not take laid over it.
    fn overlay(&self, mut state: SourceState) -> SourceState {
        if let Some(u) = self.unrecorded().get(&state.id) {
            let r = &u.record;
            if state.history.last_attempt.is_none_or(|t| t <= r.at) {
                state.history.last_attempt = Some(r.at);
                state.history.not_before = r.not_before;
                state.history.consecutive_failures = state
                    .history
                    .consecutive_failures
                    .saturating_add(u.failures);
                state.last_status = r.status;
                state.last_error = r.error.clone();
                state.last_duration_ms = Some(r.duration_ms);
            }
        }
        state
    }

    /// One source as the scheduler and /status should see it (blocking).
    pub fn source_state_blocking(&self, id: &str) -> Result<Option<SourceState>, StoreError> {
        Ok(self.store.source_state(id)?.map(|s| self.overlay(s)))
    }

    /// Every active source as /status should show it (blocking).
    pub fn source_states_blocking(&self) -> Result<Vec<SourceState>, StoreError> {
        Ok(self
            .store
            .source_states()?
            .into_iter()
            .map(|s| self.overlay(s))
            .collect())
    }

    /// One source as the scheduler should see it.
    pub async fn source_state(
        self: &Arc<Self>,
        id: &str,
    ) -> Result<Option<SourceState>, StoreError> {
        let (app, id) = (self.clone(), id.to_string());
        tokio::task::spawn_blocking(move || app.source_state_blocking(&id))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
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
            .map(|s| self.overlay(s))
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
        // Every request has its own deadline; an HTML source makes many, so the poll has one too.
        // The document slot is held until this function returns, i.e. until the document is stored.
        let mut _document_slot = None;
        let read = match tokio::time::timeout(
            config.fetch.poll_deadline,
            reader.read_holding(&mut _document_slot),
        )
        .await
        {
            Ok(read) => read,
            Err(_) => Err(ReadError::Deadline(config.fetch.poll_deadline)),
        };
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
                if e.invalidates_discovery() && state.resolved_kind == Some(ResolvedKind::Feed) {
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
                    tracing::info!(source = %id, kind = r.kind.as_str(), "{}", r.how);
                    let (store, sid, r) = (self.store.clone(), id.clone(), r.clone());
                    let stored = store
                        .call(move |s| {
                            s.set_resolution(
                                &sid,
                                Some(r.kind),
                                Some(&r.how),
                                r.fetch_url.as_ref().map(Url::as_str),
                            )
                        })
                        .await;
                    if let Err(e) = stored {
                        // Recorded (or kept in memory) like any failure, so the source backs off.
                        let error = format!("storing items failed: {}", describe_store_error(&e));
                        record.status = Some(doc.meta.status);
                        record.error = Some(error.clone());
                        self.record(&id, record).await;
                        return Err((PollError::Other(error), Some(doc.meta.status)));
                    }
                }
                for note in &doc.notes {
                    tracing::debug!(source = %id, "{note}");
                }
                let status = Some(doc.meta.status);
                let moved_to = doc.meta.moved_permanently_to.as_ref().map(Url::to_string);
                let store = self.store.clone();
                let sid = id.clone();
                let result = tokio::task::spawn_blocking(move || {
                    store_document(&store, &sid, doc, &config, now, duration_ms)
                })
                .await;
                match result {
                    Ok(Ok((report, skipped))) => {
                        self.unrecorded().remove(&id);
                        if report.guid_collision {
                            tracing::info!(source = %source.id, "items share a guid but differ in link; identifying this source's items by link");
                        }
                        if skipped > 0 {
                            tracing::warn!(source = %source.id, skipped, "document has more items than fetch.max_items; the rest were ignored");
                        }
                        Ok(PollOutcome::Fetched { report, skipped })
                    }
                    Ok(Err(e)) => {
                        let error = format!("storing items failed: {}", describe_store_error(&e));
                        record.status = status;
                        record.error = Some(error.clone());
                        record.moved_to = moved_to;
                        self.record(&id, record).await;
                        Err((PollError::Other(error), status))
                    }
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
                    resolution: doc.resolution.clone(),
                    final_url: doc.meta.final_url.to_string(),
                    items,
                })
            }
        }
    }

    /// Stores how a poll ended; if the database refuses, keeps it in memory
    /// (see `unrecorded`) so the failure is still shown and backed off from.
    async fn record(&self, id: &str, record: PollRecord) {
        let (sid, rec) = (id.to_string(), record.clone());
        match self.store.call(move |s| s.record_poll(&sid, &rec)).await {
            Ok(()) => {
                self.unrecorded().remove(id);
            }
            Err(e) => {
                tracing::error!(source = %id, error = %describe_store_error(&e), "could not record the poll in the database; /status shows it from memory");
                let mut unrecorded = self.unrecorded();
                let failed = u32::from(record.error.is_some());
                let failures = unrecorded.get(id).map_or(0, |u| u.failures) + failed;
                unrecorded.insert(id.to_string(), Unrecorded { record, failures });
            }
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
/// async threads). The caller records a failure on the source.
fn store_document(
    store: &Store,
    source_id: &str,
    doc: Document,
    config: &Config,
    now: DateTime<Utc>,
    duration_ms: i64,
) -> Result<(IngestReport, usize), StoreError> {
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
            .map(|t| crate::text::truncate_chars(t, 200)),
        home_url: doc
            .extracted
            .home
            .as_ref()
            .map(Url::to_string)
            .filter(|u| u.len() <= limits.link_bytes),
        keep_days: config.storage.keep_days,
        keep_items: config.storage.keep_items_per_source,
        pages: doc.pages,
    });
    Ok((ingested?, doc.extracted.skipped))
}

/// A database error as an operator should read it on /status and in the log.
fn describe_store_error(e: &StoreError) -> String {
    match e.advice() {
        Some(advice) => format!("{e} ({advice})"),
        None => e.to_string(),
    }
}

/// What the operator's rules say about an item of `source_id`.
fn judge(config: &Config, source_id: &str, item: &Item) -> filter::Verdict {
    match config.source(source_id) {
        Some(s) => filter::judge(item, &s.tags, &config.rules, &s.rules),
        None => filter::judge(item, &[], &config.rules, &[]),
    }
}

fn apply_rules(config: &Config, source_id: &str, mut item: Item) -> Item {
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

impl serve::OnRequest for App {
    fn render(&self, path: &str) -> Option<publish::Rendered> {
        let states = || {
            let states = self.source_states_blocking()?;
            self.count_failing(&states);
            Ok(states)
        };
        publish::render_on_request(&self.config(), &self.store, path, states).unwrap_or_else(|e| {
            tracing::error!(path, error = %e, "document could not be rendered");
            None
        })
    }
}

/// How long readers may cache served feeds: a quarter of the default schedule, 1–15 minutes.
fn feed_max_age(config: &Config) -> Duration {
    let interval = config.fetch.schedule.nominal_interval(Utc::now());
    (interval / 4).clamp(Duration::from_secs(60), Duration::from_secs(900))
}
