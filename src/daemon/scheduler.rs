//! One task per enabled source that sleeps until the source is due (its
//! schedule, jitter, backoff and what the partner allows), polls it through
//! the pipeline, tells the renderer what changed and the alerter how it went.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::alerts::Alerter;
use super::renderer::Dirty;
use crate::app::App;
use crate::config::{Config, SourceConfig};
use crate::{pipeline, schedule};

/// How long in-flight polls may finish after a shutdown request before they are cancelled.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

struct SourceTask {
    /// Shared with the task: 800 bytes that 1,000 sleeping tasks need not each hold inline.
    config: Arc<SourceConfig>,
    cancel: CancellationToken,
    handle: JoinHandle<()>,
}

/// Keeps one polling task per enabled source in line with the config.
pub(super) struct Scheduler {
    app: Arc<App>,
    dirty: Arc<Dirty>,
    alerter: Arc<Alerter>,
    shutdown: CancellationToken,
    tasks: HashMap<String, SourceTask>,
}

impl Scheduler {
    /// No tasks yet; `shutdown` cancels every task it will start.
    pub(super) fn new(
        app: Arc<App>,
        dirty: Arc<Dirty>,
        alerter: Arc<Alerter>,
        shutdown: CancellationToken,
    ) -> Self {
        Scheduler {
            app,
            dirty,
            alerter,
            shutdown,
            tasks: HashMap::new(),
        }
    }

    pub(super) fn reconcile(&mut self, config: &Config) {
        let wanted: HashMap<&str, &SourceConfig> = config
            .sources
            .iter()
            .filter(|s| s.enabled)
            .map(|s| (s.id.as_str(), s))
            .collect();
        let stale: Vec<String> = self
            .tasks
            .iter()
            .filter(|(id, t)| wanted.get(id.as_str()).is_none_or(|w| **w != *t.config))
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            if let Some(t) = self.tasks.remove(&id) {
                t.cancel.cancel();
                if !wanted.contains_key(id.as_str()) {
                    tracing::info!(source = %id, "source removed from config; no longer polled (its items stay stored)");
                }
            }
        }
        for (id, source) in wanted {
            if !self.tasks.contains_key(id) {
                let cancel = self.shutdown.child_token();
                let source = Arc::new(source.clone());
                let handle = tokio::spawn(source_loop(
                    self.app.clone(),
                    source.clone(),
                    self.dirty.clone(),
                    self.alerter.clone(),
                    cancel.clone(),
                ));
                self.tasks.insert(
                    id.to_string(),
                    SourceTask {
                        config: source,
                        cancel,
                        handle,
                    },
                );
            }
        }
    }

    /// Cancels every source task (each gets its grace time) and waits for them.
    pub(super) async fn shutdown(self) {
        self.shutdown.cancel();
        let handles: Vec<JoinHandle<()>> = self.tasks.into_values().map(|t| t.handle).collect();
        for h in handles {
            let _ = h.await;
        }
    }
}

async fn source_loop(
    app: Arc<App>,
    source: Arc<SourceConfig>,
    dirty: Arc<Dirty>,
    alerter: Arc<Alerter>,
    cancel: CancellationToken,
) {
    loop {
        let config = app.config();
        // With polls the database would not take laid over, so a locked or
        // full database backs off like any failure instead of polling in a loop.
        let history = match app.source_state(&source.id).await {
            Ok(Some(state)) => state.history,
            Ok(None) => Default::default(),
            Err(e) => {
                tracing::error!(source = %source.id, error = %e, "cannot read source state; retrying in a minute");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(60)) => continue,
                    _ = cancel.cancelled() => return,
                }
            }
        };
        let now = Utc::now();
        let due = schedule::next_poll(
            &source.id,
            &source.schedule,
            &history,
            config.fetch.jitter,
            config.fetch.max_backoff,
            now,
        );
        let wait = (due - now).to_std().unwrap_or(Duration::ZERO);
        tracing::debug!(source = %source.id, next = %due, "next poll scheduled");
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = cancel.cancelled() => return,
        }
        // Boxed: the poll's state (~7 KB) lives only while it runs, not in
        // every sleeping source task (1,000 sources held ~7 MB for nothing).
        let poll = Box::pin(pipeline::refresh_source(&app, &source, false));
        let grace = async {
            cancel.cancelled().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        let report = tokio::select! {
            r = poll => r,
            _ = grace => {
                tracing::warn!(source = %source.id, "poll cancelled at shutdown");
                return;
            }
        };
        dirty.mark(&source.id, report.changed());
        alerter.observe(
            &app.config(),
            &source,
            history.consecutive_failures,
            &report,
            Utc::now(),
        );
    }
}
