//! Finding the news entries on a listing page, on any CMS. The rooms:
//! `detect` finds the repeated news blocks automatically, `block` reads one
//! block (link, title, date, teaser, author), `selectors` applies the
//! operator's CSS selectors from config.toml instead, and `pagination` finds
//! the next page. Owned here: the entry point, the entry types and the
//! fingerprint every entry carries.

mod block;
mod detect;
mod pagination;
mod selectors;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use url::Url;

use super::{Page, sel, text_of};

pub(crate) use block::clean_author;
pub use selectors::{FieldSelector, Selectors};

/// One entry as the listing shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListingEntry {
    pub link: Url,
    pub title: Option<String>,
    pub published: Option<DateTime<Utc>>,
    /// The date came from markup meant for machines (`<time datetime>`, microdata).
    pub date_structured: bool,
    pub summary: Option<String>,
    pub author: Option<String>,
    pub categories: Vec<String>,
    /// Hash of what the listing shows; when it changes the article page is fetched again.
    pub fingerprint: String,
    /// The news is on the listing page itself (no article page to fetch).
    pub inline: bool,
}

/// The entries of a listing page and where the next page is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    pub entries: Vec<ListingEntry>,
    pub next_page: Option<Url>,
    /// How the entries were found, for logs, `discover` and `preview`.
    pub method: String,
    /// The site's name (og:site_name, else the page title).
    pub site_name: Option<String>,
}

/// Reads the listing: with the operator's selectors if given, else automatically.
pub fn parse_listing(page: &Page, selectors: Option<&Selectors>) -> Listing {
    let next_page = pagination::next_page(page);
    let site_name = page
        .meta("og:site_name")
        .or_else(|| page.doc.select(&sel("title")).next().map(|t| text_of(&t)))
        .filter(|t| !t.is_empty());
    if let Some(s) = selectors {
        let entries = selectors::with_selectors(page, s);
        return Listing {
            method: format!(
                "selectors (item = \"{}\"): {} entries",
                s.item_css,
                entries.len()
            ),
            entries,
            next_page,
            site_name,
        };
    }
    let (entries, method) = detect::automatic(page);
    Listing {
        entries,
        next_page,
        method,
        site_name,
    }
}

/// A listing entry with its fingerprint, built the same way on every path.
fn entry(
    link: Url,
    title: Option<String>,
    published: Option<DateTime<Utc>>,
    date_structured: bool,
    summary: Option<String>,
    author: Option<String>,
    categories: Vec<String>,
) -> ListingEntry {
    let mut h = Sha256::new();
    for part in [
        link.as_str(),
        title.as_deref().unwrap_or(""),
        summary.as_deref().unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(published.map(|p| p.timestamp()).unwrap_or(0).to_le_bytes());
    ListingEntry {
        fingerprint: hex::encode(&h.finalize()[..8]),
        link,
        title,
        published,
        date_structured,
        summary,
        author,
        categories,
        inline: false,
    }
}

/// A page parsed as if fetched from `url`, for the rooms' unit tests.
#[cfg(test)]
fn test_page(html: &str, url: &str) -> Page {
    Page::parse(html, &Url::parse(url).unwrap()).unwrap()
}
