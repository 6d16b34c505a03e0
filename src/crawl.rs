//! Reading one source over the network, whatever it is: a feed; a page that
//! announces a feed (discovery, for kind "auto" or a feed given by its
//! homepage); or an HTML news listing with its further pages (backfill on the
//! first poll only) and its article pages, each fetched once and then only
//! when the listing entry changes, conditionally, within a per-poll budget.
//! Returns plain data; `app` stores it.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use url::Url;

use crate::config::{Config, SourceConfig};
use crate::extract::discover::{self, FeedLink};
use crate::extract::html::{self, Article, Listing, ListingEntry, Page};
use crate::extract::{ExtractError, Extracted, charset, feed};
use crate::fetch::{DocumentSlot, FetchError, FetchOutcome, Fetcher, ResponseMeta, Want};
use crate::model::{ExtractedItem, PageRecord, Validators};
use crate::model::{Resolution, ResolvedKind, SourceKind};
use crate::store::{SourceState, Store, StoreError};

/// A failed article page is not asked again for this long unless its listing entry changes.
const RETRY_FAILED_PAGE_AFTER: chrono::Duration = chrono::Duration::hours(24);
/// Feeds a page announces that are tried before giving up on discovery.
const MAX_ANNOUNCED_FEEDS: usize = 4;

/// A document read from a source, ready to normalise and store.
#[derive(Debug)]
pub struct Document {
    /// Response of the polled URL (its validators are stored for the next poll).
    pub meta: ResponseMeta,
    pub extracted: Extracted,
    /// Article pages read or confirmed in this poll.
    pub pages: Vec<PageRecord>,
    pub resolution: Option<Resolution>,
    /// What was done, for `preview`, `discover` and debug logs.
    pub notes: Vec<String>,
}

// One value per poll, moved once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Read {
    NotModified(ResponseMeta),
    Document(Document),
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Task(String),
    #[error("the whole poll took longer than {0:?} (fetch.poll_deadline); stopped")]
    Deadline(std::time::Duration),
}

impl ReadError {
    /// The remembered feed URL no longer leads to a feed: discover again next time.
    pub fn invalidates_discovery(&self) -> bool {
        matches!(
            self,
            ReadError::Fetch(FetchError::Status {
                status: 404 | 410,
                ..
            })
        ) || matches!(
            self,
            ReadError::Extract(ExtractError::HtmlNotFeed | ExtractError::NotAFeed(_))
        )
    }
}

/// Everything a read needs.
pub struct Reader<'a> {
    pub fetcher: &'a Fetcher,
    pub store: &'a Store,
    pub config: &'a Config,
    pub source: &'a SourceConfig,
    pub state: &'a SourceState,
    pub now: DateTime<Utc>,
}

enum Plan {
    Feed,
    Html,
    /// Kind "feed" given a page, or kind "auto" not yet decided.
    Discover,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ReadError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ReadError::Task(format!("parsing task failed: {e}")))
}

impl Reader<'_> {
    fn plan(&self) -> Plan {
        match (self.source.kind, self.state.resolved_kind) {
            (SourceKind::Html, _) => Plan::Html,
            (_, Some(ResolvedKind::Feed)) => Plan::Feed,
            (SourceKind::Auto, Some(ResolvedKind::Html)) => Plan::Html,
            _ => Plan::Discover,
        }
    }

    pub async fn read(&self) -> Result<Read, ReadError> {
        self.read_holding(&mut None).await
    }

    /// `read`, leaving in `slot` the document slot that the poll keeps
    /// until the document is stored (see `Fetcher::get_document`).
    pub async fn read_holding(&self, slot: &mut Option<DocumentSlot>) -> Result<Read, ReadError> {
        let url = Url::parse(self.state.poll_url()).unwrap_or_else(|_| self.source.url.clone());
        let plan = self.plan();
        let want = if matches!(plan, Plan::Html) {
            Want::Page
        } else {
            Want::Feed
        };
        let (meta, body) = match self
            .fetcher
            .get_document(&url, &self.state.validators, want, slot)
            .await?
        {
            FetchOutcome::NotModified(meta) => return Ok(Read::NotModified(meta)),
            FetchOutcome::Fetched { meta, body } => (meta, body),
        };
        let doc = match plan {
            Plan::Feed => self.feed_document(meta, body, None).await?,
            Plan::Html => self.html_document(meta, body, None).await?,
            Plan::Discover => self.discover(meta, body).await?,
        };
        Ok(Read::Document(doc))
    }

    async fn feed_document(
        &self,
        meta: ResponseMeta,
        body: Bytes,
        resolution: Option<Resolution>,
    ) -> Result<Document, ReadError> {
        let max_items = self.config.fetch.max_items;
        let (m, b) = (meta.clone(), body);
        let extracted = blocking(move || {
            feed::parse_feed(&b, m.content_type.as_deref(), &m.final_url, max_items)
        })
        .await??;
        Ok(Document {
            notes: vec![format!("feed: {} items", extracted.items.len())],
            meta,
            extracted,
            pages: Vec::new(),
            resolution,
        })
    }

    /// The configured URL is not (or no longer) known to be a feed: find out.
    async fn discover(&self, meta: ResponseMeta, body: Bytes) -> Result<Document, ReadError> {
        if discover::looks_like_feed(&body, meta.content_type.as_deref()) {
            let how = "the configured URL is a feed".to_string();
            return self
                .feed_document(
                    meta,
                    body,
                    Some(Resolution {
                        kind: ResolvedKind::Feed,
                        fetch_url: None,
                        how,
                    }),
                )
                .await;
        }
        let (m, b) = (meta.clone(), body.clone());
        let announced = blocking(move || {
            let text = charset::decode_html(&b, m.content_type.as_deref());
            discover::feed_links(&Page::parse(&text, &m.final_url))
        })
        .await?;
        let mut candidates: Vec<(Url, String)> = announced
            .into_iter()
            .take(MAX_ANNOUNCED_FEEDS)
            .map(|FeedLink { url, .. }| {
                let how = format!("feed {url} announced by the page {}", meta.final_url);
                (url, how)
            })
            .collect();
        if self.source.kind == SourceKind::Auto {
            for url in discover::common_feed_urls(&meta.final_url) {
                if !candidates.iter().any(|(c, _)| *c == url) {
                    let how = format!("feed found at the common path {url}");
                    candidates.push((url, how));
                }
            }
        }
        for (url, how) in candidates {
            let Ok(FetchOutcome::Fetched { meta: fm, body: fb }) = self
                .fetcher
                .get(&url, &Validators::default(), Want::Feed)
                .await
            else {
                continue;
            };
            if !discover::looks_like_feed(&fb, fm.content_type.as_deref()) {
                continue;
            }
            let resolution = Resolution {
                kind: ResolvedKind::Feed,
                fetch_url: Some(fm.final_url.clone()),
                how,
            };
            if let Ok(doc) = self.feed_document(fm, fb, Some(resolution)).await {
                return Ok(doc);
            }
        }
        if self.source.kind != SourceKind::Auto {
            return Err(ExtractError::HtmlNotFeed.into());
        }
        let how = format!(
            "no feed found at {}; reading it as a news listing page",
            meta.final_url
        );
        self.html_document(
            meta,
            body,
            Some(Resolution {
                kind: ResolvedKind::Html,
                fetch_url: None,
                how,
            }),
        )
        .await
    }

    async fn parse_listing(&self, meta: &ResponseMeta, body: Bytes) -> Result<Listing, ReadError> {
        let selectors = self.source.selectors.clone();
        let (ct, url) = (meta.content_type.clone(), meta.final_url.clone());
        blocking(move || {
            let text = charset::decode_html(&body, ct.as_deref());
            html::parse_listing(&Page::parse(&text, &url), selectors.as_ref())
        })
        .await
    }

    /// A news listing: its pages (backfill on the first poll), then the article pages.
    async fn html_document(
        &self,
        meta: ResponseMeta,
        body: Bytes,
        resolution: Option<Resolution>,
    ) -> Result<Document, ReadError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(ExtractError::Empty.into());
        }
        let first = self.parse_listing(&meta, body).await?;
        let mut notes = vec![format!("listing {}: {}", meta.final_url, first.method)];
        let site_name = first.site_name.clone();
        let mut entries = first.entries;
        let mut next = first.next_page;
        let backfill = if self.state.last_success_at.is_none() {
            self.config.fetch.backfill_pages
        } else {
            1
        };
        let mut visited: HashSet<Url> = HashSet::from([meta.final_url.clone()]);
        let mut pages_read = 1;
        while pages_read < backfill {
            let Some(url) = next.take().filter(|u| !visited.contains(u)) else {
                break;
            };
            visited.insert(url.clone());
            match self
                .fetcher
                .get(&url, &Validators::default(), Want::Page)
                .await
            {
                Ok(FetchOutcome::Fetched { meta: pm, body: pb }) => {
                    let more = self.parse_listing(&pm, pb).await?;
                    notes.push(format!("listing {}: {}", pm.final_url, more.method));
                    for e in more.entries {
                        if !entries.iter().any(|x| x.link == e.link) {
                            entries.push(e);
                        }
                    }
                    next = more.next_page;
                    pages_read += 1;
                }
                Ok(FetchOutcome::NotModified(_)) => break,
                Err(e) => {
                    notes.push(format!("listing page {url} not read: {e}"));
                    break;
                }
            }
        }
        let total = entries.len();
        entries.truncate(self.config.fetch.max_items);
        if entries.is_empty() {
            return Err(ExtractError::NoEntries(format!(
                "no news entries found on the page {} (add [source.selectors] if it has news)",
                meta.final_url
            ))
            .into());
        }
        let (items, pages, fetched, reused) = self.articles(&entries).await?;
        notes.push(format!(
            "{} entries; {fetched} article pages requested, {reused} unchanged ones reused",
            entries.len()
        ));
        Ok(Document {
            meta,
            extracted: Extracted {
                title: site_name,
                home: None,
                skipped: total - entries.len(),
                items,
                ttl_minutes: None,
            },
            pages,
            resolution,
            notes,
        })
    }

    /// Items for listing entries, reading article pages only where the entry changed.
    async fn articles(
        &self,
        entries: &[ListingEntry],
    ) -> Result<(Vec<ExtractedItem>, Vec<PageRecord>, usize, usize), ReadError> {
        let urls: Vec<String> = entries.iter().map(|e| e.link.to_string()).collect();
        let (store, id) = (self.store.clone(), self.source.id.clone());
        let cache: HashMap<String, PageRecord> = store.call(move |s| s.pages(&id, &urls)).await?;
        let mut budget = if self.source.follow_articles {
            self.config.fetch.article_pages
        } else {
            0
        };
        let mut reused = 0;
        // Decide first (in listing order, so the newest entries get the budget), then fetch.
        let mut plans = Vec::with_capacity(entries.len());
        for e in entries {
            let cached = cache.get(e.link.as_str()).cloned();
            if e.inline {
                // The news is on the listing itself: nothing further to fetch.
                plans.push((e, None, false));
                continue;
            }
            let fresh = cached.as_ref().is_some_and(|c| {
                c.fingerprint == e.fingerprint
                    && (c.article.is_some() || self.now - c.fetched_at < RETRY_FAILED_PAGE_AFTER)
            });
            if fresh {
                reused += 1;
                plans.push((e, cached, false));
            } else if budget > 0 {
                budget -= 1;
                plans.push((e, cached, true));
            } else {
                plans.push((e, cached, false));
            }
        }
        let fetched = plans.iter().filter(|(_, _, fetch)| *fetch).count();
        // Futures are built first and then run a few at a time (the fetcher's
        // per-origin gates keep it polite); the order of the listing is kept.
        let pending: Vec<_> = plans
            .into_iter()
            .map(|(entry, cached, fetch)| self.item_for(entry, cached, fetch))
            .collect();
        let results: Vec<(ExtractedItem, Option<PageRecord>)> = futures_util::stream::iter(pending)
            .buffered(self.config.fetch.per_host.max(1))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        let (items, records): (Vec<_>, Vec<_>) = results.into_iter().unzip();
        Ok((
            items,
            records.into_iter().flatten().collect(),
            fetched,
            reused,
        ))
    }

    async fn item_for(
        &self,
        entry: &ListingEntry,
        cached: Option<PageRecord>,
        fetch: bool,
    ) -> Result<(ExtractedItem, Option<PageRecord>), ReadError> {
        if !fetch {
            let article = cached
                .as_ref()
                .and_then(|c| c.article.as_deref())
                .and_then(|j| serde_json::from_str::<Article>(j).ok());
            return Ok((html::merge(entry, article.as_ref()), None));
        }
        let (article, record) = self.article(entry, cached).await?;
        Ok((html::merge(entry, article.as_ref()), Some(record)))
    }

    /// One article page, conditionally; a page that can't be read leaves the listing's data.
    async fn article(
        &self,
        entry: &ListingEntry,
        cached: Option<PageRecord>,
    ) -> Result<(Option<Article>, PageRecord), ReadError> {
        let validators = cached
            .as_ref()
            .filter(|c| c.article.is_some())
            .map(|c| c.validators.clone())
            .unwrap_or_default();
        let previous = cached.as_ref().and_then(|c| c.article.clone());
        let mut record = PageRecord {
            url: entry.link.to_string(),
            fingerprint: entry.fingerprint.clone(),
            validators: Validators::default(),
            status: None,
            fetched_at: self.now,
            article: None,
        };
        match self.fetcher.get(&entry.link, &validators, Want::Page).await {
            Ok(FetchOutcome::NotModified(meta)) => {
                record.status = Some(304);
                record.validators = meta.validators;
                record.article = previous;
            }
            Ok(FetchOutcome::Fetched { meta, body }) => {
                record.status = Some(meta.status);
                record.validators = meta.validators.clone();
                let content = self
                    .source
                    .selectors
                    .as_ref()
                    .and_then(|s| s.content.as_deref())
                    .and_then(|c| html::listing::FieldSelector::parse(c).ok());
                let article = blocking(move || {
                    let text = charset::decode_html(&body, meta.content_type.as_deref());
                    html::parse_article(&Page::parse(&text, &meta.final_url), content.as_ref())
                })
                .await?;
                if let Some(bad) = &article.broken_date {
                    // Logged when the page is read, i.e. once, not at every poll.
                    tracing::warn!(source = %self.source.id, url = %entry.link, date = %bad, "article page shows an impossible date; using the listing's date instead");
                }
                record.article = serde_json::to_string(&article).ok();
            }
            Err(e) => {
                tracing::debug!(source = %self.source.id, url = %entry.link, error = %e, "article page not read; using the listing entry");
                record.status = e.http_status();
                // Keep what we knew; the listing entry still provides the item.
                record.article = previous;
                record.validators = cached.map(|c| c.validators).unwrap_or_default();
            }
        }
        let article = record
            .article
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok());
        Ok((article, record))
    }
}
