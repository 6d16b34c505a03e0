//! HTTP for readers and partners: every response comes from pre-rendered
//! bytes in memory, with strong ETags, Last-Modified, 304s, gzip when asked,
//! HEAD, and CORS on feeds. Per-source feeds and archive documents (many,
//! and rarely read) are rendered on first request and kept until their data
//! changes. Unknown paths 404; nothing maps to the file system. `serve` owns
//! the listening socket and bounds what one client may hold (header time and
//! size, stalled writes, connections).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};

use crate::metrics::Metrics;
use crate::publish::{FeedQuery, Rendered, SiteHandle};

/// Renders the documents not kept in memory (per-source feeds, archive
/// documents, status pages) when they are requested. The app implements
/// it: it holds the current config and the store, and a status page also
/// updates its metrics. The server only caches what it returns.
pub trait OnRequest: Send + Sync {
    /// The document at `path`, or `None` if there is none. Blocking (it
    /// reads the database): the server calls it on the blocking pool.
    fn render(&self, path: &str) -> Option<Rendered>;

    /// The merged feed narrowed by `query` (`/feed.atom?tag=a`), `Ok(None)`
    /// when it cannot be rendered, `Err` saying what is wrong with the
    /// query (a tag or source nobody configured). Blocking, like `render`.
    fn render_query(&self, query: &FeedQuery) -> Result<Option<Rendered>, String> {
        let _ = query;
        Ok(None)
    }
}

/// What the server needs; cheap to clone.
#[derive(Clone)]
pub struct ServeState {
    site: SiteHandle,
    /// `Cache-Control` of every file: its max-age is about the time until the
    /// next poll could change the feeds.
    cache_control: HeaderValue,
    /// Whether feeds carry `Access-Control-Allow-Origin: *`.
    cors: bool,
    metrics: Arc<Metrics>,
    /// Renders per-source feeds, archives and status pages on request; they are kept in `site`'s cache.
    on_request: Option<Arc<dyn OnRequest>>,
}

impl ServeState {
    /// `max_age` becomes every file's `Cache-Control`; without `on_request`
    /// only the files kept in `site` are served.
    pub fn new(
        site: SiteHandle,
        max_age: Duration,
        cors: bool,
        metrics: Arc<Metrics>,
        on_request: Option<Arc<dyn OnRequest>>,
    ) -> Self {
        ServeState {
            site,
            cache_control: HeaderValue::try_from(format!("public, max-age={}", max_age.as_secs()))
                .expect("digits are valid header text"),
            cors,
            metrics,
            on_request,
        }
    }
}

/// What one HTTP client may hold of the server. `axum::serve` sets none of
/// these (hyper's header timeout needs a timer it does not install), so a
/// client sending one header byte a minute, or never reading its response,
/// would keep a connection and its task forever.
#[derive(Debug, Clone)]
pub struct ClientLimits {
    /// The request line and headers must arrive within this. It also ends
    /// keep-alive connections idle for this long (hyper starts the clock when
    /// it waits for the next request).
    pub header_read_timeout: Duration,
    /// A response write that makes no progress for this long ends the
    /// connection (a client that stopped reading).
    pub write_timeout: Duration,
    /// Largest request line plus headers; more is answered with 431.
    pub max_header_bytes: usize,
    /// Most header fields in one request.
    pub max_headers: usize,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Connections one client address may hold open at once; more are closed
    /// at once, so one client cannot take every slot and make others wait.
    /// An eighth of `max_connections`: a reverse proxy or a NAT puts many
    /// readers behind one address, and at 32, `wrk -c64` from one address
    /// had half its connections closed and reopened in a loop (issue 18).
    pub max_per_client: usize,
    /// After shutdown starts, open connections get this long to finish.
    pub drain: Duration,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            header_read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            max_connections: 512,
            max_per_client: 64,
            drain: Duration::from_secs(2),
        }
    }
}

/// Serves `router` on `listener` until `stop` is cancelled; then stops
/// accepting at once, lets open connections finish for `limits.drain` and
/// closes the rest.
///
/// Connections are served on event loops of their own, one per core, each a
/// single-threaded runtime on its own thread (as nginx runs one worker per
/// core): this task only accepts and hands each connection to the loop
/// serving the fewest. A connection stays on its loop, so answering it never
/// wakes another thread, as two threads of one work-stealing runtime did
/// (BENCHMARKS.md, items 11 and 13); and serving gets every core while the
/// daemon's own runtime keeps one async thread per two cores for polling.
/// Blocking work a request needs (documents rendered on request) still runs
/// on the caller's blocking pool.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ClientLimits,
    stop: CancellationToken,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(limits.max_header_bytes)
        .max_headers(limits.max_headers);
    let blocking = tokio::runtime::Handle::current();
    // Told to stop when `stop` is, or when this task ends without it (dropped).
    let loops_stop = stop.child_token();
    let _stop_loops = loops_stop.clone().drop_guard();
    let mut loops = Vec::new();
    for i in 0..event_loops() {
        match EventLoop::start(i, &http, &router, &limits, &blocking, &loops_stop) {
            Ok(l) => loops.push(l),
            Err(e) => tracing::warn!(error = %e, "starting a serving thread failed"),
        }
    }
    if loops.is_empty() {
        tracing::error!("no serving thread could be started; not serving");
        return;
    }
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_client = Arc::new(PerClient::default());
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = stop.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
                        _ = stop.cancelled() => break,
                    }
                }
            },
            _ = stop.cancelled() => break,
        };
        let Some(client_slot) = per_client.enter(peer.ip(), limits.max_per_client.max(1)) else {
            tracing::debug!(%peer, "client holds too many connections; closing the new one");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        // Moved to its loop's reactor: deregistered here, registered there.
        let Ok(stream) = stream.into_std() else {
            continue;
        };
        let target = loops
            .iter()
            .min_by_key(|l| l.open.load(Ordering::Relaxed))
            .expect("at least one loop");
        target.open.fetch_add(1, Ordering::Relaxed);
        let accepted = Accepted {
            stream,
            peer,
            permit,
            client_slot,
        };
        if target.connections.send(accepted).is_err() {
            target.open.fetch_sub(1, Ordering::Relaxed);
            tracing::warn!("a serving thread ended early; closing the connection");
        }
    }
    drop(listener);
    loops_stop.cancel();
    for l in loops {
        let _ = l.done.await;
    }
}

/// Serving threads: one per core.
fn event_loops() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// An accepted connection with what it holds of the server's limits.
struct Accepted {
    stream: std::net::TcpStream,
    peer: std::net::SocketAddr,
    permit: tokio::sync::OwnedSemaphorePermit,
    client_slot: ClientSlot,
}

/// One serving thread as the accepting task sees it.
struct EventLoop {
    connections: tokio::sync::mpsc::UnboundedSender<Accepted>,
    /// Connections open on this loop; the acceptor picks the loop with fewest.
    open: Arc<AtomicUsize>,
    /// Resolved (or dropped) when the thread has closed its connections.
    done: tokio::sync::oneshot::Receiver<()>,
}

impl EventLoop {
    fn start(
        index: usize,
        http: &hyper::server::conn::http1::Builder,
        router: &Router,
        limits: &ClientLimits,
        blocking: &tokio::runtime::Handle,
        stop: &CancellationToken,
    ) -> std::io::Result<EventLoop> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            // Requests that block run on the caller's pool (`blocking`).
            .max_blocking_threads(1)
            .build()?;
        let (connections, mut incoming) = tokio::sync::mpsc::unbounded_channel::<Accepted>();
        let (finished, done) = tokio::sync::oneshot::channel();
        let open = Arc::new(AtomicUsize::new(0));
        let (http, router, limits, blocking, stop, count) = (
            http.clone(),
            router.clone(),
            limits.clone(),
            blocking.clone(),
            stop.clone(),
            open.clone(),
        );
        std::thread::Builder::new()
            .name(format!("revierfeed-http-{index}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let mut open = JoinSet::new();
                    loop {
                        while open.try_join_next().is_some() {}
                        let accepted = tokio::select! {
                            a = incoming.recv() => match a {
                                Some(a) => a,
                                None => break,
                            },
                            _ = stop.cancelled() => break,
                        };
                        let Ok(stream) = tokio::net::TcpStream::from_std(accepted.stream) else {
                            count.fetch_sub(1, Ordering::Relaxed);
                            continue;
                        };
                        // Large pre-rendered bodies go out with sendfile (`zero_copy`).
                        let mut io =
                            tokio_io_timeout::TimeoutStream::new(crate::zero_copy::connection(stream));
                        io.set_write_timeout(Some(limits.write_timeout));
                        let io = TokioIo::new(Box::pin(io));
                        let service = TowerToHyperService::new(router.clone());
                        let (http, stop, count, blocking) =
                            (http.clone(), stop.clone(), count.clone(), blocking.clone());
                        let peer = accepted.peer;
                        let held = (accepted.permit, accepted.client_slot);
                        open.spawn(BLOCKING.scope(blocking, async move {
                            let _held = held;
                            let conn = http.serve_connection(io, service);
                            tokio::pin!(conn);
                            let ended = tokio::select! {
                                r = conn.as_mut() => r,
                                _ = stop.cancelled() => {
                                    conn.as_mut().graceful_shutdown();
                                    conn.await
                                }
                            };
                            count.fetch_sub(1, Ordering::Relaxed);
                            if let Err(e) = ended {
                                tracing::debug!(%peer, error = %e, "client connection ended with an error");
                            }
                        }));
                    }
                    // Stopped (or the acceptor is gone): open connections finish
                    // their answer and close, or are closed after the drain time.
                    stop.cancel();
                    let drained = tokio::time::timeout(limits.drain, async {
                        while open.join_next().await.is_some() {}
                    })
                    .await;
                    if drained.is_err() {
                        tracing::info!(
                            open = open.len(),
                            "closing client connections still open after the shutdown grace"
                        );
                        open.shutdown().await;
                    }
                });
                let _ = finished.send(());
            })?;
        Ok(EventLoop {
            connections,
            open,
            done,
        })
    }
}

tokio::task_local! {
    /// The runtime whose blocking pool renders documents on request: the
    /// serving threads' own runtimes keep none.
    static BLOCKING: tokio::runtime::Handle;
}

/// Runs `f` on the blocking pool of the runtime that started the server.
async fn spawn_blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    match BLOCKING.try_with(|h| h.clone()) {
        Ok(pool) => pool.spawn_blocking(f).await,
        // Outside `serve` (the router driven directly): the current runtime.
        Err(_) => tokio::task::spawn_blocking(f).await,
    }
}

/// Open connections per client address.
#[derive(Default)]
struct PerClient {
    open: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>,
}

/// One connection counted for its client; uncounted on drop.
struct ClientSlot {
    table: Arc<PerClient>,
    ip: std::net::IpAddr,
}

impl PerClient {
    fn enter(self: &Arc<Self>, ip: std::net::IpAddr, max: usize) -> Option<ClientSlot> {
        let mut open = self.open.lock().expect("per-client table poisoned");
        let n = open.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().expect("per-client table poisoned");
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Every route: `/healthz`, `/metrics`, and the site's files for any other path.
pub fn router(state: ServeState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(serve_file)
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn metrics(State(state): State<ServeState>) -> Response {
    let mut r = state.metrics.encode().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    r
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut it = part.split(';');
            let coding = it.next().unwrap_or("").trim();
            let q_zero = it.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !q_zero
        })
}

/// RFC 9110 13.1.2: If-None-Match uses weak comparison; either encoding's tag matches.
fn etag_matches(headers: &HeaderMap, file: &Rendered) -> Option<bool> {
    let inm = headers.get(header::IF_NONE_MATCH)?.to_str().ok()?;
    let ours = file.etag.trim_matches('"');
    Some(inm.split(',').map(str::trim).any(|tag| {
        if tag == "*" {
            return true;
        }
        let tag = tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"');
        tag == ours || tag.strip_suffix("-gz") == Some(ours)
    }))
}

fn not_modified_since(headers: &HeaderMap, last_modified: DateTime<Utc>) -> bool {
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .map(DateTime::<Utc>::from)
        // A date in the future is no valid validator (RFC 9110 13.1.3):
        // ignored — unless it is our own Last-Modified echoed back (a render
        // that changed a document moves it a second ahead, see `Site`).
        .filter(|since| *since <= Utc::now() || *since == last_modified)
        .is_some_and(|since| last_modified <= since)
}

fn status(state: &ServeState, code: StatusCode, text: &'static str) -> Response {
    state.metrics.served(code.as_u16());
    (code, text).into_response()
}

/// A document rendered on request: from the cache, or rendered now and kept.
async fn on_request(state: &ServeState, path: &str) -> Option<Arc<Rendered>> {
    let renderer = state.on_request.clone()?;
    if !crate::publish::rendered_on_request(path) {
        return None;
    }
    if let Some(file) = state.site.cached(path) {
        return Some(file);
    }
    let generation = state.site.cache_generation();
    let owned = path.to_string();
    let file = Arc::new(
        spawn_blocking(move || renderer.render(&owned))
            .await
            .ok()??,
    );
    state.site.keep(path, file.clone(), generation);
    Some(file)
}

/// A feed by query: from the cache under its canonical path, or rendered
/// now and kept; `Err` says why the query is refused.
async fn query_feed(state: &ServeState, query: FeedQuery) -> Result<Option<Arc<Rendered>>, String> {
    let Some(renderer) = state.on_request.clone() else {
        return Ok(None);
    };
    let key = query.path();
    if let Some(file) = state.site.cached(&key) {
        return Ok(Some(file));
    }
    let generation = state.site.cache_generation();
    let rendered = spawn_blocking(move || renderer.render_query(&query))
        .await
        .map_err(|_| "the feed could not be rendered".to_string())??;
    let Some(file) = rendered.map(Arc::new) else {
        return Ok(None);
    };
    state.site.keep(&key, file.clone(), generation);
    Ok(Some(file))
}

/// 400 with the reason as plain text (never reflected as markup).
fn bad_request(state: &ServeState, why: String) -> Response {
    state.metrics.served(400);
    let mut r = (StatusCode::BAD_REQUEST, format!("{why}\n")).into_response();
    r.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

async fn serve_file(State(state): State<ServeState>, req: Request<Body>) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = status(
            &state,
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD\n",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let site = state.site.get();
    let path = req.uri().path();
    // A query on the merged feed selects stories; on other paths it is ignored.
    let query = req
        .uri()
        .query()
        .and_then(|q| crate::publish::feed_query(path, q));
    let found = if let Some(query) = query {
        match query {
            Ok(query) => match query_feed(&state, query).await {
                Ok(file) => file,
                Err(why) => return bad_request(&state, why),
            },
            Err(why) => return bad_request(&state, why),
        }
    } else {
        match site.files.get(path).or_else(|| {
            site.files
                .get(path.trim_end_matches('/'))
                .filter(|_| path.len() > 1)
        }) {
            Some(f) => Some(f.clone()),
            None => on_request(&state, path).await,
        }
    };
    let Some(file) = found else {
        return status(&state, StatusCode::NOT_FOUND, "not found\n");
    };
    let request_headers = req.headers();
    let gzip = accepts_gzip(request_headers);
    let is_html = file.content_type.starts_with("text/html");
    // Built from values made once (per render, per server): see `ValidatorHeaders`.
    let mut headers = HeaderMap::with_capacity(10);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.content_type),
    );
    let validators = &file.headers;
    headers.insert(
        header::ETAG,
        if gzip {
            validators.gzip_etag.clone()
        } else {
            validators.etag.clone()
        },
    );
    headers.insert(header::LAST_MODIFIED, validators.last_modified.clone());
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    headers.insert(header::CACHE_CONTROL, state.cache_control.clone());
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if state.cors && !is_html {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    if is_html {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; img-src https: http:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            ),
        );
    }
    let fresh = match etag_matches(request_headers, &file) {
        Some(matched) => matched,
        None => not_modified_since(request_headers, file.last_modified()),
    };
    if fresh {
        state.metrics.served(304);
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    state.metrics.served(200);
    let body = if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        file.gzip.clone()
    } else {
        file.body.clone()
    };
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    let body = if req.method() == Method::HEAD {
        Body::empty()
    } else {
        Body::from(body)
    };
    (StatusCode::OK, headers, body).into_response()
}
