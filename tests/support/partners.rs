//! An in-process partner web server on 127.0.0.1 over the fixtures in
//! tests/fixtures/partners (the same rules as the shared farm: {{BASE}}
//! substitution, per-file content types, strong ETags and 304s), with request
//! counting and per-path overrides for misbehaving partners.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, Request, Response, StatusCode, header};
use sha2::Digest;

use super::answers::{Expected, Snapshot, fixtures, site, try_site};

/// A programmed answer replacing the fixture for one URL.
#[derive(Debug, Clone)]
pub enum Override {
    Body {
        content_type: String,
        body: Vec<u8>,
    },
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    Redirect {
        status: u16,
        location: String,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Hits {
    pub ok: usize,
    pub not_modified: usize,
    pub other: usize,
    /// Headers of the most recent request.
    pub last_headers: Option<HeaderMap>,
}

#[derive(Default)]
struct ServerState {
    hits: HashMap<String, Hits>,
    overrides: HashMap<String, Override>,
    snapshot_polls: HashMap<String, usize>,
}

/// The partner sites, served at `{base}/{site}/...`.
#[derive(Clone)]
pub struct PartnerServer {
    pub base: String,
    state: Arc<Mutex<ServerState>>,
}

/// Last-Modified of every fixture file, as the shared farm sends it.
const LAST_MODIFIED: &str = "Thu, 01 Jan 2026 00:00:00 GMT";

impl PartnerServer {
    pub async fn start() -> PartnerServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = PartnerServer {
            base,
            state: Arc::default(),
        };
        let handler = server.clone();
        let app = axum::Router::new().fallback(move |req: Request<Body>| {
            let h = handler.clone();
            async move { h.handle(req) }
        });
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        server
    }

    /// Absolute URL of a path on a site.
    pub fn url(&self, site: &str, path: &str) -> String {
        format!("{}/{site}{path}", self.base)
    }

    /// The answer key of a site with {{BASE}} filled in.
    pub fn expected(&self, site_name: &str) -> Vec<Expected> {
        site(site_name)
            .expected
            .into_iter()
            .map(|mut e| {
                e.link = e
                    .link
                    .replace("{{BASE}}", &format!("{}/{site_name}", self.base));
                e
            })
            .collect()
    }

    pub fn set(&self, site: &str, path: &str, o: Override) {
        self.state
            .lock()
            .unwrap()
            .overrides
            .insert(format!("/{site}{path}"), o);
    }

    pub fn clear(&self, site: &str, path: &str) {
        self.state
            .lock()
            .unwrap()
            .overrides
            .remove(&format!("/{site}{path}"));
    }

    pub fn hits(&self, site: &str, path: &str) -> Hits {
        self.state
            .lock()
            .unwrap()
            .hits
            .get(&format!("/{site}{path}"))
            .cloned()
            .unwrap_or_default()
    }

    /// Hits of a path outside any site (e.g. `/feed/` at the server root).
    pub fn hits_raw(&self, path: &str) -> Hits {
        self.state
            .lock()
            .unwrap()
            .hits
            .get(path)
            .cloned()
            .unwrap_or_default()
    }

    pub fn reset_hits(&self) {
        self.state.lock().unwrap().hits.clear();
    }

    fn handle(&self, req: Request<Body>) -> Response<Body> {
        let key = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        let answer = self.answer(&key, req.headers());
        let mut state = self.state.lock().unwrap();
        let hits = state.hits.entry(key).or_default();
        match answer.status() {
            StatusCode::OK => hits.ok += 1,
            StatusCode::NOT_MODIFIED => hits.not_modified += 1,
            _ => hits.other += 1,
        }
        hits.last_headers = Some(req.headers().clone());
        answer
    }

    fn answer(&self, key: &str, headers: &HeaderMap) -> Response<Body> {
        let over = self.state.lock().unwrap().overrides.get(key).cloned();
        match over {
            Some(Override::Body { content_type, body }) => {
                return static_answer(body, &content_type, headers);
            }
            Some(Override::Status {
                status,
                headers: extra,
                body,
            }) => {
                let mut r = Response::builder().status(status);
                for (k, v) in extra {
                    r = r.header(k, v);
                }
                return r.body(Body::from(body)).unwrap();
            }
            Some(Override::Redirect { status, location }) => {
                return Response::builder()
                    .status(status)
                    .header(header::LOCATION, location)
                    .body(Body::empty())
                    .unwrap();
            }
            None => {}
        }
        let (path, query) = key
            .split_once('?')
            .map(|(p, q)| (p, Some(q)))
            .unwrap_or((key, None));
        let mut parts = path.splitn(3, '/');
        parts.next();
        let site_name = parts.next().unwrap_or_default().to_string();
        let rest = format!("/{}", parts.next().unwrap_or_default());
        match self.lookup(&site_name, &rest, query) {
            Some((file, ctype)) => {
                let raw = std::fs::read(&file).unwrap();
                let body = replace_bytes(
                    &raw,
                    b"{{BASE}}",
                    format!("{}/{site_name}", self.base).as_bytes(),
                );
                static_answer(body, &ctype, headers)
            }
            None => Response::builder()
                .status(404)
                .body(Body::from("not found"))
                .unwrap(),
        }
    }

    fn lookup(
        &self,
        site_name: &str,
        path: &str,
        query: Option<&str>,
    ) -> Option<(PathBuf, String)> {
        if site_name.is_empty() || site_name.contains("..") || path.contains("..") {
            return None;
        }
        // Web servers ignore campaign tags (utm_*): a link a partner tagged
        // for its statistics serves the same page as the untagged one.
        let kept: Vec<&str> = query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|p| !p.starts_with("utm_"))
            .collect();
        let kept = kept.join("&");
        let query = query.and(Some(kept.as_str())).filter(|q| !q.is_empty());
        let dir = fixtures().join(site_name);
        let meta = try_site(site_name)?;
        let url = match query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        };
        let ctype = meta
            .files
            .iter()
            .find(|f| f.path == url)
            .or_else(|| meta.files.iter().find(|f| f.path == path))
            .and_then(|f| f.content_type.clone());
        let snaps: Vec<&Snapshot> = meta.snapshots.iter().filter(|s| s.path == url).collect();
        if !snaps.is_empty() {
            let mut state = self.state.lock().unwrap();
            let n = state
                .snapshot_polls
                .entry(format!("/{site_name}{url}"))
                .or_default();
            *n += 1;
            if let Some(s) = snaps.iter().find(|s| s.poll == *n) {
                let f = dir.join(&s.file);
                return Some((f.clone(), ctype.unwrap_or_else(|| default_type(&f))));
            }
        }
        if let Some(f) = meta
            .files
            .iter()
            .find(|f| f.path == url)
            .and_then(|f| f.file.clone())
        {
            let f = dir.join(f);
            return f
                .is_file()
                .then(|| (f.clone(), ctype.clone().unwrap_or_else(|| default_type(&f))));
        }
        let pages = dir.join("pages");
        let rel = path.trim_start_matches('/');
        let candidates: Vec<String> = if rel.is_empty() || rel.ends_with('/') {
            ["index.html", "index.xml", "index.json"]
                .iter()
                .map(|n| format!("{rel}{n}"))
                .collect()
        } else {
            vec![
                rel.to_string(),
                format!("{rel}/index.html"),
                format!("{rel}/index.xml"),
                format!("{rel}/index.json"),
            ]
        };
        candidates.into_iter().find_map(|c| {
            let name = match query {
                Some(q) => format!("{c}?{q}"),
                None => c,
            };
            let f = pages.join(name);
            f.is_file()
                .then(|| (f.clone(), ctype.clone().unwrap_or_else(|| default_type(&f))))
        })
    }
}

fn default_type(f: &Path) -> String {
    let name = f.to_string_lossy();
    if name.ends_with(".json") {
        "application/feed+json"
    } else if name.ends_with(".xml") {
        "application/xml"
    } else if name.ends_with(".html") || name.contains("index.html?") {
        "text/html"
    } else {
        "application/octet-stream"
    }
    .to_string()
}

pub fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// A static file answer: strong ETag, Last-Modified, 304 on a match, gzip when accepted.
fn static_answer(body: Vec<u8>, content_type: &str, headers: &HeaderMap) -> Response<Body> {
    let etag = format!("\"{}\"", &hex::encode(sha2::Sha256::digest(&body))[..16]);
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let ims = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok());
    let fresh = match (inm, ims) {
        (Some(inm), _) => inm.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        (None, Some(ims)) => match (
            httpdate::parse_http_date(ims),
            httpdate::parse_http_date(LAST_MODIFIED),
        ) {
            (Ok(since), Ok(lm)) => since >= lm,
            _ => false,
        },
        _ => false,
    };
    let builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::LAST_MODIFIED, LAST_MODIFIED)
        .header(header::CACHE_CONTROL, "max-age=300");
    if fresh {
        return builder.status(304).body(Body::empty()).unwrap();
    }
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("gzip"));
    let builder = builder
        .status(200)
        .header(header::CONTENT_TYPE, content_type);
    if gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&body).unwrap();
        builder
            .header(header::CONTENT_ENCODING, "gzip")
            .body(Body::from(enc.finish().unwrap()))
            .unwrap()
    } else {
        builder.body(Body::from(body)).unwrap()
    }
}
