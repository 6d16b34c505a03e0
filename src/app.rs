//! `App`: the state that every poll, every render and the server share — the
//! current config, the store, the HTTP client, the served site and the
//! metrics — and keeping the served site in step with the store. Polling
//! lives in [`crate::pipeline`], scheduling in [`crate::daemon`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use anyhow::Context;
use chrono::Utc;

use crate::config::Config;
use crate::fetch::Fetcher;
use crate::metrics::Metrics;
use crate::publish::{self, SiteHandle};
use crate::serve::{self, ServeState};
use crate::store::{PollRecord, SourceState, Store, StoreError};

/// The daemon's shared state; one per process (or per test), behind an `Arc`.
pub struct App {
    config: RwLock<Arc<Config>>,
    fetcher: RwLock<Arc<Fetcher>>,
    /// The SQLite file; the only way to it.
    pub store: Store,
    /// The pre-rendered feeds and pages the server answers from.
    pub site: SiteHandle,
    pub metrics: Arc<Metrics>,
    /// Polls the database would not take (locked by another process, disk
    /// full), by source. Laid over the stored state so /status still names
    /// the problem and the scheduler still backs off; dropped as soon as a
    /// poll of that source is recorded again.
    unrecorded: Mutex<HashMap<String, Unrecorded>>,
    /// The last config reload, if it failed; shown on /status.
    config_problem: Mutex<Option<publish::ConfigProblem>>,
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

    /// Like [`App::new`] with a store the caller opened (in memory for `preview`).
    pub fn with_store(config: Config, store: Store) -> anyhow::Result<App> {
        store.sync_sources(&config.registrations())?;
        store.set_story_rules(config.stories.clone());
        let fetcher = Fetcher::new(&config.fetch).context("building the HTTP client")?;
        restore_holds(&fetcher, &store.source_states()?);
        let app = App {
            config: RwLock::new(Arc::new(config)),
            fetcher: RwLock::new(Arc::new(fetcher)),
            store,
            site: SiteHandle::default(),
            metrics: Arc::default(),
            unrecorded: Mutex::default(),
            config_problem: Mutex::default(),
        };
        // Rules may have been edited while the daemon was stopped.
        app.rejudge_if_rules_changed(&app.config())?;
        app.render_blocking()?;
        Ok(app)
    }

    /// The config in force now (a reload swaps it; holders keep theirs).
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records how the last config reload went (`Err` with what the operator
    /// should read); /status shows a failure until a reload succeeds.
    pub fn config_reload_result(&self, result: Result<(), String>) {
        let problem = result.err().map(|error| publish::ConfigProblem {
            at: Utc::now(),
            error,
        });
        *self
            .config_problem
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = problem;
        self.site.forget(publish::is_status_path);
    }

    /// The HTTP client for the config in force.
    pub fn fetcher(&self) -> Arc<Fetcher> {
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
            restore_holds(&fetcher, &self.store.source_states()?);
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
            .rejudge(|source, item| config.judge(source, item))?;
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
    /// (same config): their feeds and pages, the archives and the feeds by
    /// query are rendered afresh on
    /// their next request. Returns the feeds whose content changed,
    /// counting every feed of a changed source.
    pub async fn render_changed(
        self: &Arc<Self>,
        changed: HashSet<String>,
    ) -> anyhow::Result<Vec<String>> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
            let mut feeds = app.render_kept()?;
            app.site.forget(|path| publish::stale_after(path, &changed));
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
    pub(crate) fn overlay(&self, mut state: SourceState) -> SourceState {
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

    /// Stores how a poll ended; if the database refuses, keeps it in memory
    /// (see `unrecorded`) so the failure is still shown and backed off from.
    pub(crate) async fn record(&self, id: &str, record: PollRecord) {
        let (sid, rec) = (id.to_string(), record.clone());
        match self.store.call(move |s| s.record_poll(&sid, &rec)).await {
            Ok(()) => self.recorded(id),
            Err(e) => {
                tracing::error!(source = %id, error = %describe_store_error(&e), "could not record the poll in the database; /status shows it from memory");
                let mut unrecorded = self.unrecorded();
                let failed = u32::from(record.error.is_some());
                let failures = unrecorded.get(id).map_or(0, |u| u.failures) + failed;
                unrecorded.insert(id.to_string(), Unrecorded { record, failures });
            }
        }
    }

    /// The database took a poll of `id` (with its items): nothing to lay over any more.
    pub(crate) fn recorded(&self, id: &str) {
        self.unrecorded().remove(id);
    }
}

/// A database error as an operator should read it on /status and in the log.
pub(crate) fn describe_store_error(e: &StoreError) -> String {
    match e.advice() {
        Some(advice) => format!("{e} ({advice})"),
        None => e.to_string(),
    }
}

impl serve::OnRequest for App {
    fn render(&self, path: &str) -> Option<publish::Rendered> {
        let states = || {
            let states = self.source_states_blocking()?;
            self.count_failing(&states);
            Ok(states)
        };
        let problem = self
            .config_problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        publish::render_on_request(&self.config(), &self.store, path, states, problem.as_ref())
            .unwrap_or_else(|e| {
                tracing::error!(path, error = %e, "document could not be rendered");
                None
            })
    }

    fn render_query(
        &self,
        query: &publish::FeedQuery,
    ) -> Result<Option<publish::Rendered>, String> {
        match query.render(&self.config(), &self.store) {
            Ok(rendered) => rendered.map(Some),
            Err(e) => {
                tracing::error!(query = %query.path(), error = %e, "feed by query could not be rendered");
                Ok(None)
            }
        }
    }
}

/// How long readers may cache served feeds: a quarter of the default schedule, 1–15 minutes.
fn feed_max_age(config: &Config) -> std::time::Duration {
    use std::time::Duration;
    let interval = config.fetch.schedule.nominal_interval(Utc::now());
    (interval / 4).clamp(Duration::from_secs(60), Duration::from_secs(900))
}

/// Origins that asked us to wait (Retry-After) stay held back in a new
/// client: after a restart and after a reload that changed `[fetch]`.
fn restore_holds(fetcher: &Fetcher, states: &[crate::store::SourceState]) {
    let now = chrono::Utc::now();
    for (url, until) in states.iter().filter_map(|s| s.origin_hold(now)) {
        if let Ok(url) = url::Url::parse(url) {
            fetcher.hold_back(&url, until);
        }
    }
}
