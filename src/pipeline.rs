//! One source's refresh, top to bottom (Miniflux's `RefreshFeed` is the
//! model): look up what the source remembers → read it over the network
//! (`read`, which extracts) → normalize every item → apply the operator's
//! rules → store the items and how the poll went. Every stage it calls takes
//! plain data and returns plain data; this file is the only place that
//! strings them together, so one source can be followed from config to store
//! here in one sitting.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use url::Url;

use crate::app::{App, describe_store_error};
use crate::config::{Config, SourceConfig};
use crate::extract::Extracted;
use crate::fetch::{DocumentSlot, PollClock, ResponseMeta};
use crate::metrics::{ItemLabels, PollLabels};
use crate::model::{Item, Origin, PageRecord, Resolution, ResolvedKind};
use crate::normalize::{self, FieldLimits};
use crate::read::{Document, Read, ReadError, Reader, Remembered};
use crate::store::{IngestReport, IngestRequest, PollRecord, SourceState, StoreError};
use crate::text::truncate_chars;

/// The parse threads' priority, for a benchmark that parses on threads of
/// its own the way the daemon does (`benches/benchkit.rs`).
pub use crate::read::pool::lower_priority_for_parsing;

/// How one poll ended.
#[derive(Debug, Clone, PartialEq)]
pub enum PollOutcome {
    NotModified,
    Fetched {
        report: IngestReport,
        /// Items the document held beyond `fetch.max_items`.
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

/// One poll of one source, for the scheduler, logs and `fetch --once`.
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
    #[error("the whole poll took longer than {0:?} (fetch.poll_deadline); stopped")]
    Deadline(Duration),
    #[error("source {0} is not registered")]
    NotRegistered(String),
    /// The document arrived (with this HTTP status) but could not be stored.
    #[error("storing items failed: {error}")]
    Storing { error: String, status: u16 },
    #[error("poll task failed: {error}")]
    Task { error: String, status: u16 },
}

impl PollError {
    fn http_status(&self) -> Option<u16> {
        match self {
            PollError::Read(e) => e.http_status(),
            PollError::Storing { status, .. } | PollError::Task { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Polls every enabled source once, concurrently within the fetch limits.
pub async fn refresh_all(
    app: &Arc<App>,
    respect_retry_after: bool,
    on_done: impl Fn(&PollReport),
) -> Vec<PollReport> {
    let config = app.config();
    let mut set = tokio::task::JoinSet::new();
    for source in config.sources.iter().filter(|s| s.enabled) {
        let app = app.clone();
        let source = source.clone();
        set.spawn(async move { refresh_source(&app, &source, respect_retry_after).await });
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

/// Polls one source now. Never fails: every problem ends up in the report
/// and on the source's status row.
pub async fn refresh_source(
    app: &App,
    source: &SourceConfig,
    respect_retry_after: bool,
) -> PollReport {
    let started = Instant::now();
    let outcome = match refresh(app, source, respect_retry_after).await {
        Ok(outcome) => outcome,
        Err(error) => PollOutcome::Failed {
            status: error.http_status(),
            error: error.to_string(),
        },
    };
    let report = PollReport {
        source_id: source.id.clone(),
        outcome,
        elapsed: started.elapsed(),
    };
    count(app, &report);
    report
}

/// The log target of each poll's result line: `fetch --once` prints the
/// results itself and switches this target off, so each shows once.
pub(crate) const POLL_LOG_TARGET: &str = "revierfeed::poll";

/// Logs a poll and counts it in the metrics.
fn count(app: &App, report: &PollReport) {
    match &report.outcome {
        PollOutcome::Failed { error, .. } => {
            tracing::warn!(target: POLL_LOG_TARGET, source = %report.source_id, %error, "poll failed")
        }
        _ => tracing::info!(target: POLL_LOG_TARGET, "{}", report.summary()),
    }
    let metrics = &app.metrics;
    let outcome = match &report.outcome {
        PollOutcome::NotModified => "not_modified",
        PollOutcome::Fetched { report: r, .. } => {
            for (change, n) in [("new", r.new), ("updated", r.updated)] {
                metrics
                    .items
                    .get_or_create(&ItemLabels { change })
                    .inc_by(n as u64);
            }
            "fetched"
        }
        PollOutcome::Deferred { .. } => "deferred",
        PollOutcome::Failed { .. } => "failed",
    };
    metrics.polls.get_or_create(&PollLabels { outcome }).inc();
    if outcome != "deferred" {
        metrics.fetch_seconds.observe(report.elapsed.as_secs_f64());
    }
}

/// The refresh itself; a failure is recorded on the source before it is returned.
async fn refresh(
    app: &App,
    source: &SourceConfig,
    respect_retry_after: bool,
) -> Result<PollOutcome, PollError> {
    let config = app.config();
    let id = source.id.clone();

    // 1. What the source remembers (with polls the database would not take laid over).
    let state = {
        let sid = id.clone();
        app.store.call(move |s| s.source_state(&sid)).await?
    }
    .map(|s| app.overlay(s))
    .ok_or_else(|| PollError::NotRegistered(id.clone()))?;
    let now = Utc::now();
    if respect_retry_after && state.history.consecutive_failures > 0 {
        if let Some(until) = state.history.not_before.filter(|t| *t > now) {
            return Ok(PollOutcome::Deferred { until });
        }
    }

    // 2. Read (and extract) within the poll's deadline. The document slot is
    //    held until this function returns, i.e. until the document is stored.
    let started = Instant::now();
    let remembered = remembered(&state, source);
    let fetcher = app.fetcher();
    let reader = Reader {
        fetcher: &fetcher,
        settings: &config.fetch,
        source,
        remembered: &remembered,
        now,
    };
    let mut _document_slot = None;
    let deadline = config.fetch.poll_deadline;
    // Reading, extracting and normalising share one deadline, counted from
    // the poll's first request (waiting for a turn at a busy origin is not
    // the partner's slowness); storing does not count (a transaction is not
    // abandoned half-way). Work past the deadline is dropped: its requests
    // cancelled, its parsing abandoned (`read::pool`).
    let clock = PollClock::default();
    // Boxed, and boxed inside at each step: every source due at once has a
    // poll waiting for the fetcher's slots, and inline its reading took
    // most of the poll's ~15 KB (BENCHMARKS.md, "Issue 18: memory").
    let read = tokio::select! {
        read = clock.scope(Box::pin(read_to_end(app, &reader, &mut _document_slot))) => read,
        () = clock.elapsed(deadline) => Err(PollError::Deadline(deadline)),
    };
    let record = PollRecord {
        at: now,
        status: None,
        error: None,
        duration_ms: started.elapsed().as_millis() as i64,
        not_before: None,
        validators: None,
        moved_to: None,
        warning: None,
        resolution: None,
    };
    // Storing and recording are boxed: storing's state is most of a poll's,
    // and the polls waiting for a slot should not each hold room for
    // either (see `Reader::read`).
    let unread = match read {
        Ok(ReadToEnd::Document(doc)) => {
            let storing = Box::pin(store_read(
                app,
                &config,
                id,
                doc,
                record,
                (clock, deadline, now),
                _document_slot,
            ));
            return storing.await;
        }
        Ok(ReadToEnd::NotModified(meta)) => Ok(meta),
        Err(e) => Err(e),
    };
    Box::pin(record_unread(app, &config, &id, &state, unread, record)).await
}

/// A poll that brought no document, recorded: its error, or the partner's 304 (`Ok`).
async fn record_unread(
    app: &App,
    config: &Config,
    id: &str,
    state: &SourceState,
    read: Result<ResponseMeta, PollError>,
    mut record: PollRecord,
) -> Result<PollOutcome, PollError> {
    match read {
        Err(e) => {
            if let PollError::Read(r) = &e {
                if r.invalidates_discovery() && state.resolved_kind == Some(ResolvedKind::Feed) {
                    tracing::info!(source = %id, "the discovered feed is gone; discovering again on the next poll");
                    record.resolution = Some(None);
                }
                record.not_before = r.retry_after();
            }
            record.status = e.http_status();
            record.error = Some(e.to_string());
            app.record(id, record).await;
            Err(e)
        }
        Ok(meta) => {
            log_move(id, &meta);
            record.status = Some(304);
            record.not_before = fresh_until(&meta, None, config, record.at);
            record.validators = Some(meta.validators.clone());
            record.moved_to = meta.moved_permanently_to.as_ref().map(Url::to_string);
            app.record(id, record).await;
            Ok(PollOutcome::NotModified)
        }
    }
}

/// A poll's document, from discovery's findings to the stored items;
/// `_document_slot` is held until it is stored.
async fn store_read(
    app: &App,
    config: &Arc<Config>,
    id: String,
    doc: Document,
    mut record: PollRecord,
    (clock, deadline, now): (PollClock, Duration, DateTime<Utc>),
    _document_slot: Option<DocumentSlot>,
) -> Result<PollOutcome, PollError> {
    log_move(&id, &doc.meta);
    for note in &doc.notes {
        tracing::debug!(source = %id, "{note}");
    }
    for problem in &doc.extracted.problems {
        // Read anyway (recovered); the partner should still hear about it.
        tracing::warn!(source = %id, "{problem}");
    }
    let status = doc.meta.status;
    record.status = Some(status);

    // 3. What discovery found is remembered with the items (`ingest_request`).
    match &doc.resolution {
        Some(resolution) if resolution.is_news() => {
            tracing::info!(source = %id, kind = resolution.kind.as_str(), "{}", resolution.how)
        }
        Some(resolution) => {
            tracing::debug!(source = %id, kind = resolution.kind.as_str(), "{}", resolution.how)
        }
        None => {}
    }
    record.moved_to = doc.meta.moved_permanently_to.as_ref().map(Url::to_string);

    // 4. Normalize, apply rules and compute what storing needs that the
    //    database does not (hashes, story signatures) on the parse pool,
    //    within the deadline; then store on the blocking pool, where the
    //    polls waiting for the writer share one transaction.
    let duration_ms = record.duration_ms;
    let (sid, cfg, store) = (id.clone(), config.clone(), app.store.clone());
    let prepared = tokio::select! {
        prepared = crate::read::pool::run(move || {
            let (request, skipped) = ingest_request(&cfg, &sid, doc, now, duration_ms);
            (store.prepare_ingest(request), skipped)
        }) => Some(prepared),
        () = clock.elapsed(deadline) => None,
    };
    let (request, skipped) = match prepared {
        Some(Ok(prepared)) => prepared,
        Some(Err(e)) => {
            let error = PollError::Task {
                error: e.to_string(),
                status,
            };
            record.error = Some(error.to_string());
            app.record(&id, record).await;
            return Err(error);
        }
        None => {
            let error = PollError::Deadline(deadline);
            record.error = Some(error.to_string());
            app.record(&id, record).await;
            return Err(error);
        }
    };
    // Queued before a blocking thread is asked for: every poll ready for
    // the writer joins the next group, however few blocking threads there are.
    let store = app.store.clone();
    let queued = store.enqueue_ingest(request);
    let stored = tokio::task::spawn_blocking(move || {
        store.store_queued(queued).map(|report| (report, skipped))
    })
    .await;
    match stored {
        Ok(Ok((report, skipped))) => {
            app.recorded(&id);
            if report.guid_collision {
                tracing::info!(source = %id, "items share a guid but differ in link; identifying this source's items by link");
            }
            if skipped > 0 {
                tracing::warn!(source = %id, skipped, "document has more items than fetch.max_items; the rest were ignored");
            }
            Ok(PollOutcome::Fetched { report, skipped })
        }
        Ok(Err(e)) => {
            let error = PollError::Storing {
                error: describe_store_error(&e),
                status,
            };
            record.error = Some(error.to_string());
            app.record(&id, record).await;
            Err(error)
        }
        Err(join) => Err(PollError::Task {
            error: join.to_string(),
            status,
        }),
    }
}

/// What the reader needs to know of earlier polls.
fn remembered(state: &SourceState, source: &SourceConfig) -> Remembered {
    Remembered {
        poll_url: Url::parse(state.poll_url())
            .ok()
            .or_else(|| Some(source.url.clone())),
        validators: state.validators.clone(),
        resolved_kind: state.resolved_kind,
        first_poll: state.last_success_at.is_none(),
    }
}

/// Reads a source to its document: a listing goes on to its article pages,
/// with what the store remembers of those pages. Each step is boxed when it
/// is reached: a poll waiting for the fetcher's slots holds only this.
async fn read_to_end(
    app: &App,
    reader: &Reader<'_>,
    slot: &mut Option<DocumentSlot>,
) -> Result<ReadToEnd, PollError> {
    let reading = Box::pin(reader.read(slot));
    let listing = match reading.await? {
        Read::NotModified(meta) => return Ok(ReadToEnd::NotModified(meta)),
        Read::Document(doc) => return Ok(ReadToEnd::Document(doc)),
        Read::Listing(listing) => listing,
    };
    let articles = Box::pin(read_articles(app, reader, listing));
    articles.await
}

/// A listing's article pages, with what the store remembers of them.
async fn read_articles(
    app: &App,
    reader: &Reader<'_>,
    listing: crate::read::ListingRead,
) -> Result<ReadToEnd, PollError> {
    let cache = page_cache(app, &reader.source.id, listing.page_urls()).await?;
    Ok(ReadToEnd::Document(
        reader.read_articles(listing, cache).await?,
    ))
}

/// A source read to the end: nothing new, or a whole document.
// One value per poll, moved once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum ReadToEnd {
    NotModified(ResponseMeta),
    Document(Document),
}

/// The stored article pages of a listing, by URL.
async fn page_cache(
    app: &App,
    source_id: &str,
    urls: Vec<String>,
) -> Result<HashMap<String, PageRecord>, PollError> {
    let id = source_id.to_string();
    Ok(app.store.call(move |s| s.pages(&id, &urls)).await?)
}

/// Normalised items with the rules' verdicts: the one place the two stages meet.
fn prepare_items(
    config: &Config,
    source_id: &str,
    extracted: &Extracted,
    now: DateTime<Utc>,
) -> Vec<Item> {
    let limits = FieldLimits::default();
    extracted
        .items
        .iter()
        .filter_map(|raw| normalize::normalize_item(raw, now, &limits))
        .map(|mut item| {
            let verdict = config.judge(source_id, &item);
            if let Some(why) = &verdict.hidden {
                tracing::debug!(source = %source_id, title = %item.title, "hidden: {why}");
            }
            item.hidden = verdict.hidden;
            item.tags = verdict.tags;
            item
        })
        .collect()
}

/// What the store takes from one read document, and the items over the cap.
fn ingest_request(
    config: &Config,
    source_id: &str,
    doc: Document,
    now: DateTime<Utc>,
    duration_ms: i64,
) -> (IngestRequest, usize) {
    let limits = FieldLimits::default();
    let items = prepare_items(config, source_id, &doc.extracted, now);
    let record = PollRecord {
        at: now,
        status: Some(doc.meta.status),
        error: None,
        duration_ms,
        not_before: fresh_until(&doc.meta, doc.extracted.ttl_minutes, config, now),
        validators: Some(doc.meta.validators.clone()),
        moved_to: doc.meta.moved_permanently_to.as_ref().map(Url::to_string),
        warning: Some(warning(&doc.extracted.problems)),
        resolution: doc.resolution.map(Some),
    };
    let request = IngestRequest {
        source_id: source_id.to_string(),
        items,
        record,
        feed_title: doc
            .extracted
            .title
            .as_deref()
            .map(|t| truncate_chars(t, 200)),
        home_url: doc
            .extracted
            .home
            .as_ref()
            .map(Url::to_string)
            .filter(|u| u.len() <= limits.link_bytes),
        keep_days: config.storage.keep_days,
        keep_items: config.storage.keep_items_per_source,
        pages: doc.pages,
    };
    (request, doc.extracted.skipped)
}

/// What reading a document recovered or lost, in one line for /status.
fn warning(problems: &[String]) -> Option<String> {
    const MAX_CHARS: usize = 600;
    (!problems.is_empty()).then(|| truncate_chars(&problems.join("; "), MAX_CHARS))
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
    /// Where each item's title and date were read, in the order of `items`.
    pub origins: Vec<Origin>,
}

/// Reads a source without storing anything: what `preview` and `discover` show.
/// Always unconditional (a preview never sees "not modified").
pub async fn preview(app: &App, source: &SourceConfig) -> Result<Preview, String> {
    let config = app.config();
    let state = app
        .store
        .source_state(&source.id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("source {} is not registered", source.id))?;
    let remembered = Remembered {
        validators: Default::default(),
        ..remembered(&state, source)
    };
    let fetcher = app.fetcher();
    let now = Utc::now();
    let reader = Reader {
        fetcher: &fetcher,
        settings: &config.fetch,
        source,
        remembered: &remembered,
        now,
    };
    let doc = match read_to_end(app, &reader, &mut None)
        .await
        .map_err(|e| e.to_string())?
    {
        ReadToEnd::NotModified(_) => {
            return Err("the partner answered 304 Not Modified to an unconditional request".into());
        }
        ReadToEnd::Document(doc) => doc,
    };
    // Items that do not normalise are left out of both lists alike.
    let origins = doc
        .extracted
        .items
        .iter()
        .filter(|raw| normalize::normalize_item(raw, now, &FieldLimits::default()).is_some())
        .map(|raw| raw.origin)
        .collect();
    Ok(Preview {
        origins,
        items: prepare_items(&config, &source.id, &doc.extracted, now),
        title: doc.extracted.title,
        notes: doc.notes,
        resolution: doc.resolution,
        final_url: doc.meta.final_url.to_string(),
    })
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
