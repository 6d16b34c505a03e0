//! The daemon's `run` inside a test, on a loopback port: started, polled
//! through its HTTP base URL, and stopped on request with a clean end checked.

use std::sync::Arc;
use std::time::{Duration, Instant};

use revierfeed::app::App;
use revierfeed::daemon::{ReloadRequests, SHUTDOWN_GRACE};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// What a stop may take beyond the grace: cancelling, the render task and the
/// final WAL checkpoint, on a machine whose two cores other tests share.
pub const STOP_SLACK: Duration = Duration::from_millis(1000);

pub struct InProcessDaemon {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
    /// Kept open so the daemon never sees its reload channel closed.
    _reloads: Option<mpsc::Sender<()>>,
}

impl InProcessDaemon {
    /// Starts the daemon with a reload channel nobody sends on.
    pub async fn start(app: Arc<App>) -> InProcessDaemon {
        let (reload_tx, reload_rx) = mpsc::channel(1);
        let mut daemon = Self::with_reloads(app, reload_rx).await;
        daemon._reloads = Some(reload_tx);
        daemon
    }

    /// Starts the daemon taking reload requests from `reloads`.
    pub async fn with_reloads(app: Arc<App>, reloads: ReloadRequests) -> InProcessDaemon {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(revierfeed::daemon::run(app, listener, reloads, async {
            let _ = stopped.await;
        }));
        InProcessDaemon {
            base,
            stop,
            task,
            _reloads: None,
        }
    }

    /// Asks the daemon to stop; it must end cleanly within the shutdown grace
    /// its polls get, plus [`STOP_SLACK`]. Returns how long it took.
    pub async fn stop(self) -> Duration {
        self.stop.send(()).unwrap();
        let asked = Instant::now();
        let bound = SHUTDOWN_GRACE + STOP_SLACK;
        let ended = tokio::time::timeout(bound, self.task).await;
        assert!(
            matches!(ended, Ok(Ok(Ok(())))),
            "daemon must stop cleanly within the {SHUTDOWN_GRACE:?} grace (+{STOP_SLACK:?}): {ended:?} after {:?}",
            asked.elapsed()
        );
        asked.elapsed()
    }
}

/// The body of a GET of `url` (the daemon must answer).
pub async fn get_text(url: &str) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

/// GETs `url` every 100 ms until `until` accepts the body (20 s at most),
/// and returns that body.
pub async fn wait_for(url: &str, until: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = String::new();
    loop {
        if let Ok(r) = reqwest::get(url).await {
            if let Ok(text) = r.text().await {
                if until(&text) {
                    return text;
                }
                last = text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {url}; last answer:\n{last}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
