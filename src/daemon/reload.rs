//! Config reloads without a restart: a watcher on the config file (and
//! SIGHUP, wired by the `run` command) asks; `reload` validates the new file
//! and applies it, or keeps the running config and says why.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::renderer::Dirty;
use super::scheduler::Scheduler;
use crate::app::App;
use crate::config::Config;

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

pub(super) async fn reload(
    app: &Arc<App>,
    scheduler: &mut Scheduler,
    dirty: &Dirty,
    listening_on: std::net::SocketAddr,
) {
    let path = app.config().path.clone();
    let config = match Config::load(&path) {
        Ok(c) => {
            for w in &c.warnings {
                tracing::warn!("{w}");
            }
            c
        }
        Err(errors) => {
            tracing::error!("config not reloaded, the running config stays in force:\n{errors}");
            app.config_reload_result(Err(errors.to_string()));
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
    if config.log != app.config().log {
        tracing::warn!("log.format changed: the new format takes effect after a restart");
    }
    if let Err(e) = app.apply_config(config).await {
        tracing::error!(error = %format!("{e:#}"), "config not applied");
        app.config_reload_result(Err(format!("{e:#}")));
        return;
    }
    app.config_reload_result(Ok(()));
    scheduler.reconcile(&app.config());
    dirty.mark_all();
    tracing::info!(path = %path.display(), "config reloaded");
}
