//! HTTP for readers and partners: every response comes from pre-rendered
//! bytes in memory, with strong ETags, Last-Modified, 304s, gzip when asked,
//! HEAD, and CORS on feeds. Unknown paths 404; nothing maps to the file system.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};

use crate::publish::{Rendered, SiteHandle};

/// What the server needs; cheap to clone.
#[derive(Clone)]
pub struct ServeState {
    pub site: SiteHandle,
    /// Cache-Control max-age for feeds: about the time until the next poll could change them.
    pub max_age: Duration,
    pub cors: bool,
    pub counters: Arc<ServeCounters>,
}

#[derive(Debug, Default)]
pub struct ServeCounters {
    pub ok: AtomicU64,
    pub not_modified: AtomicU64,
    pub not_found: AtomicU64,
}

pub fn router(state: ServeState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .fallback(serve_file)
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
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
        .is_some_and(|since| last_modified <= since)
}

async fn serve_file(State(state): State<ServeState>, req: Request<Body>) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = (StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n").into_response();
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let site = state.site.get();
    let path = req.uri().path();
    let Some(file) = site.files.get(path).or_else(|| {
        site.files
            .get(path.trim_end_matches('/'))
            .filter(|_| path.len() > 1)
    }) else {
        state.counters.not_found.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    let headers = req.headers();
    let gzip = accepts_gzip(headers);
    let is_feed = !file.content_type.starts_with("text/html") || path == "/";
    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, file.content_type)
        .header(
            header::ETAG,
            if gzip {
                file.gzip_etag()
            } else {
                file.etag.clone()
            },
        )
        .header(
            header::LAST_MODIFIED,
            httpdate::fmt_http_date(file.last_modified.into()),
        )
        .header(header::VARY, "Accept-Encoding")
        .header(
            header::CACHE_CONTROL,
            format!("public, max-age={}", state.max_age.as_secs()),
        )
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if state.cors && is_feed {
        builder = builder.header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*");
    }
    if file.content_type.starts_with("text/html") {
        builder = builder.header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src https: http:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        );
    }
    let fresh = match etag_matches(headers, file) {
        Some(matched) => matched,
        None => not_modified_since(headers, file.last_modified),
    };
    if fresh {
        state.counters.not_modified.fetch_add(1, Ordering::Relaxed);
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .expect("valid response");
    }
    state.counters.ok.fetch_add(1, Ordering::Relaxed);
    let body = if gzip {
        builder = builder.header(header::CONTENT_ENCODING, "gzip");
        file.gzip.clone()
    } else {
        file.body.clone()
    };
    builder = builder.header(header::CONTENT_LENGTH, body.len());
    let body = if req.method() == Method::HEAD {
        Body::empty()
    } else {
        Body::from(body)
    };
    builder
        .status(StatusCode::OK)
        .body(body)
        .expect("valid response")
}
