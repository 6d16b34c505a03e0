//! HTML sources: the news listing with its further pages, then the article
//! pages behind its entries — each fetched once and afterwards only when its
//! entry on the listing changes, conditionally, within a per-poll budget.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use futures_util::StreamExt;
use url::Url;

use super::{Document, Read, ReadError, Reader, blocking};
use crate::extract::html::{self, Article, Listing, ListingEntry, Page};
use crate::extract::{ExtractError, Extracted, charset};
use crate::fetch::{FetchOutcome, ResponseMeta, Want};
use crate::model::{ExtractedItem, PageRecord, Resolution, Validators};

/// A failed article page is not asked again for this long unless its listing entry changes.
const RETRY_FAILED_PAGE_AFTER: chrono::Duration = chrono::Duration::hours(24);

/// A listing read, its article pages not yet.
#[derive(Debug)]
pub struct ListingRead {
    /// Response of the polled URL (its validators are stored for the next poll).
    pub meta: ResponseMeta,
    site_name: Option<String>,
    /// Entries beyond `fetch.max_items`.
    skipped: usize,
    entries: Vec<ListingEntry>,
    resolution: Option<Resolution>,
    notes: Vec<String>,
    /// Instead of a listing: a feed whose teaser items wait for their
    /// article pages (`full_text`); the fields above are then unused.
    pub(super) full_text: Option<super::full_text::Teasers>,
}

impl ListingRead {
    /// The article pages whose stored state [`Reader::read_articles`] needs.
    pub fn page_urls(&self) -> Vec<String> {
        if let Some(teasers) = &self.full_text {
            return teasers.page_urls();
        }
        self.entries.iter().map(|e| e.link.to_string()).collect()
    }

    /// A feed's teasers, to be completed like a listing's entries.
    pub(super) fn of_teasers(teasers: super::full_text::Teasers) -> ListingRead {
        ListingRead {
            meta: teasers.meta().clone(),
            site_name: None,
            skipped: 0,
            entries: Vec::new(),
            resolution: None,
            notes: Vec::new(),
            full_text: Some(teasers),
        }
    }
}

impl Reader<'_> {
    async fn parse_listing(&self, meta: &ResponseMeta, body: Bytes) -> Result<Listing, ReadError> {
        let selectors = self.source.selectors.clone();
        let (ct, url) = (meta.content_type.clone(), meta.final_url.clone());
        blocking(move || {
            let text = charset::decode_html(&body, ct.as_deref());
            Page::parse(&text, &url).map(|page| html::parse_listing(&page, selectors.as_ref()))
        })
        .await?
        .map_err(ReadError::from)
    }

    /// A news listing and its further pages (backfill on the first poll);
    /// its article pages are read by [`Reader::read_articles`].
    pub(super) async fn html_listing(
        &self,
        meta: ResponseMeta,
        body: Bytes,
        resolution: Option<Resolution>,
    ) -> Result<Read, ReadError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(ExtractError::Empty.into());
        }
        let first = self.parse_listing(&meta, body).await?;
        let mut notes = vec![format!("listing {}: {}", meta.final_url, first.method)];
        let site_name = first.site_name.clone();
        let mut entries = first.entries;
        let mut next = first.next_page;
        let backfill = if self.remembered.first_poll {
            self.settings.backfill_pages
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
                .get_as(
                    &url,
                    &Validators::default(),
                    Want::Page,
                    &self.source.access,
                )
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
        entries.truncate(self.settings.max_items);
        if entries.is_empty() {
            return Err(ExtractError::NoEntries(format!(
                "no news entries found on the page {} (add [source.selectors] if it has news)",
                meta.final_url
            ))
            .into());
        }
        Ok(Read::Listing(ListingRead {
            meta,
            site_name,
            skipped: total - entries.len(),
            entries,
            resolution,
            notes,
            full_text: None,
        }))
    }

    /// The article pages of a listing, read only where the entry changed
    /// since `cache` (the stored pages of [`ListingRead::page_urls`]) saw it.
    pub async fn read_articles(
        &self,
        listing: ListingRead,
        cache: HashMap<String, PageRecord>,
    ) -> Result<Document, ReadError> {
        let ListingRead {
            meta,
            site_name,
            skipped,
            entries,
            resolution,
            mut notes,
            full_text,
        } = listing;
        if let Some(teasers) = full_text {
            return self.complete_teasers(teasers, cache).await;
        }
        let (items, pages, fetched, reused) = self.articles(&entries, cache).await?;
        notes.push(format!(
            "{} entries; {fetched} article pages requested, {reused} unchanged ones reused",
            entries.len()
        ));
        Ok(Document {
            meta,
            extracted: Extracted {
                title: site_name,
                home: None,
                skipped,
                items,
                ttl_minutes: None,
                problems: Vec::new(),
            },
            pages,
            resolution,
            notes,
        })
    }

    /// Whether a stored article page still stands for an entry that looks
    /// like `fingerprint` (a failed page is retried only after a while).
    pub(super) fn page_is_fresh(&self, cached: Option<&PageRecord>, fingerprint: &str) -> bool {
        cached.is_some_and(|c| {
            c.fingerprint == fingerprint
                && (c.article.is_some() || self.now - c.fetched_at < RETRY_FAILED_PAGE_AFTER)
        })
    }

    /// Items for listing entries, reading article pages only where the entry changed.
    async fn articles(
        &self,
        entries: &[ListingEntry],
        cache: HashMap<String, PageRecord>,
    ) -> Result<(Vec<ExtractedItem>, Vec<PageRecord>, usize, usize), ReadError> {
        let mut budget = if self.source.follow_articles {
            self.settings.article_pages
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
            let fresh = self.page_is_fresh(cached.as_ref(), &e.fingerprint);
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
            .buffered(self.settings.per_host.max(1))
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
        let (article, record) = self
            .article(&entry.link, &entry.fingerprint, cached)
            .await?;
        Ok((html::merge(entry, article.as_ref()), Some(record)))
    }

    /// One article page, conditionally; a page that can't be read leaves the
    /// listing's (or feed's) data. `fingerprint` is what the entry looked
    /// like when the page was read (stored with the page).
    pub(super) async fn article(
        &self,
        link: &Url,
        fingerprint: &str,
        cached: Option<PageRecord>,
    ) -> Result<(Option<Article>, PageRecord), ReadError> {
        let validators = cached
            .as_ref()
            .filter(|c| c.article.is_some())
            .map(|c| c.validators.clone())
            .unwrap_or_default();
        let previous = cached.as_ref().and_then(|c| c.article.clone());
        let mut record = PageRecord {
            url: link.to_string(),
            fingerprint: fingerprint.to_string(),
            validators: Validators::default(),
            status: None,
            fetched_at: self.now,
            article: None,
        };
        match self
            .fetcher
            .get_as(link, &validators, Want::Page, &self.source.access)
            .await
        {
            Ok(FetchOutcome::NotModified(meta)) => {
                record.status = Some(304);
                record.validators = meta.validators;
                record.article = previous;
            }
            Ok(FetchOutcome::Fetched { meta, body }) => {
                record.status = Some(meta.status);
                record.validators = meta.validators.clone();
                let content = self.source.content_selector().cloned();
                let remove = self.source.remove.clone();
                let article = blocking(move || {
                    let text = charset::decode_html(&body, meta.content_type.as_deref());
                    Page::parse(&text, &meta.final_url).map(|page| {
                        let mut article = html::parse_article(&page, content.as_ref());
                        if let Some(body) = article.content_html.as_mut() {
                            *body = html::prune::remove_matching(body, &remove);
                        }
                        article
                    })
                })
                .await?;
                match article {
                    Ok(article) => {
                        if let Some(bad) = &article.broken_date {
                            // Logged when the page is read, i.e. once, not at every poll.
                            tracing::warn!(source = %self.source.id, url = %link, date = %bad, "article page shows an impossible date; using the listing's date instead");
                        }
                        record.article = serde_json::to_string(&article).ok();
                    }
                    Err(e) => {
                        // Like an unreadable page: the listing entry provides the item.
                        tracing::warn!(source = %self.source.id, url = %link, error = %e, "article page not read; using the listing entry");
                        record.article = previous;
                    }
                }
            }
            Err(e) => {
                tracing::debug!(source = %self.source.id, url = %link, error = %e, "article page not read; using the listing entry");
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
