//! One source's poll, start to end (fetch → extract → normalize → store),
//! and the `App` that holds what every poll and every render shares: the
//! current config, the store, the HTTP client and the served site.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use url::Url;

use crate::config::{Config, SourceConfig, SourceKind};
use crate::extract::{self, ExtractError, Extracted};
use crate::fetch::{FetchError, FetchOutcome, Fetcher, ResponseMeta, Want};
use crate::normalize::{self, FieldLimits};
use crate::publish::{self, SiteHandle};
use crate::serve::{self, ServeCounters, ServeState};
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
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Other(String),
}

pub struct App {
    config: RwLock<Arc<Config>>,
    fetcher: RwLock<Arc<Fetcher>>,
    pub store: Store,
    pub site: SiteHandle,
    pub counters: Arc<ServeCounters>,
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
            counters: Arc::default(),
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
    pub fn apply_config(&self, config: Config) -> anyhow::Result<()> {
        let old = self.config();
        self.store.sync_sources(&config.sources)?;
        if old.fetch != config.fetch {
            let fetcher = Fetcher::new(&config.fetch)?;
            *self.fetcher.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fetcher);
        }
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(config);
        Ok(())
    }

    /// The HTTP router over the served site.
    pub fn router(&self) -> axum::Router {
        let config = self.config();
        serve::router(ServeState {
            site: self.site.clone(),
            max_age: feed_max_age(&config),
            cors: config.server.cors,
            counters: self.counters.clone(),
        })
    }

    /// Re-renders every served file from the database (blocking).
    pub fn render_blocking(&self) -> anyhow::Result<()> {
        let site = publish::render_site(&self.config(), &self.store)?;
        self.site.replace(site);
        Ok(())
    }

    pub async fn render(self: &Arc<Self>) -> anyhow::Result<()> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || app.render_blocking()).await?
    }

    /// Re-renders only the status pages (after a poll that changed no items).
    pub async fn render_status(self: &Arc<Self>) -> anyhow::Result<()> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let states = app.store.source_states()?;
            let mut site = (*app.site.get()).clone();
            publish::render_status(&app.config(), &states, &mut site);
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
        if respect_retry_after {
            if let Some(until) = state.history.not_before.filter(|t| *t > now) {
                if state.history.consecutive_failures > 0 {
                    return Ok(PollOutcome::Deferred { until });
                }
            }
        }
        let url = Url::parse(state.poll_url()).unwrap_or_else(|_| source.url.clone());
        let started = Instant::now();
        let fetched = self
            .fetcher()
            .get(&url, &state.validators, Want::Feed)
            .await;
        let duration_ms = started.elapsed().as_millis() as i64;
        let fail =
            |error: PollError, status: Option<u16>, not_before: Option<DateTime<Utc>>| PollRecord {
                at: now,
                status,
                error: Some(error.to_string()),
                duration_ms,
                not_before,
                validators: None,
                moved_to: None,
            };
        match fetched {
            Err(e) => {
                let status = e.http_status();
                let record = fail(PollError::Fetch(e.clone()), status, e.retry_after());
                self.record(&id, record).await;
                Err((e.into(), status))
            }
            Ok(FetchOutcome::NotModified(meta)) => {
                if let Some(to) = &meta.moved_permanently_to {
                    tracing::info!(source = %id, from = %url, to = %to, "partner moved its feed permanently; polling the new address from now on");
                }
                let record = PollRecord {
                    at: now,
                    status: Some(304),
                    error: None,
                    duration_ms,
                    not_before: fresh_until(&meta, None, &config, now),
                    validators: Some(meta.validators.clone()),
                    moved_to: meta.moved_permanently_to.as_ref().map(Url::to_string),
                };
                self.record(&id, record).await;
                Ok(PollOutcome::NotModified)
            }
            Ok(FetchOutcome::Fetched { meta, body }) => {
                if let Some(to) = &meta.moved_permanently_to {
                    tracing::info!(source = %id, from = %url, to = %to, "partner moved its feed permanently; polling the new address from now on");
                }
                let store = self.store.clone();
                let status = Some(meta.status);
                let kind = source.kind;
                let source_id = id.clone();
                let result = tokio::task::spawn_blocking(move || {
                    process_document(
                        &store,
                        &source_id,
                        kind,
                        &body,
                        &meta,
                        &config,
                        now,
                        duration_ms,
                    )
                })
                .await;
                match result {
                    Ok(Ok((report, skipped))) => {
                        if report.guid_collision {
                            tracing::info!(source = %id, "items share a guid but differ in link; identifying this source's items by link");
                        }
                        if skipped > 0 {
                            tracing::warn!(source = %id, skipped, "document has more items than fetch.max_items; the rest were ignored");
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

/// Extract, normalize and store one fetched document (blocking: parsing and
/// SQLite stay off the async threads). A failure is recorded on the source.
#[allow(clippy::too_many_arguments)]
fn process_document(
    store: &Store,
    source_id: &str,
    kind: SourceKind,
    body: &[u8],
    meta: &ResponseMeta,
    config: &Config,
    now: DateTime<Utc>,
    duration_ms: i64,
) -> Result<(IngestReport, usize), PollError> {
    let mut record = PollRecord {
        at: now,
        status: Some(meta.status),
        error: None,
        duration_ms,
        not_before: None,
        validators: None,
        moved_to: meta.moved_permanently_to.as_ref().map(Url::to_string),
    };
    let doc = match extract_document(kind, body, meta, config.fetch.max_items) {
        Ok(doc) => doc,
        Err(e) => {
            // Validators are not stored, so the next poll fetches and parses again.
            record.error = Some(e.to_string());
            store.record_poll(source_id, &record)?;
            return Err(e);
        }
    };
    let limits = FieldLimits::default();
    let items = doc
        .items
        .iter()
        .filter_map(|raw| normalize::normalize_item(raw, now, &limits))
        .collect();
    let success = PollRecord {
        not_before: fresh_until(meta, doc.ttl_minutes, config, now),
        validators: Some(meta.validators.clone()),
        ..record.clone()
    };
    let ingested = store.ingest(IngestRequest {
        source_id: source_id.to_string(),
        items,
        record: success,
        feed_title: doc
            .title
            .as_deref()
            .map(|t| normalize::truncate_chars(t, 200)),
        home_url: doc.home.as_ref().map(Url::to_string),
        keep_days: config.storage.keep_days,
        keep_items: config.storage.keep_items_per_source,
    });
    match ingested {
        Ok(report) => Ok((report, doc.skipped)),
        Err(e) => {
            record.error = Some(format!("storing items failed: {e}"));
            if let Err(again) = store.record_poll(source_id, &record) {
                tracing::error!(source = %source_id, error = %again, "could not record the failed poll either");
            }
            Err(e.into())
        }
    }
}

/// Parses a fetched document according to the source kind.
fn extract_document(
    kind: SourceKind,
    body: &[u8],
    meta: &ResponseMeta,
    max_items: usize,
) -> Result<Extracted, PollError> {
    match kind {
        SourceKind::Feed | SourceKind::Auto => Ok(extract::feed::parse_feed(body, meta.content_type.as_deref(), &meta.final_url, max_items)?),
        SourceKind::Html => Err(PollError::Other(
            "kind = \"html\" sources are not read yet by this version; give the partner's feed URL with kind = \"feed\"".into(),
        )),
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
