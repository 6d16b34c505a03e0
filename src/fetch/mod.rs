//! The only network client: polite conditional GETs with hard limits.
//!
//! Redirects are followed by hand (not by reqwest) so that every hop is
//! checked against the network policy, counted, and classified as permanent
//! or temporary. Decompression is done here too, so both the bytes on the
//! wire and the bytes after gunzip/brotli have their own limit.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use ipnet::IpNet;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::io::{AsyncRead, AsyncReadExt, BufReader};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::config::FetchSettings;
use crate::model::Validators;

/// Facts about a response that the scheduler and the store keep.
#[derive(Debug, Clone)]
pub struct ResponseMeta {
    pub status: u16,
    /// Where the body came from after all redirects.
    pub final_url: Url,
    /// Set when the chain began with permanent redirects (301/308): the URL
    /// the source should be polled at from now on.
    pub moved_permanently_to: Option<Url>,
    pub validators: Validators,
    /// How long the partner says the response stays fresh (Cache-Control max-age, Expires).
    pub fresh_for: Option<Duration>,
    pub content_type: Option<String>,
    pub elapsed: Duration,
}

#[derive(Debug)]
pub enum FetchOutcome {
    NotModified(ResponseMeta),
    Fetched { meta: ResponseMeta, body: Bytes },
}

impl FetchOutcome {
    pub fn meta(&self) -> &ResponseMeta {
        match self {
            FetchOutcome::NotModified(m) => m,
            FetchOutcome::Fetched { meta, .. } => meta,
        }
    }
}

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
    pub fn retry_after(&self) -> Option<DateTime<Utc>> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            FetchError::HostWaiting { until, .. } => Some(*until),
            _ => None,
        }
    }

    pub fn http_status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Network policy: no loopback/private/link-local/metadata unless allowed.
// ---------------------------------------------------------------------------

/// Decides which resolved addresses may be connected to.
#[derive(Debug, Clone, Default)]
pub struct NetworkPolicy {
    allow: Vec<IpNet>,
}

impl NetworkPolicy {
    pub fn new(allow: Vec<IpNet>) -> Self {
        NetworkPolicy { allow }
    }

    /// `Err(reason)` when `ip` is in a non-public range that config has not opened.
    pub fn check(&self, ip: IpAddr) -> Result<(), &'static str> {
        let ip = canonical_ip(ip);
        if self.allow.iter().any(|n| n.contains(&ip)) {
            return Ok(());
        }
        match non_public_reason(ip) {
            Some(why) => Err(why),
            None => Ok(()),
        }
    }
}

/// IPv4-mapped and NAT64 IPv6 addresses are judged by the IPv4 address inside.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            let o = v6.octets();
            // NAT64 (64:ff9b::/96) and the deprecated IPv4-compatible form (::a.b.c.d)
            // carry the IPv4 address in the last 32 bits.
            let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0];
            let compatible =
                s[..6] == [0, 0, 0, 0, 0, 0] && !v6.is_loopback() && !v6.is_unspecified();
            if nat64 || compatible {
                return IpAddr::V4(std::net::Ipv4Addr::new(o[12], o[13], o[14], o[15]));
            }
            // 6to4 (2002::/16) carries it in bits 16..48.
            if s[0] == 0x2002 {
                return IpAddr::V4(std::net::Ipv4Addr::new(o[2], o[3], o[4], o[5]));
            }
            IpAddr::V6(v6)
        }
        v4 => v4,
    }
}

fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                Some("loopback address")
            } else if v4.is_private() {
                Some("private network address")
            } else if v4.is_link_local() {
                Some("link-local or cloud metadata address")
            } else if o[0] == 100 && (64..128).contains(&o[1]) {
                Some("carrier-grade NAT address")
            } else if o[0] == 0 || v4.is_broadcast() || v4.is_multicast() || o[0] >= 240 {
                Some("reserved, broadcast or multicast address")
            } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
                Some("IETF protocol assignment address")
            } else if (o[0] == 198 && (o[1] & 0xfe) == 18) || v4.is_documentation() {
                Some("benchmarking or documentation address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if v6.is_loopback() {
                Some("loopback address")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("unspecified or multicast address")
            } else if (s[0] & 0xfe00) == 0xfc00 {
                Some("private network address (unique local)")
            } else if (s[0] & 0xffc0) == 0xfe80 {
                Some("link-local address")
            } else if s[0] == 0x2001 && s[1] == 0x0db8 {
                Some("documentation address")
            } else {
                None
            }
        }
    }
}

/// DNS resolution that drops every address the policy refuses, so a name
/// pointing at 127.0.0.1 or 169.254.169.254 is never connected to.
struct GuardedResolver {
    policy: Arc<NetworkPolicy>,
}

#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to refused addresses ({addr}: {why})")]
struct BlockedByPolicy {
    host: String,
    addr: IpAddr,
    why: &'static str,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| match policy.check(a.ip()) {
                    Ok(()) => true,
                    Err(why) => {
                        refused.get_or_insert((a.ip(), why));
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                if let Some((addr, why)) = refused {
                    return Err(Box::new(BlockedByPolicy { host, addr, why })
                        as Box<dyn std::error::Error + Send + Sync>);
                }
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

// ---------------------------------------------------------------------------
// Politeness: a global cap on requests in flight, and per-origin slots and spacing.
// ---------------------------------------------------------------------------

struct OriginGate {
    slots: Arc<Semaphore>,
    next_start: tokio::sync::Mutex<Instant>,
}

/// Holds the slots a request occupies; released on drop.
pub struct Slot {
    _global: OwnedSemaphorePermit,
    _origin: OwnedSemaphorePermit,
}

/// Held by a poll from its document's request until the document is
/// stored (see `Fetcher::get_document`).
pub struct DocumentSlot {
    _permit: OwnedSemaphorePermit,
}

pub struct Gates {
    global: Arc<Semaphore>,
    /// Polls between their document's request and its storage, at most
    /// `concurrency`: without this bound, a cycle whose fetches outpace the
    /// store queued every fetched and parsed document in memory (180 MiB
    /// for 1,000 sources on loopback, BENCHMARKS.md).
    documents: Arc<Semaphore>,
    per_origin: usize,
    spacing: Duration,
    origins: Mutex<HashMap<String, Arc<OriginGate>>>,
    /// Origins that answered 429/503 with Retry-After, and until when. Kept
    /// per origin, not per source: partners with several feeds on one host
    /// (or one host behind several sources) are held back together.
    waiting: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl Gates {
    pub fn new(concurrency: usize, per_origin: usize, spacing: Duration) -> Self {
        Gates {
            global: Arc::new(Semaphore::new(concurrency.max(1))),
            documents: Arc::new(Semaphore::new(concurrency.max(1))),
            per_origin: per_origin.max(1),
            spacing,
            origins: Mutex::new(HashMap::new()),
            waiting: Mutex::new(HashMap::new()),
        }
    }

    /// Remembers that `url`'s origin asked for no requests before `until`.
    pub fn hold_back(&self, url: &Url, until: DateTime<Utc>) {
        let origin = url.origin().ascii_serialization();
        let mut waiting = self.waiting.lock().expect("waiting map poisoned");
        let entry = waiting.entry(origin).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// `Err` while `url`'s origin has asked us to wait.
    pub fn check_waiting(&self, url: &Url, now: DateTime<Utc>) -> Result<(), FetchError> {
        let origin = url.origin().ascii_serialization();
        let mut waiting = self.waiting.lock().expect("waiting map poisoned");
        match waiting.get(&origin) {
            Some(until) if *until > now => Err(FetchError::HostWaiting {
                origin,
                until: *until,
            }),
            Some(_) => {
                waiting.remove(&origin);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Waits for a global slot, a slot at `url`'s origin, and the origin's
    /// spacing; with `document`, also for a document slot (once per poll),
    /// taken after the origin's so a poll waiting for a busy partner holds none.
    pub async fn enter(&self, url: &Url, document: Option<&mut Option<DocumentSlot>>) -> Slot {
        let origin = url.origin().ascii_serialization();
        let gate = {
            let mut map = self.origins.lock().expect("origin map poisoned");
            map.entry(origin)
                .or_insert_with(|| {
                    Arc::new(OriginGate {
                        slots: Arc::new(Semaphore::new(self.per_origin)),
                        next_start: tokio::sync::Mutex::new(Instant::now()),
                    })
                })
                .clone()
        };
        let origin_permit = gate
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        if let Some(hold) = document.filter(|h| h.is_none()) {
            *hold = Some(DocumentSlot {
                _permit: self
                    .documents
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("never closed"),
            });
        }
        let global_permit = self
            .global
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        if !self.spacing.is_zero() {
            let mut next = gate.next_start.lock().await;
            let now = Instant::now();
            if *next > now {
                tokio::time::sleep_until((*next).into()).await;
            }
            *next = Instant::now() + self.spacing;
        }
        Slot {
            _global: global_permit,
            _origin: origin_permit,
        }
    }
}

// ---------------------------------------------------------------------------
// The client.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Limits {
    pub timeout: Duration,
    pub max_body_bytes: u64,
    pub max_decompressed_bytes: u64,
    pub max_redirects: usize,
}

pub struct Fetcher {
    client: reqwest::Client,
    policy: Arc<NetworkPolicy>,
    limits: Limits,
    gates: Gates,
}

/// What a request is for; decides the Accept header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Feed,
    Page,
}

impl Fetcher {
    pub fn new(settings: &FetchSettings) -> anyhow::Result<Fetcher> {
        // reqwest is built without a bundled crypto provider; ring is the small one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let policy = Arc::new(NetworkPolicy::new(settings.allow_networks.clone()));
        let client = reqwest::Client::builder()
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
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .build()?;
        Ok(Fetcher {
            client,
            policy,
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

    /// A conditional GET of `url`, within the total deadline.
    pub async fn get(
        &self,
        url: &Url,
        validators: &Validators,
        want: Want,
    ) -> Result<FetchOutcome, FetchError> {
        self.get_held(url, validators, want, None).await
    }

    /// `get` for a poll's document: also takes a document slot into `hold`,
    /// which the poll keeps until the document is stored, so that at most
    /// `concurrency` documents are between request and storage.
    pub async fn get_document(
        &self,
        url: &Url,
        validators: &Validators,
        want: Want,
        hold: &mut Option<DocumentSlot>,
    ) -> Result<FetchOutcome, FetchError> {
        self.get_held(url, validators, want, Some(hold)).await
    }

    async fn get_held(
        &self,
        url: &Url,
        validators: &Validators,
        want: Want,
        hold: Option<&mut Option<DocumentSlot>>,
    ) -> Result<FetchOutcome, FetchError> {
        let started = Instant::now();
        match tokio::time::timeout(
            self.limits.timeout,
            self.get_inner(url, validators, want, started, hold),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(self.limits.timeout)),
        }
    }

    async fn get_inner(
        &self,
        url: &Url,
        validators: &Validators,
        want: Want,
        started: Instant,
        mut hold: Option<&mut Option<DocumentSlot>>,
    ) -> Result<FetchOutcome, FetchError> {
        let mut current = url.clone();
        let mut moved_permanently_to = None;
        let mut still_permanent = true;
        let mut hops = 0;
        loop {
            self.check_literal_host(&current)?;
            self.gates.check_waiting(&current, Utc::now())?;
            let slot = self.gates.enter(&current, hold.as_deref_mut()).await;
            let response = self
                .client
                .get(current.clone())
                .headers(request_headers(validators, want))
                .send()
                .await
                .map_err(|e| self.classify(&current, e))?;
            let status = response.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                drop(slot);
                hops += 1;
                if hops > self.limits.max_redirects {
                    return Err(FetchError::TooManyRedirects(self.limits.max_redirects));
                }
                let next = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| current.join(l).ok())
                    .ok_or(FetchError::BadRedirect {
                        status: status.as_u16(),
                    })?;
                let permanent = matches!(
                    status,
                    StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
                );
                still_permanent &= permanent;
                if still_permanent {
                    moved_permanently_to = Some(next.clone());
                }
                current = next;
                continue;
            }
            let headers = response.headers().clone();
            let meta = |status: u16, elapsed| ResponseMeta {
                status,
                final_url: current.clone(),
                moved_permanently_to: moved_permanently_to.clone(),
                validators: Validators {
                    etag: header_string(&headers, header::ETAG),
                    last_modified: header_string(&headers, header::LAST_MODIFIED),
                },
                fresh_for: freshness(&headers),
                content_type: header_string(&headers, header::CONTENT_TYPE),
                elapsed,
            };
            if status == StatusCode::NOT_MODIFIED {
                let mut m = meta(304, started.elapsed());
                // A 304 may omit validators; the ones we sent stay valid.
                if m.validators.etag.is_none() && m.validators.last_modified.is_none() {
                    m.validators = validators.clone();
                }
                return Ok(FetchOutcome::NotModified(m));
            }
            if !status.is_success() {
                let retry_after = retry_after(&headers, Utc::now());
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
            let body = self.read_body(response).await?;
            drop(slot);
            return Ok(FetchOutcome::Fetched {
                meta: meta(status.as_u16(), started.elapsed()),
                body,
            });
        }
    }

    fn check_literal_host(&self, url: &Url) -> Result<(), FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::Scheme(url.to_string()));
        }
        // The resolver never sees IP literals, so they are checked here.
        let ip = match url.host() {
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(url::Host::Domain(_)) => return Ok(()),
            None => return Err(FetchError::Scheme(url.to_string())),
        };
        self.policy.check(ip).map_err(|why| FetchError::Blocked {
            host: url.host_str().unwrap_or_default().to_string(),
            addr: ip,
            why,
        })
    }

    fn classify(&self, url: &Url, e: reqwest::Error) -> FetchError {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(err) = source {
            if let Some(b) = err.downcast_ref::<BlockedByPolicy>() {
                return FetchError::Blocked {
                    host: b.host.clone(),
                    addr: b.addr,
                    why: b.why,
                };
            }
            source = err.source();
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

    async fn read_body(&self, response: reqwest::Response) -> Result<Bytes, FetchError> {
        let limit = self.limits.max_body_bytes;
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        let encoding = header_string(response.headers(), header::CONTENT_ENCODING)
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        // Count wire bytes as they arrive and stop at the limit, whatever Content-Length said.
        let mut wire_bytes = 0u64;
        let stream = response.bytes_stream().map(move |chunk| {
            let chunk = chunk.map_err(std::io::Error::other)?;
            wire_bytes += chunk.len() as u64;
            if wire_bytes > limit {
                return Err(std::io::Error::other(BodyLimit));
            }
            Ok(chunk)
        });
        let raw = BufReader::new(tokio_util::io::StreamReader::new(stream));
        let decoded: Box<dyn AsyncRead + Unpin + Send> = match encoding.as_str() {
            "" | "identity" => Box::new(raw),
            "gzip" | "x-gzip" => {
                // A gzip body may be several members in a row (RFC 1952 2.2).
                let mut d = GzipDecoder::new(raw);
                d.multiple_members(true);
                Box::new(d)
            }
            "br" => Box::new(BrotliDecoder::new(raw)),
            other => return Err(FetchError::Encoding(other.to_string())),
        };
        let decompressed_limit = self.limits.max_decompressed_bytes;
        let mut out = Vec::new();
        let read = decoded
            .take(decompressed_limit + 1)
            .read_to_end(&mut out)
            .await;
        match read {
            Ok(_) if out.len() as u64 > decompressed_limit => {
                Err(FetchError::DecompressedTooLarge {
                    limit: decompressed_limit,
                })
            }
            Ok(_) => Ok(Bytes::from(out)),
            Err(e) if is_body_limit(&e) => Err(FetchError::TooLarge { limit }),
            Err(e) if !encoding.is_empty() && encoding != "identity" && e.get_ref().is_none() => {
                Err(FetchError::Decompress(e.to_string()))
            }
            Err(e) => Err(FetchError::Network(error_chain(&e))),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("body limit reached")]
struct BodyLimit;

fn is_body_limit(e: &std::io::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = e.get_ref().map(|e| e as _);
    while let Some(err) = source {
        if err.is::<BodyLimit>() {
            return true;
        }
        source = err.source();
    }
    false
}

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

fn request_headers(validators: &Validators, want: Want) -> HeaderMap {
    let mut h = HeaderMap::new();
    let accept = match want {
        Want::Feed => {
            "application/atom+xml, application/rss+xml, application/feed+json, application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, text/html;q=0.7, */*;q=0.5"
        }
        Want::Page => "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
    };
    h.insert(header::ACCEPT, HeaderValue::from_static(accept));
    h.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("gzip, br"),
    );
    if let Some(v) = validators
        .etag
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        h.insert(header::IF_NONE_MATCH, v);
    }
    if let Some(v) = validators
        .last_modified
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        h.insert(header::IF_MODIFIED_SINCE, v);
    }
    h
}

fn header_string(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .filter(|s| !s.is_empty() && s.len() <= 1024)
}

/// `Retry-After` as seconds or an HTTP date, capped at a week so a typo can't silence a partner forever.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let cap = now + chrono::Duration::days(7);
    if let Ok(secs) = value.parse::<u64>() {
        return Some((now + chrono::Duration::seconds(secs.min(7 * 86400) as i64)).min(cap));
    }
    let when: DateTime<Utc> = httpdate::parse_http_date(value).ok()?.into();
    Some(when.clamp(now, cap))
}

/// Cache-Control max-age (or Expires minus Date): how long the partner asks us not to re-poll.
pub fn freshness(headers: &HeaderMap) -> Option<Duration> {
    if let Some(cc) = headers
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
    {
        let mut max_age = None;
        for directive in cc.split(',').map(str::trim) {
            let lower = directive.to_ascii_lowercase();
            if lower == "no-cache" || lower == "no-store" {
                return None;
            }
            if let Some(v) = lower.strip_prefix("max-age=") {
                max_age = v.trim_matches('"').parse::<u64>().ok();
            }
        }
        if let Some(secs) = max_age {
            return (secs > 0).then(|| Duration::from_secs(secs));
        }
    }
    let expires = httpdate::parse_http_date(headers.get(header::EXPIRES)?.to_str().ok()?).ok()?;
    let date = headers
        .get(header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .unwrap_or_else(std::time::SystemTime::now);
    expires.duration_since(date).ok().filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_refuses_non_public_ranges_unless_allowed() {
        let strict = NetworkPolicy::default();
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "::7f00:1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::",
        ] {
            assert!(
                strict.check(ip.parse().unwrap()).is_err(),
                "{ip} must be refused"
            );
        }
        for ip in [
            "93.184.216.34",
            "2a00:1450:4001:80b::200e",
            "185.199.108.153",
        ] {
            assert!(strict.check(ip.parse().unwrap()).is_ok(), "{ip} is public");
        }
        let open = NetworkPolicy::new(vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(open.check("127.0.0.2".parse().unwrap()).is_ok());
        assert!(open.check("::ffff:127.0.0.1".parse().unwrap()).is_ok());
        assert!(open.check("10.0.0.1".parse().unwrap()).is_err());
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now: DateTime<Utc> = "2026-03-02T10:00:00Z".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(
            retry_after(&h, now),
            Some(now + chrono::Duration::seconds(120))
        );
        h.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Mon, 02 Mar 2026 11:00:00 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(now + chrono::Duration::hours(1)));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("999999999"));
        assert_eq!(retry_after(&h, now), Some(now + chrono::Duration::days(7)));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
    }

    #[test]
    fn freshness_from_cache_control_or_expires() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        );
        assert_eq!(freshness(&h), Some(Duration::from_secs(300)));
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, max-age=300"),
        );
        assert_eq!(freshness(&h), None);
        let mut h = HeaderMap::new();
        h.insert(
            header::DATE,
            HeaderValue::from_static("Mon, 02 Mar 2026 10:00:00 GMT"),
        );
        h.insert(
            header::EXPIRES,
            HeaderValue::from_static("Mon, 02 Mar 2026 10:30:00 GMT"),
        );
        assert_eq!(freshness(&h), Some(Duration::from_secs(1800)));
    }
}
