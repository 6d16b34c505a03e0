//! From stored stories and items to the bytes we serve. Feeds are rendered
//! when data changes, never per request: a `Site` maps each served path to
//! pre-rendered bytes (plain and gzip) with a strong ETag. Per-source feeds
//! and archive documents are the exception: there are thousands of them and
//! few are read, so each is rendered on its first request and kept (in the
//! `SiteHandle`'s bounded cache) until its source's items change.
//!
//! This file owns what is published where: the feed formats (`Format`), the
//! served paths, and which documents a render makes. `entries` turns stories
//! and items into format-independent feeds, `site` holds the rendered bytes;
//! `atom`, `rss` and `json` write one feed each, `opml`, `html` (layout,
//! status) and `pages` (the news pages) the documents that are not feeds;
//! `query` owns feeds by query (`/feed.atom?tag=a`), rendered on request too.

mod atom;
mod charts;
mod entries;
mod html;
mod json;
mod media;
mod opml;
mod pages;
mod query;
mod rss;
mod site;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;

pub use html::ConfigProblem;
pub use query::{FeedQuery, feed_query};
pub use site::{Rendered, Site, SiteHandle};

use crate::config::Config;
use crate::store::{Activity, SourceState, Store, StoryCounts};
use entries::{DocLink, Entry, FeedDoc, feed_doc, item_entry, story_entry};

/// A format every feed (merged, per tag, per source) is offered in. Adding
/// one takes its renderer file and a variant here; every list of formats
/// (rendering, served paths, WebSub topics, `export`, the HTML links)
/// iterates `Format::ALL`. OPML and the HTML pages are not formats: each is
/// one document made from other data, not another rendering of every feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Format {
    Atom,
    Rss,
    Json,
}

impl Format {
    /// In the order the HTML page offers them.
    pub(crate) const ALL: [Format; 3] = [Format::Atom, Format::Rss, Format::Json];

    /// The file extension of this format's feed paths.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Format::Atom => "atom",
            Format::Rss => "rss",
            Format::Json => "json",
        }
    }

    /// The `Content-Type` served.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
        }
    }

    /// The media type without parameters, as in `<link type="…">`.
    pub(crate) fn media_type(self) -> &'static str {
        let content_type = self.content_type();
        content_type
            .split_once(';')
            .map_or(content_type, |(media, _)| media)
    }

    /// The format's name for readers ("JSON Feed").
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Atom => "Atom",
            Format::Rss => "RSS",
            Format::Json => "JSON Feed",
        }
    }

    /// The name in a compact list of links ("JSON").
    pub(crate) fn short_name(self) -> &'static str {
        match self {
            Format::Json => "JSON",
            other => other.name(),
        }
    }

    /// `doc` written in this format.
    pub(crate) fn render(self, doc: &FeedDoc) -> Vec<u8> {
        match self {
            Format::Atom => atom::render(doc),
            Format::Rss => rss::render(doc),
            Format::Json => json::render(doc),
        }
    }

    /// The format whose feed paths end in `.ext`.
    pub(crate) fn from_extension(ext: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.extension() == ext)
    }

    /// `base` (a path or URL without extension) in this format.
    pub(crate) fn path(self, base: &str) -> String {
        format!("{base}.{}", self.extension())
    }
}

/// The formats archive documents are served in: RFC 5005 defines archived
/// feeds for Atom; JSON Feed's `next_url` pages through the same documents.
/// `/archive/<n>.html` shows each to people.
pub(crate) const ARCHIVE_FORMATS: [Format; 2] = [Format::Atom, Format::Json];

/// Stories per archive document (RFC 5005); fixed so archive URLs keep their content.
pub(crate) const ARCHIVE_PAGE: i64 = 50;

/// The public base URL without a trailing slash.
pub(crate) fn public_base(config: &Config) -> String {
    config
        .feed
        .public_url
        .as_str()
        .trim_end_matches('/')
        .to_string()
}

/// The path of archive document `page` without extension.
pub(crate) fn archive_base(page: i64) -> String {
    format!("/archive/{page}")
}

/// The path of archive document `page` in `format`.
pub(crate) fn archive_path(page: i64, format: Format) -> String {
    format.path(&archive_base(page))
}

/// Every path archive document `page` is served at (its feeds and its page).
pub(crate) fn archive_paths(page: i64) -> Vec<String> {
    let mut paths: Vec<String> = ARCHIVE_FORMATS
        .iter()
        .map(|f| archive_path(page, *f))
        .collect();
    paths.push(format!("{}.{}", archive_base(page), html::PAGE_EXTENSION));
    paths
}

/// What an archive path names: one of the `ARCHIVE_FORMATS`, or the page for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArchiveDoc {
    Feed(Format),
    Page,
}

/// `/archive/<n>.atom`, `.json` or `.html` → (n, what).
pub(crate) fn archive_page(path: &str) -> Option<(i64, ArchiveDoc)> {
    let (n, ext) = path.strip_prefix("/archive/")?.split_once('.')?;
    let doc = match Format::from_extension(ext) {
        Some(f) if ARCHIVE_FORMATS.contains(&f) => ArchiveDoc::Feed(f),
        None if ext == html::PAGE_EXTENSION => ArchiveDoc::Page,
        _ => return None,
    };
    (!n.is_empty() && n.len() <= 9 && n.bytes().all(|b| b.is_ascii_digit()))
        .then(|| n.parse().ok().map(|n| (n, doc)))
        .flatten()
}

/// `/sources/<id>.<ext>` → (id, format).
pub(crate) fn source_feed_path(path: &str) -> Option<(&str, Format)> {
    let (id, ext) = path.strip_prefix("/sources/")?.rsplit_once('.')?;
    let format = Format::from_extension(ext)?;
    (!id.is_empty() && !id.contains('/')).then_some((id, format))
}

/// `/sources/<id>.html` → id: a partner's page for people.
pub(crate) fn source_page_path(path: &str) -> Option<&str> {
    let id = path
        .strip_prefix("/sources/")?
        .strip_suffix(html::PAGE_EXTENSION)?
        .strip_suffix('.')?;
    (!id.is_empty() && !id.contains(['/', '.'])).then_some(id)
}

/// Whether a document rendered on request is stale after polls changed
/// the items of `changed` sources: archives and feeds by query span every
/// source, a partner's feeds and page only its own.
pub(crate) fn stale_after(path: &str, changed: &std::collections::HashSet<String>) -> bool {
    path.starts_with("/archive/")
        || path.contains('?')
        || is_status_path(path)
        || source_feed_path(path).is_some_and(|(id, _)| changed.contains(id))
        || source_page_path(path).is_some_and(|id| changed.contains(id))
}

/// The status pages: rendered on request from the current source states
/// (see `status_document`), not kept in the site, because states change
/// with every poll and the pages are rarely read.
pub(crate) fn is_status_path(path: &str) -> bool {
    matches!(path, "/status" | "/status.json")
}

/// Paths rendered when first requested and cached until their data changes.
pub(crate) fn rendered_on_request(path: &str) -> bool {
    path.starts_with("/archive/") || path.starts_with("/sources/") || is_status_path(path)
}

/// Adds one feed in every format under `base_path` (e.g. `/feed`).
fn add_feed(site: &mut Site, base_path: &str, doc: &FeedDoc) {
    for format in Format::ALL {
        site.files.insert(
            format.path(base_path),
            Arc::new(Rendered::new(
                format.content_type(),
                format.render(doc),
                doc.updated,
            )),
        );
    }
    site.feeds.push(base_path.to_string());
}

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
    let mut merged = feed_doc(
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
        merged.older = Some(format!("{base}{}", archive_base(complete_archives)));
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
        let d = feed_doc(
            config,
            id,
            format!("{} – {tag}", config.feed.title),
            &format!("/tags/{tag}"),
            entries,
            created,
        );
        add_feed(&mut site, &format!("/tags/{tag}"), &d);
        site.files.insert(
            format!("/tags/{tag}.{}", html::PAGE_EXTENSION),
            Arc::new(Rendered::new(
                html::HTML_TYPE,
                pages::tag(config, &tag, &d).into_bytes(),
                d.updated,
            )),
        );
    }

    site.files.insert(
        "/sources.opml".into(),
        Arc::new(Rendered::new(
            opml::OPML_TYPE,
            opml::render(config, states),
            created,
        )),
    );
    site.files.insert(
        "/".into(),
        Arc::new(Rendered::new(
            html::HTML_TYPE,
            pages::index(config, &merged, complete_archives).into_bytes(),
            merged.updated,
        )),
    );
    Ok(site)
}

/// Renders a document that is not kept in memory (blocking): a per-source
/// feed, an archive document or a status page; `None` when `path` names
/// none. `states` is read only for a status page.
pub(crate) fn render_on_request(
    config: &Config,
    store: &Store,
    path: &str,
    states: impl FnOnce() -> crate::store::Result<Vec<SourceState>>,
    problem: Option<&ConfigProblem>,
) -> crate::store::Result<Option<Rendered>> {
    if let Some((page, doc)) = archive_page(path) {
        render_archive(config, store, page, doc)
    } else if let Some((id, format)) = source_feed_path(path) {
        render_source_feed(config, store, id, format)
    } else if let Some(id) = source_page_path(path) {
        render_source_page(config, store, id)
    } else if is_status_path(path) {
        let states = states()?;
        let activity = store.activity(Utc::now())?;
        let stories = store.story_counts()?;
        Ok(status_document(
            config, &states, &activity, stories, problem, path,
        ))
    } else {
        Ok(None)
    }
}

/// One status page (`/status` or `/status.json`) for these source states.
fn status_document(
    config: &Config,
    states: &[SourceState],
    activity: &HashMap<String, Activity>,
    stories: StoryCounts,
    problem: Option<&ConfigProblem>,
    path: &str,
) -> Option<Rendered> {
    let now = Utc::now();
    match path {
        "/status" => Some(Rendered::on_request(
            html::HTML_TYPE,
            html::status(config, states, problem, activity, stories, now).into_bytes(),
            now,
        )),
        "/status.json" => Some(Rendered::on_request(
            html::STATUS_JSON_TYPE,
            html::status_json(config, states, problem, activity, stories, now),
            now,
        )),
        _ => None,
    }
}

/// One partner's feed in one format, or `None` when no enabled source has
/// that id.
pub(crate) fn render_source_feed(
    config: &Config,
    store: &Store,
    source_id: &str,
    format: Format,
) -> crate::store::Result<Option<Rendered>> {
    Ok(source_doc(config, store, source_id)?
        .map(|d| Rendered::on_request(format.content_type(), format.render(&d), d.updated)))
}

/// One partner's page for people, or `None` when no enabled source has that id.
fn render_source_page(
    config: &Config,
    store: &Store,
    source_id: &str,
) -> crate::store::Result<Option<Rendered>> {
    let Some(source) = config.source(source_id).filter(|s| s.enabled) else {
        return Ok(None);
    };
    Ok(source_doc(config, store, source_id)?.map(|d| {
        Rendered::on_request(
            html::HTML_TYPE,
            pages::source(config, source, &d).into_bytes(),
            d.updated,
        )
    }))
}

/// One partner's items as a feed, or `None` when no enabled source has that id.
fn source_doc(
    config: &Config,
    store: &Store,
    source_id: &str,
) -> crate::store::Result<Option<FeedDoc>> {
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
    let mut d = feed_doc(
        config,
        id,
        format!("{} – {}", source.name, config.feed.title),
        &format!("/sources/{}", source.id),
        entries,
        created,
    );
    d.author = source.name.clone();
    Ok(Some(d))
}

/// Archive document `page` (1 = oldest) of the merged feed as `doc`, or
/// `None` if it does not exist yet. Page n holds the stories with ids in
/// ((n-1)·50, n·50]: id ranges never move, so an archive document keeps its
/// entries, and its Atom, JSON Feed and HTML forms hold the same ones.
pub(crate) fn render_archive(
    config: &Config,
    store: &Store,
    page: i64,
    doc: ArchiveDoc,
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
    let mut d = feed_doc(
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
        href: Format::Atom.path(&format!("{base}/feed")),
    }];
    if page > 1 {
        d.older = Some(format!("{base}{}", archive_base(page - 1)));
    }
    if page < complete {
        d.links.push(DocLink {
            rel: "next-archive",
            href: format!("{base}{}", archive_path(page + 1, Format::Atom)),
        });
    }
    Ok(Some(match doc {
        ArchiveDoc::Feed(format) => {
            Rendered::on_request(format.content_type(), format.render(&d), d.updated)
        }
        ArchiveDoc::Page => Rendered::on_request(
            html::HTML_TYPE,
            pages::archive(config, page, complete, &d).into_bytes(),
            d.updated,
        ),
    }))
}

/// Both status pages for these source states, into `site` (for `export`).
pub(crate) fn render_status(
    config: &Config,
    store: &Store,
    states: &[SourceState],
    site: &mut Site,
) -> crate::store::Result<()> {
    let activity = store.activity(Utc::now())?;
    let stories = store.story_counts()?;
    for path in ["/status", "/status.json"] {
        if let Some(doc) = status_document(config, states, &activity, stories, None, path) {
            site.files.insert(path.into(), Arc::new(doc));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_feed_paths() {
        assert_eq!(
            source_feed_path("/sources/qlee.rss"),
            Some(("qlee", Format::Rss))
        );
        for bad in [
            "/sources/.atom",
            "/sources/qlee.xml",
            "/sources/a/b.atom",
            "/feed.atom",
        ] {
            assert_eq!(source_feed_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn source_page_paths() {
        assert_eq!(source_page_path("/sources/qlee.html"), Some("qlee"));
        for bad in ["/sources/.html", "/sources/a/b.html", "/sources/qlee.atom"] {
            assert_eq!(source_page_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn archive_paths() {
        assert_eq!(
            archive_page("/archive/12.atom"),
            Some((12, ArchiveDoc::Feed(Format::Atom)))
        );
        assert_eq!(
            archive_page("/archive/3.json"),
            Some((3, ArchiveDoc::Feed(Format::Json)))
        );
        assert_eq!(archive_page("/archive/3.html"), Some((3, ArchiveDoc::Page)));
        for bad in [
            "/archive/.atom",
            "/archive/1x.atom",
            "/archive/12.rss",
            "/archive/12.atom.gz",
            "/archive/9999999999.atom",
            "/archive/-1.atom",
        ] {
            assert_eq!(archive_page(bad), None, "{bad}");
        }
    }
}
