//! Reading one source over the network, whatever it is: a feed; a page that
//! announces a feed (discovery, for kind "auto" or a feed given by its
//! homepage); or an HTML news listing with its further pages (backfill on the
//! first poll only) and its article pages, each fetched once and then only
//! when the listing entry changes, conditionally, within a per-poll budget;
//! for a feed with `full_text`, the article pages of its teaser items.
//!
//! Plain data in, plain data out: what the source remembers from earlier
//! polls comes in as [`Remembered`] and the article-page cache as a map; the
//! pipeline looks both up in the store and stores what comes back. A new
//! source kind is one more file here and one more arm in [`Reader::read`].

mod discovery;
mod full_text;
mod listing;
pub mod pool;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use url::Url;

use crate::config::{FetchSettings, SourceConfig};
use crate::extract::{ExtractError, Extracted, feed};
use crate::fetch::{DocumentSlot, FetchError, FetchOutcome, Fetcher, ResponseMeta, Want};
use crate::model::{PageRecord, Resolution, ResolvedKind, SourceKind, Validators};

pub use listing::ListingRead;

/// What earlier polls of a source left behind that decides how to read it now.
#[derive(Debug, Clone, Default)]
pub struct Remembered {
    /// Where to poll: the configured URL, a discovered feed, or where the partner moved.
    pub poll_url: Option<Url>,
    pub validators: Validators,
    pub resolved_kind: Option<ResolvedKind>,
    /// No poll has succeeded yet: an HTML listing reads its older pages too.
    pub first_poll: bool,
}

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

/// What one request for a source's URL gave.
// One value per poll, moved once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Read {
    NotModified(ResponseMeta),
    Document(Document),
    /// A news listing whose article pages are still to be read
    /// ([`Reader::read_articles`], with the cache of the pages it links to).
    Listing(ListingRead),
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error("{0}")]
    Task(String),
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

    /// The partner's HTTP status, where the failure was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            ReadError::Fetch(f) => f.http_status(),
            _ => None,
        }
    }

    /// When the partner asked us to come back (Retry-After).
    pub fn retry_after(&self) -> Option<DateTime<Utc>> {
        match self {
            ReadError::Fetch(f) => f.retry_after(),
            _ => None,
        }
    }
}

/// Everything a read needs.
pub struct Reader<'a> {
    pub fetcher: &'a Fetcher,
    pub settings: &'a FetchSettings,
    pub source: &'a SourceConfig,
    pub remembered: &'a Remembered,
    pub now: DateTime<Utc>,
}

enum Plan {
    Feed,
    Html,
    /// Kind "feed" given a page, or kind "auto" not yet decided.
    Discover,
}

/// Parsing is CPU work: it runs on the parse pool, off the async threads
/// and off the blocking threads the store needs; a poll that gives up on
/// it abandons it (`pool`).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ReadError> {
    pool::run(f)
        .await
        .map_err(|e| ReadError::Task(e.to_string()))
}

impl Reader<'_> {
    fn plan(&self) -> Plan {
        match (self.source.kind, self.remembered.resolved_kind) {
            (SourceKind::Html, _) => Plan::Html,
            (_, Some(ResolvedKind::Feed)) => Plan::Feed,
            (SourceKind::Auto, Some(ResolvedKind::Html)) => Plan::Html,
            _ => Plan::Discover,
        }
    }

    /// Requests the source's URL (conditionally) and reads what it is,
    /// leaving in `slot` the document slot that the poll keeps until the
    /// document is stored (see `Fetcher::get_document`).
    pub async fn read(&self, slot: &mut Option<DocumentSlot>) -> Result<Read, ReadError> {
        let url = self
            .remembered
            .poll_url
            .clone()
            .unwrap_or_else(|| self.source.url.clone());
        let plan = self.plan();
        let want = if matches!(plan, Plan::Html) {
            Want::Page
        } else {
            Want::Feed
        };
        let (meta, body) = match self
            .fetcher
            .get_document(
                &url,
                &self.remembered.validators,
                want,
                slot,
                &self.source.access,
                // A feed is one request, unless its article pages follow
                // (`full_text`); a page leads to others at its origin.
                matches!(plan, Plan::Feed) && !self.source.full_text,
            )
            .await?
        {
            FetchOutcome::NotModified(meta) => return Ok(Read::NotModified(meta)),
            FetchOutcome::Fetched { meta, body } => (meta, body),
        };
        // Boxed: what follows the request is most of a poll's state, and
        // polls waiting for a slot should not each hold it (with 1,000
        // sources due at once, ~15 MB; BENCHMARKS.md, "Issue 18: memory").
        match plan {
            Plan::Feed => Ok(self.feed_read(Box::pin(self.feed_document(meta, body, None)).await?)),
            Plan::Html => Box::pin(self.html_listing(meta, body, None)).await,
            Plan::Discover => Box::pin(self.discover(meta, body)).await,
        }
    }

    async fn feed_document(
        &self,
        meta: ResponseMeta,
        body: Bytes,
        resolution: Option<Resolution>,
    ) -> Result<Document, ReadError> {
        let max_items = self.settings.max_items;
        let (m, b) = (meta.clone(), body);
        let extracted = blocking(move || {
            feed::parse_feed(&b, m.content_type.as_deref(), &m.final_url, max_items)
        })
        .await??;
        let mut notes = vec![format!("feed: {} items", extracted.items.len())];
        notes.extend(extracted.problems.iter().map(|p| format!("repaired: {p}")));
        Ok(Document {
            notes,
            meta,
            extracted,
            pages: Vec::new(),
            resolution,
        })
    }
}
