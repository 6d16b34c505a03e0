//! The running daemon: one task per source that sleeps until its next poll
//! ([`scheduler`]), a renderer that re-renders the served site after changes
//! ([`renderer`]), alerts on failing and recovered sources ([`alerts`]), the
//! HTTP server, config reloads ([`reload`]), and a clean
//! shutdown. `run` takes its shutdown trigger as an argument so tests can
//! stop it (mini-redis's `server::run`).

mod alerts;
mod reload;
mod renderer;
mod scheduler;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::serve::ClientLimits;
use renderer::{Dirty, renderer};
use scheduler::Scheduler;

pub use reload::{ReloadRequests, watch_config};
pub use scheduler::SHUTDOWN_GRACE;

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
    let alerter = Arc::new(alerts::Alerter::new(&app.config().fetch.user_agent)?);
    let mut scheduler = Scheduler::new(app.clone(), dirty.clone(), alerter, stop.child_token());
    scheduler.reconcile(&app.config());

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(()) = reloads.recv() => reload::reload(&app, &mut scheduler, &dirty, addr).await,
        }
    }

    tracing::info!("shutting down: no new connections; finishing polls");
    server_stop.cancel();
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
