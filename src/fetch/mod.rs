//! The only network client: polite conditional GETs with hard limits.
//!
//! Redirects are followed by hand (not by reqwest) so that every hop is
//! checked against the network policy, counted, and classified as permanent
//! or temporary. Decompression is done here too, so both the bytes on the
//! wire and the bytes after gunzip/brotli have their own limit.
//!
//! This file holds the client, what it returns and how it fails; its rooms:
//! - `policy`: which addresses and redirect targets a request may reach, also
//!   through an outbound proxy;
//! - `gates`: per-origin slots and spacing, Retry-After holds, document slots;
//! - `clock`: how long a poll has worked (from its first request, waits left out);
//! - `headers`: request headers (a source's own ones and credentials among
//!   them), validators, freshness and Retry-After;
//! - `body`: reading and decompressing a body within its limits.

mod body;
mod clock;
mod gates;
mod headers;
mod policy;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use url::Url;

use crate::config::{FetchSettings, SourceAccess};
use crate::model::Validators;

pub use clock::{PollClock, waiting};
pub use gates::DocumentSlot;
use gates::Gates;
use policy::{GuardedResolver, NetworkPolicy};

/// Facts about a response that the scheduler and the store keep.
#[derive(Debug, Clone)]
pub struct ResponseMeta {
    pub(crate) status: u16,
    /// Where the body came from after all redirects.
    pub(crate) final_url: Url,
    /// Set when the chain began with permanent redirects (301/308): the URL
    /// the source should be polled at from now on.
    pub(crate) moved_permanently_to: Option<Url>,
    pub(crate) validators: Validators,
    /// How long the partner says the response stays fresh (Cache-Control max-age, Expires).
    pub(crate) fresh_for: Option<Duration>,
    pub(crate) content_type: Option<String>,
}

/// A conditional GET's answer: unchanged since the validators we sent, or a body.
#[derive(Debug)]
pub(crate) enum FetchOutcome {
    NotModified(ResponseMeta),
    Fetched { meta: ResponseMeta, body: Bytes },
}

/// Why a request gave no usable answer; the message is shown to the operator.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("HTTP {status}{}", retry_after.map(|t| format!(" (partner asks to wait until {})", t.format("%Y-%m-%d %H:%M:%S UTC"))).unwrap_or_default())]
    Status {
        status: u16,
        retry_after: Option<DateTime<Utc>>,
    },
    #[error("no complete answer within {0:?} (total deadline)")]
    Timeout(Duration),
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    #[error("redirect {status} without a usable Location header")]
    BadRedirect { status: u16 },
    #[error("response body larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("decompressed body larger than the limit of {limit} bytes")]
    DecompressedTooLarge { limit: u64 },
    #[error("unsupported Content-Encoding `{0}`")]
    Encoding(String),
    #[error("corrupt compressed body: {0}")]
    Decompress(String),
    #[error(
        "refused to connect to {addr} ({host}): {why}; allow it with [fetch] allow_networks if this partner is on an intranet"
    )]
    Blocked {
        host: String,
        addr: IpAddr,
        why: &'static str,
    },
    #[error("`{0}` is not an http(s) URL")]
    Scheme(String),
    #[error(
        "not requested: {origin} asked (Retry-After) that no request reach it before {}",
        until.format("%Y-%m-%d %H:%M:%S UTC")
    )]
    HostWaiting {
        origin: String,
        until: DateTime<Utc>,
    },
    #[error("connection failed: {0}")]
    Network(String),
}

impl FetchError {
    /// When the partner asked us to come back (429/503 with Retry-After).
    pub(crate) fn retry_after(&self) -> Option<DateTime<Utc>> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            FetchError::HostWaiting { until, .. } => Some(*until),
            _ => None,
        }
    }

    /// The status of a non-success answer; `None` when there was no answer.
    pub(crate) fn http_status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The hard limits of one request, from `[fetch]`.
#[derive(Debug, Clone)]
struct Limits {
    timeout: Duration,
    max_body_bytes: u64,
    max_decompressed_bytes: u64,
    max_redirects: usize,
}

/// The HTTP client every request goes through, so that policy, limits and
/// politeness hold for all of them; rebuilt when `[fetch]` changes.
pub struct Fetcher {
    client: reqwest::Client,
    policy: Arc<NetworkPolicy>,
    /// Requests may go through a proxy, which resolves the target's name
    /// itself: each target is then resolved and judged here first.
    proxied: bool,
    limits: Limits,
    gates: Gates,
}

/// What a request is for; decides the Accept header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    Feed,
    Page,
}

impl Fetcher {
    /// A client for `settings`; errs when reqwest cannot build one.
    pub(crate) fn new(settings: &FetchSettings) -> anyhow::Result<Fetcher> {
        // reqwest is built without a bundled crypto provider; ring is the small one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let proxies = policy::proxy_servers(settings.proxy.as_ref());
        let policy = Arc::new(NetworkPolicy::new(settings.allow_networks.clone()));
        let mut builder = reqwest::Client::builder();
        builder = match &settings.proxy {
            // The key replaces the variables' proxies; NO_PROXY still exempts hosts.
            Some(p) => builder
                .proxy(reqwest::Proxy::all(p.as_str())?.no_proxy(reqwest::NoProxy::from_env())),
            // reqwest reads HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY itself.
            None if !proxies.is_empty() => builder,
            None => builder.no_proxy(),
        };
        let client = builder
            .user_agent(settings.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.timeout)
            // A connection is worth keeping only within one poll (an HTML source's listing
            // and article pages); polls of one origin are minutes apart, and an idle
            // connection holds its read buffer, sized by the last body (1,000 of them
            // were ~40 MB in a cycle over 1,000 sources).
            .pool_idle_timeout(Duration::from_secs(2))
            .pool_max_idle_per_host(2)
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
                // The operator chose the proxy: it may live on a private network.
                trusted: proxies
                    .iter()
                    .filter_map(|p| p.host_str().map(str::to_ascii_lowercase))
                    .collect(),
            }))
            .build()?;
        Ok(Fetcher {
            client,
            policy,
            proxied: !proxies.is_empty(),
            limits: Limits {
                timeout: settings.timeout,
                max_body_bytes: settings.max_body_bytes,
                max_decompressed_bytes: settings.max_decompressed_bytes,
                max_redirects: settings.max_redirects,
            },
            gates: Gates::new(
                settings.concurrency,
                settings.per_host,
                settings.host_spacing,
            ),
        })
    }

    /// Holds back every request to `url`'s origin until `until`, as a
    /// Retry-After from it does; for holds remembered across a restart or
    /// a new client after a reload.
    pub(crate) fn hold_back(&self, url: &Url, until: DateTime<Utc>) {
        if until > Utc::now() {
            self.gates.hold_back(url, until);
        }
    }

    /// A conditional GET of `url`, within the total deadline, which counts
    /// only time a request is out (sent, answered, read), never the wait
    /// for a slot or the origin's spacing.
    pub(crate) async fn get(
        &self,
        url: &Url,
        validators: &Validators,
        want: Want,
    ) -> Result<FetchOutcome, FetchError> {
        self.get_held(url, validators, want, None, None, false)
            .await
    }

    /// `get` for one source: its headers, credentials and cookies go along
    /// to its own origin (never to another one a redirect leads to).
    pub(crate) async fn get_as(
        &self,
        url: &Url,
        validators: &Validators,
        want: Want,
        access: &SourceAccess,
    ) -> Result<FetchOutcome, FetchError> {
        self.get_held(url, validators, want, None, Some(access), false)
            .await
    }

    /// `get` for a poll's document: also takes a document slot into `hold`,
    /// which the poll keeps until the document is stored, so that at most a
    /// small multiple of `concurrency` documents are between request and
    /// storage (`gates`). With `alone` (the poll sends no other request: a
    /// feed), the connection is closed after the answer instead of kept idle.
    pub(crate) async fn get_document(
        &self,
        url: &Url,
        validators: &Validators,
        want: Want,
        hold: &mut Option<DocumentSlot>,
        access: &SourceAccess,
        alone: bool,
    ) -> Result<FetchOutcome, FetchError> {
        self.get_held(url, validators, want, Some(hold), Some(access), alone)
            .await
    }

    async fn get_held(
        &self,
        url: &Url,
        validators: &Validators,
        want: Want,
        mut hold: Option<&mut Option<DocumentSlot>>,
        access: Option<&SourceAccess>,
        alone: bool,
    ) -> Result<FetchOutcome, FetchError> {
        let mut current = url.clone();
        let mut moved_permanently_to = None;
        let mut still_permanent = true;
        let mut hops = 0;
        // The total deadline's budget, spent only while a request is out.
        let mut left = self.limits.timeout;
        let timed_out = || FetchError::Timeout(self.limits.timeout);
        loop {
            self.policy.check_url(&current)?;
            if self.proxied {
                self.policy.check_resolved(&current).await?;
            }
            self.gates.check_waiting(&current, Utc::now())?;
            let slot = {
                let _waiting = clock::waiting();
                self.gates.enter(&current, hold.as_deref_mut()).await
            };
            clock::mark_sent();
            let sent = tokio::time::Instant::now();
            let deadline = sent + left;
            let mut request = self
                .client
                .get(current.clone())
                .headers(headers::request_headers(validators, want));
            if let Some(access) = access.filter(|a| a.applies_to(&current)) {
                request = headers::with_access(request, access);
            }
            if alone {
                // The poll's only request: its next one is a schedule away,
                // far past the pool's idle timeout, and an idle connection
                // holds buffers (~8 KB each, 1,000 at once in a cycle over
                // 1,000 origins; BENCHMARKS.md, "Issue 18: memory").
                request = request.header(reqwest::header::CONNECTION, "close");
            }
            // Sending and reading are boxed: a request waiting for its slots
            // (every source due at once) holds only what came before.
            let sending = Box::pin(tokio::time::timeout_at(deadline, request.send()));
            let response = sending
                .await
                .map_err(|_| timed_out())?
                .map_err(|e| self.classify(&current, e))?;
            let status = response.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                drop(slot);
                left = left.saturating_sub(sent.elapsed());
                hops += 1;
                if hops > self.limits.max_redirects {
                    return Err(FetchError::TooManyRedirects(self.limits.max_redirects));
                }
                let next = policy::redirect_target(status, response.headers(), &current)?;
                still_permanent &= policy::is_permanent(status);
                if still_permanent {
                    moved_permanently_to = Some(next.clone());
                }
                current = next;
                continue;
            }
            let response_headers = response.headers().clone();
            let meta = |status: u16| ResponseMeta {
                status,
                final_url: current.clone(),
                moved_permanently_to: moved_permanently_to.clone(),
                validators: headers::validators(&response_headers),
                fresh_for: headers::freshness(&response_headers),
                content_type: headers::header_string(
                    &response_headers,
                    reqwest::header::CONTENT_TYPE,
                ),
            };
            if status == StatusCode::NOT_MODIFIED {
                let mut m = meta(304);
                // A 304 may omit validators; the ones we sent stay valid.
                if m.validators.etag.is_none() && m.validators.last_modified.is_none() {
                    m.validators = validators.clone();
                }
                return Ok(FetchOutcome::NotModified(m));
            }
            if !status.is_success() {
                let retry_after = headers::retry_after(&response_headers, Utc::now());
                if let Some(until) = retry_after.filter(|_| {
                    matches!(
                        status,
                        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                    )
                }) {
                    self.gates.hold_back(&current, until);
                }
                return Err(FetchError::Status {
                    status: status.as_u16(),
                    retry_after,
                });
            }
            let reading = Box::pin(tokio::time::timeout_at(
                deadline,
                body::read_body(response, &self.limits),
            ));
            let body = reading.await.map_err(|_| timed_out())??;
            drop(slot);
            return Ok(FetchOutcome::Fetched {
                meta: meta(status.as_u16()),
                body,
            });
        }
    }

    /// reqwest's error as the operator should read it: refused, timed out, or the connection's story.
    fn classify(&self, url: &Url, e: reqwest::Error) -> FetchError {
        if let Some(refused) = policy::refusal_in(&e) {
            return refused;
        }
        if e.is_timeout() {
            return FetchError::Timeout(self.limits.timeout);
        }
        FetchError::Network(format!(
            "{}: {}",
            url.host_str().unwrap_or_default(),
            error_chain(&e)
        ))
    }
}

/// An error and its causes on one line, each text once: reqwest and hyper
/// often repeat a cause's message in their own.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}
