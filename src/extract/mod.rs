//! Turning fetched bytes into candidate items: feeds through feed-rs, dates
//! through our German-aware parser. Output is raw (unsanitised, uncanonical)
//! text; `normalize` makes it safe and comparable.

pub mod charset;
pub mod dates;
pub mod discover;
pub mod feed;
pub mod html;

use url::Url;

use crate::model::ExtractedItem;

/// A parsed partner document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    pub title: Option<String>,
    /// The partner's website, as the feed names it.
    pub home: Option<Url>,
    pub items: Vec<ExtractedItem>,
    /// Items the document held beyond the per-poll cap (dropped, reported).
    pub skipped: usize,
    /// RSS `<ttl>`: minutes the partner asks caches to wait.
    pub ttl_minutes: Option<u32>,
    /// What reading the document had to guess, repair or lose (an encoding
    /// fallback, a repaired document, an entry that could not be read): the
    /// document was still read, but the partner should hear about it.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ExtractError {
    #[error("empty response body")]
    Empty,
    #[error("not a feed: the body is an HTML page")]
    HtmlNotFeed,
    #[error("not a feed (RSS, Atom, RDF or JSON Feed expected): {0}")]
    NotAFeed(String),
    #[error("feed could not be parsed: {0}")]
    Malformed(String),
    #[error("{0}")]
    NoEntries(String),
    /// Refused before parsing (see `markup`): parsing it would cost minutes.
    #[error("page not parsed: {0} (limit for partner pages)")]
    OverBudget(#[from] crate::markup::OverBudget),
}
