//! The served bytes: `Rendered` (one document in plain and gzip form with its
//! validators), `Site` (every document kept in memory, by path) and
//! `SiteHandle` (the current site, swapped atomically after each render, and
//! the bounded cache of documents rendered on request).

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::{Arc, Mutex, RwLock};

use axum::http::HeaderValue;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::Format;
use crate::zero_copy::Budget;

/// Bytes ready to send, in both encodings, with their validators.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The `Content-Type` header value.
    pub content_type: &'static str,
    /// The document as rendered.
    pub body: Bytes,
    /// `body`, gzip-compressed once at render time.
    pub gzip: Bytes,
    /// Strong ETag of `body` (quoted); the gzip variant appends `-gz`.
    pub etag: String,
    /// Private: it changes only together with its header form (`set_last_modified`).
    last_modified: DateTime<Utc>,
    /// The validators as response headers, made once per render: formatting
    /// them per request was a measurable part of answering a 304.
    pub(crate) headers: ValidatorHeaders,
}

/// A document's validators as ready-made response header values.
#[derive(Debug, Clone)]
pub(crate) struct ValidatorHeaders {
    pub(crate) etag: HeaderValue,
    pub(crate) gzip_etag: HeaderValue,
    pub(crate) last_modified: HeaderValue,
}

impl Rendered {
    /// A document kept in the site: compresses `body` and computes its
    /// validators; a large body goes into a memory file of the site's
    /// budget (`zero_copy`).
    pub fn new(
        content_type: &'static str,
        body: Vec<u8>,
        last_modified: DateTime<Utc>,
    ) -> Rendered {
        Rendered::build(content_type, body, last_modified, Budget::Site)
    }

    /// A document rendered on request (a per-source feed, an archive, a
    /// status page, a feed by query): as [`new`](Self::new), with memory
    /// files of their own budget.
    pub fn on_request(
        content_type: &'static str,
        body: Vec<u8>,
        last_modified: DateTime<Utc>,
    ) -> Rendered {
        Rendered::build(content_type, body, last_modified, Budget::OnRequest)
    }

    fn build(
        content_type: &'static str,
        body: Vec<u8>,
        last_modified: DateTime<Utc>,
        budget: Budget,
    ) -> Rendered {
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", hex::encode(&digest[..12]));
        let mut gz = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 3),
            flate2::Compression::default(),
        );
        gz.write_all(&body).expect("writing to a Vec cannot fail");
        let gzip = gz.finish().expect("writing to a Vec cannot fail");
        let (last_modified, last_modified_header) = http_date(last_modified);
        let header =
            |v: String| HeaderValue::try_from(v).expect("hex digits are valid header text");
        let headers = ValidatorHeaders {
            etag: header(etag.clone()),
            gzip_etag: header(format!("{}-gz\"", etag.trim_end_matches('"'))),
            last_modified: last_modified_header,
        };
        Rendered {
            content_type,
            body: crate::zero_copy::body(body, budget),
            gzip: crate::zero_copy::body(gzip, budget),
            etag,
            last_modified,
            headers,
        }
    }

    /// When the content last changed, in whole seconds.
    pub fn last_modified(&self) -> DateTime<Utc> {
        self.last_modified
    }

    /// Moves Last-Modified (whole seconds), in both its forms.
    pub(crate) fn set_last_modified(&mut self, at: DateTime<Utc>) {
        (self.last_modified, self.headers.last_modified) = http_date(at);
    }
}

/// `at` in whole seconds (all HTTP dates have), and as a header value.
fn http_date(at: DateTime<Utc>) -> (DateTime<Utc>, HeaderValue) {
    let at = DateTime::from_timestamp(at.timestamp(), 0).unwrap_or_default();
    let header = HeaderValue::try_from(httpdate::fmt_http_date(at.into()))
        .expect("an HTTP date is valid header text");
    (at, header)
}

/// Every served file, by URL path.
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// The documents kept in memory, by URL path.
    pub files: HashMap<String, Arc<Rendered>>,
    /// Feed paths without extension (`/feed`, `/sources/x`, `/tags/y`), for WebSub and `export`.
    pub feeds: Vec<String>,
}

/// The current `Site`, swapped atomically after each render, and the
/// documents rendered on request (per-source feeds, archives).
#[derive(Clone, Default)]
pub struct SiteHandle {
    site: Arc<RwLock<Arc<Site>>>,
    lazy: Arc<Mutex<LazyCache>>,
}

/// Bytes kept of documents rendered on request. A per-source feed of 50
/// entries is ~60 KiB plus its gzip twin; this keeps the few hundred that
/// readers actually poll without letting 3,000 of them fill the memory.
const LAZY_CACHE_BYTES: usize = 16 << 20;

/// Distinct feeds by query kept at once. Anyone can make up queries; past
/// this many the oldest is forgotten, so made-up ones cannot crowd out the
/// per-source feeds or grow the cache's bookkeeping.
const MAX_QUERY_FEEDS: usize = 64;

#[derive(Default)]
struct LazyCache {
    files: HashMap<String, Arc<Rendered>>,
    bytes: usize,
    /// The kept feeds by query (paths with `?`), oldest first.
    queries: VecDeque<String>,
    /// Bumped whenever entries are forgotten, so a render that read the
    /// database before the change is served once but not kept.
    generation: u64,
}

impl SiteHandle {
    /// A document rendered on request earlier and still current.
    pub(crate) fn cached(&self, path: &str) -> Option<Arc<Rendered>> {
        let cache = self.lazy.lock().unwrap_or_else(|p| p.into_inner());
        cache.files.get(path).cloned()
    }

    /// Taken before rendering a document on request; see `keep`.
    pub(crate) fn cache_generation(&self) -> u64 {
        self.lazy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .generation
    }

    /// Keeps a document rendered on request, unless the data changed since
    /// `generation` was taken. Over the byte budget the cache starts afresh.
    pub(crate) fn keep(&self, path: &str, file: Arc<Rendered>, generation: u64) {
        let mut cache = self.lazy.lock().unwrap_or_else(|p| p.into_inner());
        if cache.generation != generation {
            return;
        }
        let size = file.body.len() + file.gzip.len();
        if cache.bytes + size > LAZY_CACHE_BYTES {
            cache.files.clear();
            cache.queries.clear();
            cache.bytes = 0;
        }
        cache.bytes += size;
        if let Some(old) = cache.files.insert(path.to_string(), file) {
            cache.bytes -= old.body.len() + old.gzip.len();
        } else if path.contains('?') {
            cache.queries.push_back(path.to_string());
            while cache.queries.len() > MAX_QUERY_FEEDS {
                let oldest = cache.queries.pop_front().expect("longer than the bound");
                if let Some(old) = cache.files.remove(&oldest) {
                    cache.bytes -= old.body.len() + old.gzip.len();
                }
            }
        }
    }

    /// Forgets the documents rendered on request whose path `stale` selects.
    pub(crate) fn forget(&self, stale: impl Fn(&str) -> bool) {
        let mut cache = self.lazy.lock().unwrap_or_else(|p| p.into_inner());
        cache.generation += 1;
        let mut freed = 0;
        cache.files.retain(|path, f| {
            let drop = stale(path);
            if drop {
                freed += f.body.len() + f.gzip.len();
            }
            !drop
        });
        cache.bytes -= freed;
        let LazyCache { files, queries, .. } = &mut *cache;
        queries.retain(|q| files.contains_key(q));
    }

    /// The site as last rendered.
    pub fn get(&self) -> Arc<Site> {
        self.site.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the site and returns the feeds (paths without extension)
    /// whose bytes changed. A file whose bytes changed but whose dates did
    /// not gets a later Last-Modified, so If-Modified-Since never hides a change.
    pub fn replace(&self, mut next: Site) -> Vec<String> {
        let mut guard = self.site.write().unwrap_or_else(|p| p.into_inner());
        let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_default();
        let mut changed = Vec::new();
        for (path, file) in next.files.iter_mut() {
            match guard.files.get(path) {
                Some(old) if old.etag == file.etag => *file = old.clone(),
                Some(old) => {
                    if file.last_modified <= old.last_modified {
                        Arc::make_mut(file).set_last_modified(
                            now.max(old.last_modified() + chrono::Duration::seconds(1)),
                        );
                    }
                    changed.push(path.clone());
                }
                None => changed.push(path.clone()),
            }
        }
        let feeds = next
            .feeds
            .iter()
            .filter(|f| {
                Format::ALL
                    .iter()
                    .any(|format| changed.contains(&format.path(f)))
            })
            .cloned()
            .collect();
        *guard = Arc::new(next);
        feeds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(body: &str) -> Arc<Rendered> {
        Arc::new(Rendered::new(
            Format::Atom.content_type(),
            body.as_bytes().to_vec(),
            Utc::now(),
        ))
    }

    #[test]
    fn documents_rendered_on_request_are_kept_until_forgotten() {
        let site = SiteHandle::default();
        let g = site.cache_generation();
        site.keep("/sources/a.atom", file("a"), g);
        site.keep("/sources/b.atom", file("b"), g);
        assert!(site.cached("/sources/a.atom").is_some());
        site.forget(|p| p == "/sources/a.atom");
        assert!(site.cached("/sources/a.atom").is_none());
        assert!(site.cached("/sources/b.atom").is_some());
    }

    #[test]
    fn only_so_many_feeds_by_query_are_kept() {
        let site = SiteHandle::default();
        let g = site.cache_generation();
        site.keep("/sources/a.atom", file("a"), g);
        for n in 0..MAX_QUERY_FEEDS + 10 {
            site.keep(&format!("/feed.atom?tag=t{n}"), file(&n.to_string()), g);
        }
        assert!(
            site.cached("/feed.atom?tag=t0").is_none(),
            "oldest forgotten"
        );
        assert!(site.cached("/feed.atom?tag=t9").is_none());
        assert!(site.cached("/feed.atom?tag=t10").is_some());
        let newest = format!("/feed.atom?tag=t{}", MAX_QUERY_FEEDS + 9);
        assert!(site.cached(&newest).is_some());
        assert!(
            site.cached("/sources/a.atom").is_some(),
            "other documents stay"
        );
        let cache = site.lazy.lock().unwrap();
        assert_eq!(cache.queries.len(), MAX_QUERY_FEEDS);
        assert_eq!(cache.files.len(), MAX_QUERY_FEEDS + 1);
    }

    #[test]
    fn a_render_that_raced_a_change_is_not_kept() {
        let site = SiteHandle::default();
        let before_poll = site.cache_generation();
        // A poll changed the source while its feed was being rendered from older data.
        site.forget(|p| p.starts_with("/sources/a."));
        site.keep("/sources/a.atom", file("old"), before_poll);
        assert!(site.cached("/sources/a.atom").is_none());
    }
}
