//! Turning fetched bytes into candidate items: feeds through feed-rs, dates
//! through our German-aware parser. Output is raw (unsanitised, uncanonical)
//! text; `normalize` makes it safe and comparable.

pub mod charset;
pub mod dates;
pub mod discover;
pub mod feed;
pub mod html;

use chrono::{DateTime, Utc};
use url::Url;

/// A piece of partner text that may be HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    pub text: String,
    pub is_html: bool,
}

impl Fragment {
    pub fn html(text: impl Into<String>) -> Self {
        Fragment {
            text: text.into(),
            is_html: true,
        }
    }
    pub fn plain(text: impl Into<String>) -> Self {
        Fragment {
            text: text.into(),
            is_html: false,
        }
    }
}

/// One item as the partner published it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtractedItem {
    /// The partner's own id (RSS guid, Atom id, JSON Feed id), if it gave one.
    pub guid: Option<String>,
    /// The article link, already absolute.
    pub link: Option<Url>,
    pub title: Option<Fragment>,
    pub summary: Option<Fragment>,
    pub content: Option<Fragment>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
    /// Base for relative URLs inside summary and content.
    pub base: Option<Url>,
}

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
}
