//! From stored stories and items to the bytes we serve. Feeds are rendered
//! when data changes, never per request: a `Site` maps each served path to
//! pre-rendered bytes (plain and gzip) with a strong ETag. Per-source feeds
//! and archive documents are the exception: there are thousands of them and
//! few are read, so each is rendered on its first request and kept (in the
//! `SiteHandle`'s bounded cache) until its source's items change.

pub mod atom;
pub mod html;
pub mod json;
pub mod opml;
pub mod rss;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, RwLock};

use axum::http::HeaderValue;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::store::{ItemView, SourceState, Store, StoryView};

/// A partner as credited in an entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Credit {
    pub source_id: String,
    pub name: String,
    /// The feed or page we poll.
    pub feed_url: String,
    /// The partner's website.
    pub home_url: Option<String>,
    /// This partner's own link to the article.
    pub link: Option<String>,
    pub published: DateTime<Utc>,
}

/// One entry, independent of the output format.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub title: String,
    pub link: Option<String>,
    pub published: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub authors: Vec<String>,
    /// The partners' own categories.
    pub categories: Vec<String>,
    /// The operator's tags (each has its own feed).
    pub tags: Vec<String>,
    /// Plain-text teaser.
    pub summary: Option<String>,
    /// Sanitised HTML, with the sources credited at the end.
    pub content_html: String,
    /// The original publication (the earliest one for a story).
    pub origin: Credit,
    /// Further partners that published the same news.
    pub also: Vec<Credit>,
}

/// One feed, independent of the output format.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedDoc {
    pub id: String,
    pub title: String,
    pub subtitle: Option<String>,
    pub language: String,
    pub author: String,
    /// Public URL without extension, e.g. `https://host/feed`; formats append `.atom` etc.
    pub self_base: String,
    /// The HTML page for humans.
    pub home_url: String,
    pub updated: DateTime<Utc>,
    pub entries: Vec<Entry>,
    /// Further links: RFC 5005 archive navigation, WebSub hubs.
    pub links: Vec<DocLink>,
    /// An RFC 5005 archive document (`<fh:archive/>`), which never changes.
    pub archive: bool,
    /// Base of tag feed URLs, used as the category scheme for tags.
    pub tags_base: String,
}

/// A feed-level link such as `rel="prev-archive"` or `rel="hub"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocLink {
    pub rel: &'static str,
    pub href: String,
}

impl FeedDoc {
    pub fn self_url(&self, ext: &str) -> String {
        format!("{}.{ext}", self.self_base)
    }
}

/// Bytes ready to send, in both encodings, with their validators.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub content_type: &'static str,
    pub body: Bytes,
    pub gzip: Bytes,
    /// Strong ETag of `body` (quoted); the gzip variant appends `-gz`.
    pub etag: String,
    /// Private: it changes only together with its header form (`set_last_modified`).
    last_modified: DateTime<Utc>,
    /// The validators as response headers, made once per render: formatting
    /// them per request was a measurable part of answering a 304.
    pub(crate) headers: ValidatorHeaders,
}

#[derive(Debug, Clone)]
pub struct ValidatorHeaders {
    pub etag: HeaderValue,
    pub gzip_etag: HeaderValue,
    pub last_modified: HeaderValue,
}

impl Rendered {
    pub fn new(
        content_type: &'static str,
        body: Vec<u8>,
        last_modified: DateTime<Utc>,
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
            body: Bytes::from(body),
            gzip: Bytes::from(gzip),
            etag,
            last_modified,
            headers,
        }
    }

    pub fn last_modified(&self) -> DateTime<Utc> {
        self.last_modified
    }

    /// Moves Last-Modified (whole seconds), in both its forms.
    pub fn set_last_modified(&mut self, at: DateTime<Utc>) {
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
    pub files: HashMap<String, Arc<Rendered>>,
    /// Feed paths without extension (`/feed`, `/sources/x`, `/tags/y`), for WebSub and `export`.
    pub feeds: Vec<String>,
}

/// The current `Site`, swapped atomically after each render, and the
/// documents rendered on request (per-source feeds, archives).
#[derive(Clone, Default)]
pub struct SiteHandle {
    site: Arc<RwLock<Arc<Site>>>,
    /// Bumped at every replace.
    version: Arc<std::sync::atomic::AtomicU64>,
    lazy: Arc<Mutex<LazyCache>>,
}

/// Bytes kept of documents rendered on request. A per-source feed of 50
/// entries is ~60 KiB plus its gzip twin; this keeps the few hundred that
/// readers actually poll without letting 3,000 of them fill the memory.
const LAZY_CACHE_BYTES: usize = 16 << 20;

#[derive(Default)]
struct LazyCache {
    files: HashMap<String, Arc<Rendered>>,
    bytes: usize,
    /// Bumped whenever entries are forgotten, so a render that read the
    /// database before the change is served once but not kept.
    generation: u64,
}

impl SiteHandle {
    /// A document rendered on request earlier and still current.
    pub fn cached(&self, path: &str) -> Option<Arc<Rendered>> {
        let cache = self.lazy.lock().unwrap_or_else(|p| p.into_inner());
        cache.files.get(path).cloned()
    }

    /// Taken before rendering a document on request; see `keep`.
    pub fn cache_generation(&self) -> u64 {
        self.lazy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .generation
    }

    /// Keeps a document rendered on request, unless the data changed since
    /// `generation` was taken. Over the byte budget the cache starts afresh.
    pub fn keep(&self, path: &str, file: Arc<Rendered>, generation: u64) {
        let mut cache = self.lazy.lock().unwrap_or_else(|p| p.into_inner());
        if cache.generation != generation {
            return;
        }
        let size = file.body.len() + file.gzip.len();
        if cache.bytes + size > LAZY_CACHE_BYTES {
            cache.files.clear();
            cache.bytes = 0;
        }
        cache.bytes += size;
        if let Some(old) = cache.files.insert(path.to_string(), file) {
            cache.bytes -= old.body.len() + old.gzip.len();
        }
    }

    /// Forgets the documents rendered on request whose path `stale` selects.
    pub fn forget(&self, stale: impl Fn(&str) -> bool) {
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
    }

    pub fn get(&self) -> Arc<Site> {
        self.site.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn version(&self) -> u64 {
        self.version.load(std::sync::atomic::Ordering::Acquire)
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
                ["atom", "rss", "json"]
                    .iter()
                    .any(|ext| changed.contains(&format!("{f}.{ext}")))
            })
            .cloned()
            .collect();
        *guard = Arc::new(next);
        self.version
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        feeds
    }
}

pub const ATOM_TYPE: &str = "application/atom+xml; charset=utf-8";
pub const RSS_TYPE: &str = "application/rss+xml; charset=utf-8";
pub const JSON_FEED_TYPE: &str = "application/feed+json; charset=utf-8";
pub const HTML_TYPE: &str = "text/html; charset=utf-8";
pub const JSON_TYPE: &str = "application/json";
pub const OPML_TYPE: &str = "text/x-opml; charset=utf-8";

fn credit(item: &ItemView, config: &Config) -> Credit {
    let configured = config.source(&item.source_id);
    Credit {
        source_id: item.source_id.clone(),
        name: configured
            .map(|s| s.name.clone())
            .unwrap_or_else(|| item.source_name.clone()),
        feed_url: item.source_url.clone(),
        home_url: configured
            .and_then(|s| s.homepage.as_ref().map(|u| u.to_string()))
            .or_else(|| item.source_home.clone()),
        link: item.link.clone(),
        published: item.published,
    }
}

fn credits_html(origin: &Credit, also: &[Credit]) -> String {
    let link = |c: &Credit| {
        let name = html_escape::encode_text(&c.name);
        match c.link.as_deref().or(c.home_url.as_deref()) {
            Some(href) => format!(
                "<a href=\"{}\">{name}</a>",
                html_escape::encode_double_quoted_attribute(href)
            ),
            None => name.into_owned(),
        }
    };
    let mut out = format!("<p class=\"revierfeed-sources\">Quelle: {}", link(origin));
    if !also.is_empty() {
        out.push_str(" · Auch berichtet von: ");
        out.push_str(&also.iter().map(link).collect::<Vec<_>>().join(", "));
    }
    out.push_str("</p>");
    out
}

fn body_html(item: &ItemView) -> String {
    item.content_html
        .clone()
        .or_else(|| item.summary_html.clone())
        .unwrap_or_else(|| format!("<p>{}</p>", html_escape::encode_text(&item.text)))
}

fn teaser(item: &ItemView) -> Option<String> {
    Some(crate::text::truncate_chars(&item.text, 400)).filter(|t| !t.is_empty())
}

/// A merged-feed entry for a story, crediting every member.
pub fn story_entry(story: &StoryView, config: &Config) -> Entry {
    let lead = story.lead();
    let origin = credit(lead, config);
    let also: Vec<Credit> = story.members[1..]
        .iter()
        .map(|m| credit(m, config))
        .collect();
    let union = |f: fn(&ItemView) -> &Vec<String>| {
        let mut out: Vec<String> = Vec::new();
        for c in story.members.iter().flat_map(|m| f(m).iter()) {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
        out
    };
    Entry {
        id: story.uid.clone(),
        title: lead.title.clone(),
        link: lead.link.clone(),
        published: story.published,
        updated: story.updated.max(story.published),
        authors: lead.authors.clone(),
        categories: union(|m| &m.categories),
        tags: union(|m| &m.tags),
        summary: teaser(lead),
        content_html: format!("{}\n{}", body_html(lead), credits_html(&origin, &also)),
        origin,
        also,
    }
}

/// A per-source entry for one item.
pub fn item_entry(item: &ItemView, config: &Config) -> Entry {
    let origin = credit(item, config);
    Entry {
        id: item.uid.clone(),
        title: item.title.clone(),
        link: item.link.clone(),
        published: item.published,
        updated: item.updated.max(item.published),
        authors: item.authors.clone(),
        categories: item.categories.clone(),
        tags: item.tags.clone(),
        summary: teaser(item),
        content_html: format!("{}\n{}", body_html(item), credits_html(&origin, &[])),
        origin,
        also: Vec::new(),
    }
}

fn doc_updated(entries: &[Entry], fallback: DateTime<Utc>) -> DateTime<Utc> {
    entries.iter().map(|e| e.updated).max().unwrap_or(fallback)
}

/// Adds one feed in all three formats under `base_path` (e.g. `/feed`).
fn add_feed(site: &mut Site, base_path: &str, doc: &FeedDoc) {
    let updated = doc.updated;
    site.files.insert(
        format!("{base_path}.atom"),
        Arc::new(Rendered::new(ATOM_TYPE, atom::render(doc), updated)),
    );
    site.files.insert(
        format!("{base_path}.rss"),
        Arc::new(Rendered::new(RSS_TYPE, rss::render(doc), updated)),
    );
    site.files.insert(
        format!("{base_path}.json"),
        Arc::new(Rendered::new(JSON_FEED_TYPE, json::render(doc), updated)),
    );
    site.feeds.push(base_path.to_string());
}

/// The public base URL without a trailing slash.
pub fn public_base(config: &Config) -> String {
    config
        .feed
        .public_url
        .as_str()
        .trim_end_matches('/')
        .to_string()
}

fn doc(
    config: &Config,
    id: String,
    title: String,
    self_path: &str,
    entries: Vec<Entry>,
    created: DateTime<Utc>,
) -> FeedDoc {
    let base = public_base(config);
    FeedDoc {
        id,
        subtitle: None,
        language: config.feed.language.clone(),
        author: config.feed.author.clone(),
        self_base: format!("{base}{self_path}"),
        home_url: format!("{base}/"),
        updated: doc_updated(&entries, created),
        entries,
        links: config
            .feed
            .hubs
            .iter()
            .map(|h| DocLink {
                rel: "hub",
                href: h.to_string(),
            })
            .collect(),
        archive: false,
        tags_base: format!("{base}/tags/"),
        title,
    }
}

/// Stories per archive document (RFC 5005); fixed so archive URLs keep their content.
pub const ARCHIVE_PAGE: i64 = 50;

/// Renders every file kept in memory from the database (blocking; call on
/// the blocking pool): the merged and per-tag feeds, OPML and the pages.
/// Per-source feeds are listed in `Site::feeds` but rendered on request
/// (`render_source_feed`): with 1,000 sources rendering all 3,000 on every
/// change took seconds and held ~200 MiB (BENCHMARKS.md).
/// `states` are the sources' current states (for the OPML list).
pub fn render_site(
    config: &Config,
    store: &Store,
    states: &[SourceState],
) -> crate::store::Result<Site> {
    let created = store.created_at()?;
    let base = public_base(config);
    let mut site = Site::default();

    let entries: Vec<Entry> = store
        .stories(config.feed.items)?
        .iter()
        .map(|s| story_entry(s, config))
        .collect();
    let mut merged = doc(
        config,
        config.feed.id.clone(),
        config.feed.title.clone(),
        "/feed",
        entries,
        created,
    );
    merged.subtitle = config.feed.subtitle.clone();
    let complete_archives = store.max_story_id()? / ARCHIVE_PAGE;
    if complete_archives > 0 {
        merged.links.push(DocLink {
            rel: "prev-archive",
            href: format!("{base}/archive/{complete_archives}.atom"),
        });
    }
    add_feed(&mut site, "/feed", &merged);

    for source in config.sources.iter().filter(|s| s.enabled) {
        site.feeds.push(format!("/sources/{}", source.id));
    }
    for tag in config.tags() {
        let entries: Vec<Entry> = store
            .tag_stories(&tag, config.feed.items)?
            .iter()
            .map(|s| story_entry(s, config))
            .collect();
        let id = crate::model::stable_uuid(&["tag-feed", &config.feed.id, &tag]);
        let d = doc(
            config,
            id,
            format!("{} – {tag}", config.feed.title),
            &format!("/tags/{tag}"),
            entries,
            created,
        );
        add_feed(&mut site, &format!("/tags/{tag}"), &d);
    }

    site.files.insert(
        "/sources.opml".into(),
        Arc::new(Rendered::new(
            OPML_TYPE,
            opml::render(config, states),
            created,
        )),
    );
    site.files.insert(
        "/".into(),
        Arc::new(Rendered::new(
            HTML_TYPE,
            html::index(config, &merged).into_bytes(),
            merged.updated,
        )),
    );
    Ok(site)
}

/// The status pages: rendered on request from the current source states
/// (see `status_document`), not kept in the site, because states change
/// with every poll and the pages are rarely read.
pub fn is_status_path(path: &str) -> bool {
    matches!(path, "/status" | "/status.json")
}

/// Paths rendered when first requested and cached until their data changes.
pub fn rendered_on_request(path: &str) -> bool {
    path.starts_with("/archive/") || path.starts_with("/sources/") || is_status_path(path)
}

/// One status page (`/status` or `/status.json`) for these source states.
pub fn status_document(config: &Config, states: &[SourceState], path: &str) -> Option<Rendered> {
    let now = Utc::now();
    match path {
        "/status" => Some(Rendered::new(
            HTML_TYPE,
            html::status(config, states, now).into_bytes(),
            now,
        )),
        "/status.json" => Some(Rendered::new(
            JSON_TYPE,
            html::status_json(config, states, now),
            now,
        )),
        _ => None,
    }
}

/// `/sources/<id>.<ext>` → (id, ext).
pub fn source_feed_path(path: &str) -> Option<(&str, &str)> {
    let (id, ext) = path.strip_prefix("/sources/")?.rsplit_once('.')?;
    (!id.is_empty() && !id.contains('/') && matches!(ext, "atom" | "rss" | "json"))
        .then_some((id, ext))
}

/// One partner's feed in one format (`atom`, `rss` or `json`), or `None`
/// when no enabled source has that id.
pub fn render_source_feed(
    config: &Config,
    store: &Store,
    source_id: &str,
    ext: &str,
) -> crate::store::Result<Option<Rendered>> {
    let Some(source) = config.source(source_id).filter(|s| s.enabled) else {
        return Ok(None);
    };
    let created = store.created_at()?;
    let entries: Vec<Entry> = store
        .source_items(&source.id, config.feed.items)?
        .iter()
        .map(|i| item_entry(i, config))
        .collect();
    let id = crate::model::stable_uuid(&["source-feed", &config.feed.id, &source.id]);
    let mut d = doc(
        config,
        id,
        format!("{} – {}", source.name, config.feed.title),
        &format!("/sources/{}", source.id),
        entries,
        created,
    );
    d.author = source.name.clone();
    let (content_type, body) = match ext {
        "atom" => (ATOM_TYPE, atom::render(&d)),
        "rss" => (RSS_TYPE, rss::render(&d)),
        "json" => (JSON_FEED_TYPE, json::render(&d)),
        _ => return Ok(None),
    };
    Ok(Some(Rendered::new(content_type, body, d.updated)))
}

/// Archive document `page` (1 = oldest) of the merged feed, or `None` if it
/// does not exist yet. Page n holds the stories with ids in ((n-1)·50, n·50]:
/// id ranges never move, so an archive document keeps its entries.
pub fn render_archive(
    config: &Config,
    store: &Store,
    page: i64,
) -> crate::store::Result<Option<Rendered>> {
    let complete = store.max_story_id()? / ARCHIVE_PAGE;
    if page < 1 || page > complete {
        return Ok(None);
    }
    let created = store.created_at()?;
    let base = public_base(config);
    let stories = store.stories_by_id_range((page - 1) * ARCHIVE_PAGE + 1, page * ARCHIVE_PAGE)?;
    let entries: Vec<Entry> = stories.iter().map(|s| story_entry(s, config)).collect();
    let id = crate::model::stable_uuid(&["archive", &config.feed.id, &page.to_string()]);
    let mut d = doc(
        config,
        id,
        format!("{} – Archiv {page}", config.feed.title),
        &format!("/archive/{page}"),
        entries,
        created,
    );
    d.archive = true;
    d.links = vec![DocLink {
        rel: "current",
        href: format!("{base}/feed.atom"),
    }];
    if page > 1 {
        d.links.push(DocLink {
            rel: "prev-archive",
            href: format!("{base}/archive/{}.atom", page - 1),
        });
    }
    if page < complete {
        d.links.push(DocLink {
            rel: "next-archive",
            href: format!("{base}/archive/{}.atom", page + 1),
        });
    }
    Ok(Some(Rendered::new(ATOM_TYPE, atom::render(&d), d.updated)))
}

/// Both status pages for these source states, into `site` (for `export`).
pub fn render_status(config: &Config, states: &[SourceState], site: &mut Site) {
    for path in ["/status", "/status.json"] {
        if let Some(doc) = status_document(config, states, path) {
            site.files.insert(path.into(), Arc::new(doc));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(body: &str) -> Arc<Rendered> {
        Arc::new(Rendered::new(
            ATOM_TYPE,
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
    fn a_render_that_raced_a_change_is_not_kept() {
        let site = SiteHandle::default();
        let before_poll = site.cache_generation();
        // A poll changed the source while its feed was being rendered from older data.
        site.forget(|p| p.starts_with("/sources/a."));
        site.keep("/sources/a.atom", file("old"), before_poll);
        assert!(site.cached("/sources/a.atom").is_none());
    }

    #[test]
    fn source_feed_paths() {
        assert_eq!(source_feed_path("/sources/qlee.rss"), Some(("qlee", "rss")));
        for bad in [
            "/sources/.atom",
            "/sources/qlee.xml",
            "/sources/a/b.atom",
            "/feed.atom",
        ] {
            assert_eq!(source_feed_path(bad), None, "{bad}");
        }
    }
}
