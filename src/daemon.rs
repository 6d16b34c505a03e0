//! The running daemon: one task per source that sleeps until its next poll,
//! a renderer that re-renders the served site after changes, the HTTP
//! server, config reloads, and a clean shutdown. `run` takes its shutdown
//! trigger as an argument so tests can stop it.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::{Config, SourceConfig};
use crate::schedule;
use crate::serve::ClientLimits;

/// How long in-flight polls may finish after a shutdown request before they are cancelled.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// Changes arriving within this window are rendered once.
const RENDER_DEBOUNCE: Duration = Duration::from_millis(200);

/// Signals the renderer what to render: everything (the config changed),
/// the feeds of the sources whose polls changed items, or only source states.
#[derive(Default)]
struct Dirty {
    notify: Notify,
    all: std::sync::atomic::AtomicBool,
    sources: std::sync::Mutex<HashSet<String>>,
}

impl Dirty {
    fn mark_all(&self) {
        self.all.store(true, std::sync::atomic::Ordering::SeqCst);
        self.notify.notify_one();
    }

    /// After a poll of `source`; `changed`: it brought new, updated or expired items.
    fn mark(&self, source: &str, changed: bool) {
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

struct SourceTask {
    config: SourceConfig,
    cancel: CancellationToken,
    handle: JoinHandle<()>,
}

/// Keeps one polling task per enabled source in line with the config.
struct Scheduler {
    app: Arc<App>,
    dirty: Arc<Dirty>,
    shutdown: CancellationToken,
    tasks: HashMap<String, SourceTask>,
}

impl Scheduler {
    fn reconcile(&mut self, config: &Config) {
        let wanted: HashMap<&str, &SourceConfig> = config
            .sources
            .iter()
            .filter(|s| s.enabled)
            .map(|s| (s.id.as_str(), s))
            .collect();
        let stale: Vec<String> = self
            .tasks
            .iter()
            .filter(|(id, t)| wanted.get(id.as_str()).is_none_or(|w| **w != t.config))
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
                let handle = tokio::spawn(source_loop(
                    self.app.clone(),
                    source.clone(),
                    self.dirty.clone(),
                    cancel.clone(),
                ));
                self.tasks.insert(
                    id.to_string(),
                    SourceTask {
                        config: source.clone(),
                        cancel,
                        handle,
                    },
                );
            }
        }
    }

    async fn shutdown(self) {
        let handles: Vec<JoinHandle<()>> = self.tasks.into_values().map(|t| t.handle).collect();
        for h in handles {
            let _ = h.await;
        }
    }
}

async fn source_loop(
    app: Arc<App>,
    source: SourceConfig,
    dirty: Arc<Dirty>,
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
        let poll = Box::pin(app.poll(&source, false));
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
    }
}

/// Polls that changed nothing but source states (304s, errors) are taken
/// in at most this often (`App::states_changed`: the failing-sources gauge,
/// and the status pages rendered afresh on their next request); with 1,000
/// sources on a 15-minute schedule that is one read of the states per 5 s
/// instead of one per poll. Feed changes never wait.
const STATUS_INTERVAL: Duration = Duration::from_secs(5);

async fn renderer(app: Arc<App>, dirty: Arc<Dirty>, stop: CancellationToken) {
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

/// How long the config file must be quiet before a change is applied:
/// editors write files in several steps.
const CONFIG_DEBOUNCE: Duration = Duration::from_millis(500);

/// Watches the config file and asks for a reload after it changed and has
/// been quiet for a moment. The directory is watched, not the file, because
/// editors replace files by renaming. Keep the returned watcher alive.
pub fn watch_config(
    path: &std::path::Path,
    reload: mpsc::Sender<()>,
) -> notify::Result<notify::RecommendedWatcher> {
    use notify::Watcher;
    let file = path
        .file_name()
        .map(|f| f.to_os_string())
        .unwrap_or_default();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(e) = event {
            let ours = e
                .paths
                .iter()
                .any(|p| p.file_name() == Some(file.as_os_str()));
            let writes = matches!(
                e.kind,
                notify::EventKind::Create(_) | notify::EventKind::Modify(_)
            );
            if ours && writes {
                let _ = tx.send(());
            }
        }
    })?;
    watcher.watch(&dir, notify::RecursiveMode::NonRecursive)?;
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Swallow the burst of events one save produces.
            while let Ok(Some(())) = tokio::time::timeout(CONFIG_DEBOUNCE, rx.recv()).await {}
            tracing::info!("config file changed; reloading");
            if reload.send(()).await.is_err() {
                return;
            }
        }
    });
    Ok(watcher)
}

/// A request to change the running config (from SIGHUP or a file change).
pub type ReloadRequests = mpsc::Receiver<()>;

/// Runs the daemon until `shutdown` completes.
pub async fn run(
    app: Arc<App>,
    listener: TcpListener,
    mut reloads: ReloadRequests,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let stop = CancellationToken::new();
    let dirty = Arc::new(Dirty::default());
    let addr = listener.local_addr()?;

    // Its own token: on shutdown the server stops accepting first, before polls wind down.
    let server_stop = CancellationToken::new();
    let server = tokio::spawn(crate::serve::serve(
        listener,
        app.router(),
        ClientLimits::default(),
        server_stop.clone(),
    ));
    tracing::info!(%addr, "serving feeds");

    let render_task = tokio::spawn(renderer(app.clone(), dirty.clone(), stop.clone()));
    let mut scheduler = Scheduler {
        app: app.clone(),
        dirty: dirty.clone(),
        shutdown: stop.child_token(),
        tasks: HashMap::new(),
    };
    scheduler.reconcile(&app.config());

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(()) = reloads.recv() => reload(&app, &mut scheduler, &dirty, addr).await,
        }
    }

    tracing::info!("shutting down: no new connections; finishing polls");
    server_stop.cancel();
    scheduler.shutdown.cancel();
    scheduler.shutdown().await;
    stop.cancel();
    let _ = render_task.await;
    // `serve` closes lingering connections itself after its drain time.
    if tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .is_err()
    {
        tracing::warn!("server did not stop within 5 s");
    }
    let store = app.store.clone();
    if let Err(e) = store.call(|s| s.checkpoint()).await {
        tracing::warn!(error = %e, "final checkpoint failed (the database is still consistent)");
    }
    tracing::info!("stopped");
    Ok(())
}

async fn reload(
    app: &Arc<App>,
    scheduler: &mut Scheduler,
    dirty: &Dirty,
    listening_on: std::net::SocketAddr,
) {
    let path = app.config().path.clone();
    let config = match Config::load(&path) {
        Ok(c) => c,
        Err(errors) => {
            tracing::error!("config not reloaded, the running config stays in force:\n{errors}");
            return;
        }
    };
    if config.server.listen != listening_on && config.server.listen.port() != 0 {
        tracing::warn!(
            old = %listening_on,
            new = %config.server.listen,
            "server.listen changed: the new address takes effect after a restart"
        );
    }
    if let Err(e) = app.apply_config(config).await {
        tracing::error!(error = %format!("{e:#}"), "config not applied");
        return;
    }
    scheduler.reconcile(&app.config());
    dirty.mark_all();
    tracing::info!(path = %path.display(), "config reloaded");
}
