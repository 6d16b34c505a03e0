//! The renderer task: re-renders the served site after polls changed items
//! (debounced), takes in state-only changes at most every few seconds, and
//! pings the WebSub hubs for the feeds whose bytes changed.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::app::App;

/// Changes arriving within this window are rendered once.
const RENDER_DEBOUNCE: Duration = Duration::from_millis(200);

/// Signals the renderer what to render: everything (the config changed),
/// the feeds of the sources whose polls changed items, or only source states.
#[derive(Default)]
pub(super) struct Dirty {
    notify: Notify,
    all: std::sync::atomic::AtomicBool,
    sources: std::sync::Mutex<HashSet<String>>,
}

impl Dirty {
    pub(super) fn mark_all(&self) {
        self.all.store(true, std::sync::atomic::Ordering::SeqCst);
        self.notify.notify_one();
    }

    /// After a poll of `source`; `changed`: it brought new, updated or expired items.
    pub(super) fn mark(&self, source: &str, changed: bool) {
        if changed {
            self.sources
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(source.to_string());
        }
        self.notify.notify_one();
    }

    fn take(&self) -> (bool, HashSet<String>) {
        let all = self.all.swap(false, std::sync::atomic::Ordering::SeqCst);
        let sources = std::mem::take(&mut *self.sources.lock().unwrap_or_else(|p| p.into_inner()));
        (all, sources)
    }
}

/// Polls that changed nothing but source states (304s, errors) are taken
/// in at most this often (`App::states_changed`: the failing-sources gauge,
/// and the status pages rendered afresh on their next request); with 1,000
/// sources on a 15-minute schedule that is one read of the states per 5 s
/// instead of one per poll. Feed changes never wait.
const STATUS_INTERVAL: Duration = Duration::from_secs(5);

pub(super) async fn renderer(app: Arc<App>, dirty: Arc<Dirty>, stop: CancellationToken) {
    let mut last_status: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = dirty.notify.notified() => {}
            _ = stop.cancelled() => return,
        }
        tokio::time::sleep(RENDER_DEBOUNCE).await;
        let (mut all, mut sources) = dirty.take();
        if !all && sources.is_empty() {
            // Only states changed: wait out the status interval, unless feeds change meanwhile.
            let due = last_status.map_or(tokio::time::Instant::now(), |t| t + STATUS_INTERVAL);
            tokio::select! {
                _ = tokio::time::sleep_until(due) => {}
                _ = dirty.notify.notified() => tokio::time::sleep(RENDER_DEBOUNCE).await,
                _ = stop.cancelled() => return,
            }
            (all, sources) = dirty.take();
        }
        last_status = Some(tokio::time::Instant::now());
        let result = if all {
            app.render().await
        } else if !sources.is_empty() {
            app.render_changed(sources).await
        } else {
            app.states_changed().await.map(|()| Vec::new())
        };
        match result {
            Ok(changed) if !changed.is_empty() => notify_hubs(&app, &changed).await,
            Ok(_) => {}
            // The last good site keeps being served.
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "rendering failed; still serving the previous feeds")
            }
        }
    }
}

/// Tells the configured WebSub hubs which feeds changed.
async fn notify_hubs(app: &Arc<App>, changed: &[String]) {
    let config = app.config();
    if config.feed.hubs.is_empty() {
        return;
    }
    let topics = crate::websub::topics(&crate::publish::public_base(&config), changed);
    match crate::websub::Publisher::new(config.feed.hubs.clone(), &config.fetch.user_agent) {
        Ok(p) => p.publish(&topics).await,
        Err(e) => tracing::warn!(error = %e, "cannot notify WebSub hubs"),
    }
}
