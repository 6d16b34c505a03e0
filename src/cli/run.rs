//! `revierfeed run`: the daemon with its runtime, signals (SIGTERM and
//! Ctrl-C stop it, SIGHUP reloads the config) and the config-file watcher.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::mpsc;

use super::Error;
use crate::app::App;
use crate::config::Config;

/// Runs the daemon until SIGTERM or Ctrl-C.
pub(super) async fn run(config: Config) -> Result<ExitCode, Error> {
    let path = config.path.clone();
    let path = path.as_path();
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    let listen = config.server.listen;
    let app = Arc::new(App::new(config)?);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {listen} (server.listen in {})",
                path.display()
            )
        })?;
    let (reload_tx, reload_rx) = mpsc::channel(4);
    // A failing watcher (e.g. inotify limits) leaves SIGHUP as the way to reload.
    let _watcher = crate::daemon::watch_config(path, reload_tx.clone())
        .inspect_err(
            |e| tracing::warn!(error = %e, "not watching the config file; reload with SIGHUP"),
        )
        .ok();
    spawn_reload_signal(reload_tx);
    crate::daemon::run(app, listener, reload_rx, shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

fn spawn_reload_signal(tx: mpsc::Sender<()>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the config");
            let _ = tx.try_send(());
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}

/// The tokio runtime every async command runs on.
pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    // The async threads only poll partners and move bytes (parsing and SQLite
    // run on the blocking threads; readers are served on `serve`'s own event
    // loops, one per core), so half the cores run them; on 2 cores one event
    // loop answered 304s 10–20 % faster than two that woke each other
    // (BENCHMARKS.md). TOKIO_WORKER_THREADS overrides it.
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        builder.worker_threads((cores / 2).max(1));
    }
    Ok(builder
        .enable_all()
        // Blocking work here is SQLite behind one connection, parsing and
        // rendering: more threads than a few only wait for the connection.
        // With tokio's default of 512, a cycle over 1,000 sources ran ~500
        // threads, each with its malloc arena and per-thread sanitiser, and
        // peaked at 141 MB; 16 threads: 94 MB; 4: 83 MB (BENCHMARKS.md).
        .max_blocking_threads(4)
        .build()?)
}
