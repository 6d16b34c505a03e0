//! The types every stage shares, so that no stage imports another to name
//! its input: items as extracted and as normalised, the source kinds, what
//! a poll remembers (validators, history, article pages read) and the
//! permanent ids we mint.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

/// A piece of partner text that may be HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    pub text: String,
    pub is_html: bool,
    /// The format declared the type (Atom's `type`): plain text is then those
    /// characters exactly ("Example <b>Atom</b>"), never guessed to be HTML.
    /// RSS declares nothing, and a plain RSS title may hold HTML.
    pub declared: bool,
}

impl Fragment {
    pub fn html(text: impl Into<String>) -> Self {
        Fragment {
            text: text.into(),
            is_html: true,
            declared: false,
        }
    }
    pub fn plain(text: impl Into<String>) -> Self {
        Fragment {
            text: text.into(),
            is_html: false,
            declared: false,
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
    /// Pictures, videos, audio and documents the partner attached (absolute
    /// URLs, unchecked: `normalize` keeps only safe ones).
    pub media: Vec<Media>,
    /// Where the title and the date were read (shown by `preview`).
    pub origin: Origin,
}

/// What a media file is, in Media RSS's words (its `medium` attribute).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Medium {
    Image,
    Video,
    Audio,
    Document,
    #[default]
    Other,
}

impl Medium {
    /// The Media RSS `medium` value; `None` for a kind it has no word for.
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            Medium::Image => Some("image"),
            Medium::Video => Some("video"),
            Medium::Audio => Some("audio"),
            Medium::Document => Some("document"),
            Medium::Other => None,
        }
    }

    /// The medium a MIME type names (`image/jpeg` → image, `application/pdf` → document).
    pub fn of_mime_type(mime: &str) -> Medium {
        let mime = mime.to_ascii_lowercase();
        match mime.split('/').next().unwrap_or_default() {
            "image" => Medium::Image,
            "video" => Medium::Video,
            "audio" => Medium::Audio,
            _ if mime == "application/pdf" => Medium::Document,
            _ => Medium::Other,
        }
    }
}

/// Where a field of an item was read, so an operator can see why it says what it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provenance {
    /// A feed's own element (RSS, Atom, JSON Feed).
    Feed,
    /// What the listing page shows for the entry.
    Listing,
    /// schema.org JSON-LD.
    JsonLd,
    /// schema.org microdata (`itemprop`).
    Microdata,
    /// A `<meta>` tag (OpenGraph, article:*, Dublin Core, parse.ly, …).
    Meta,
    /// A `<time datetime>` element.
    TimeElement,
    /// A date-bearing attribute (`<abbr title>`, `data-date`).
    Attribute,
    /// Text after a label ("Datum:", "Veröffentlicht am", "Posted on").
    Labelled,
    /// A date shown as text near the headline.
    VisibleText,
    /// A date written inside the headline.
    Headline,
    /// The page's `<h1>` (or the heading that matches its title).
    Heading,
    /// `og:title`.
    OgTitle,
    /// `<title>` without the site name.
    DocumentTitle,
    /// The article's URL (/2022/02/03/).
    Url,
}

impl Provenance {
    /// A short label for tables and logs.
    pub fn label(self) -> &'static str {
        match self {
            Provenance::Feed => "feed",
            Provenance::Listing => "listing",
            Provenance::JsonLd => "JSON-LD",
            Provenance::Microdata => "microdata",
            Provenance::Meta => "meta",
            Provenance::TimeElement => "<time>",
            Provenance::Attribute => "attribute",
            Provenance::Labelled => "labelled",
            Provenance::VisibleText => "visible text",
            Provenance::Headline => "headline",
            Provenance::Heading => "heading",
            Provenance::OgTitle => "og:title",
            Provenance::DocumentTitle => "<title>",
            Provenance::Url => "URL",
        }
    }
}

/// A picture, video, audio file or document that belongs to an item: an
/// RSS enclosure, a Media RSS content or thumbnail, an Atom enclosure link,
/// a JSON Feed attachment or image, an article page's lead image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    pub url: String,
    /// `image/jpeg`, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub medium: Medium,
    /// The item's picture (a thumbnail, og:image, JSON Feed `image`) rather
    /// than an attachment of its own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preview: bool,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Playing time in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u64>,
    /// Title or description, plain text (the alt text of a picture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl Media {
    /// The picture to show for an item: its preview image, else its first
    /// image attachment.
    pub fn picture(media: &[Media]) -> Option<&Media> {
        media
            .iter()
            .find(|m| m.preview && m.medium == Medium::Image)
            .or_else(|| {
                media
                    .iter()
                    .find(|m| !m.preview && m.medium == Medium::Image)
            })
    }

    /// What an item carries as attachments (everything but preview images).
    pub fn attachments(media: &[Media]) -> impl Iterator<Item = &Media> {
        media.iter().filter(|m| !m.preview)
    }
}

/// Where an extracted item's title and date came from (`None`: not given).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Origin {
    pub title: Option<Provenance>,
    pub date: Option<Provenance>,
}

/// An item ready for identity matching and storage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Item {
    pub guid: Option<String>,
    /// The article link as republished: tracking parameters and fragment removed.
    pub link: Option<String>,
    /// The link without its scheme, for matching (http and https are the same article).
    pub link_key: Option<String>,
    pub title: String,
    pub summary_html: Option<String>,
    pub content_html: Option<String>,
    /// Plain text of summary or content, for teasers and story matching.
    pub text: String,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
    /// Set by `filter`: why the operator's rules hide the item (`None`: shown).
    pub hidden: Option<String>,
    /// Set by `filter`: the source's and matching rules' tags.
    pub tags: Vec<String>,
    /// Checked media: http(s) URLs only, capped in number and length.
    pub media: Vec<Media>,
}

/// What the operator configured a source as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Feed,
    Html,
    Auto,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Feed => "feed",
            SourceKind::Html => "html",
            SourceKind::Auto => "auto",
        }
    }

    /// Every kind, for messages that list the valid words.
    pub const ALL: [SourceKind; 3] = [SourceKind::Feed, SourceKind::Html, SourceKind::Auto];

    /// Reads the stored or configured word; `None` for anything else.
    pub fn parse(text: &str) -> Option<SourceKind> {
        match text {
            "feed" => Some(SourceKind::Feed),
            "html" => Some(SourceKind::Html),
            "auto" => Some(SourceKind::Auto),
            _ => None,
        }
    }
}

/// What a source turned out to be: `kind = "auto"` and feeds given by a
/// homepage are resolved by discovery, and the result is remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResolvedKind {
    Feed,
    Html,
}

impl ResolvedKind {
    /// As stored in the `sources.resolved_kind` column and shown on /status.
    pub fn as_str(self) -> &'static str {
        match self {
            ResolvedKind::Feed => "feed",
            ResolvedKind::Html => "html",
        }
    }

    /// Reads the stored column; anything else is "not resolved yet".
    pub fn parse(text: &str) -> Option<ResolvedKind> {
        match text {
            "feed" => Some(ResolvedKind::Feed),
            "html" => Some(ResolvedKind::Html),
            _ => None,
        }
    }
}

/// What discovery found a source to be, to be remembered.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    pub kind: ResolvedKind,
    /// The feed's URL when it differs from the configured one.
    pub fetch_url: Option<Url>,
    /// For the status page and the log.
    pub how: String,
}

impl Resolution {
    /// Whether discovery found what the configuration does not say: a
    /// feed at another URL, or a page to read as HTML. A configured URL
    /// that simply is a feed is no news; logged at INFO it made a new
    /// config's first cycle one line per source.
    pub fn is_news(&self) -> bool {
        self.fetch_url.is_some() || self.kind != ResolvedKind::Feed
    }
}

/// A configured source as the store registers it.
#[derive(Debug, Clone, Copy)]
pub struct Registration<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub kind: SourceKind,
    pub url: &'a Url,
}

/// What the previous successful poll told us, sent back as If-None-Match / If-Modified-Since.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A cached article page of an HTML source: what the reader produced when it
/// last read the page, kept so that an unchanged listing entry costs no
/// request and a changed one a conditional request.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRecord {
    pub url: String,
    /// The listing entry's fingerprint when the page was read.
    pub fingerprint: String,
    pub validators: Validators,
    pub status: Option<u16>,
    pub fetched_at: DateTime<Utc>,
    /// Extracted article as JSON; `None` when the page could not be read.
    pub article: Option<String>,
}

/// What the scheduler remembers about a source between polls (stored in SQLite).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PollHistory {
    pub last_attempt: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    /// The partner asked not to be polled before this (Retry-After, max-age, TTL).
    pub not_before: Option<DateTime<Utc>>,
}

/// A permanent entry id: a UUID (RFC 9562 version 8) derived from `parts`,
/// valid as an Atom id and the same whenever the same item is seen again.
pub fn stable_uuid(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let mut b = [0u8; 16];
    b.copy_from_slice(&h.finalize()[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    // Written straight into one string: two of these per new item are made
    // on the writer, and `format!` alone was a quarter of their
    // instructions (callgrind, SHA-256 in software; natively more).
    let mut hex = [0u8; 32];
    hex::encode_to_slice(b, &mut hex).expect("32 hex digits for 16 bytes");
    let mut id = String::with_capacity("urn:uuid:".len() + 36);
    id.push_str("urn:uuid:");
    for (at, &digit) in hex.iter().enumerate() {
        if matches!(at, 8 | 12 | 16 | 20) {
            id.push('-');
        }
        id.push(char::from(digit));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_resolution_other_than_the_configured_feed_is_news() {
        let at = |kind, fetch_url: Option<&str>| Resolution {
            kind,
            fetch_url: fetch_url.map(|u| Url::parse(u).unwrap()),
            how: String::new(),
        };
        assert!(!at(ResolvedKind::Feed, None).is_news());
        assert!(at(ResolvedKind::Feed, Some("https://lr.example/feed")).is_news());
        assert!(at(ResolvedKind::Html, None).is_news());
    }

    #[test]
    fn stable_uuid_is_deterministic_and_well_formed() {
        let a = stable_uuid(&["item", "qlee", "guid:1"]);
        assert_eq!(a, stable_uuid(&["item", "qlee", "guid:1"]));
        assert_ne!(a, stable_uuid(&["item", "qlee", "guid:2"]));
        assert_eq!(a.len(), "urn:uuid:".len() + 36);
        assert_eq!(&a[23..24], "8");
    }

    /// Served entry ids are derived from these: a reader's subscriptions
    /// keep their read state only while every version derives the same.
    #[test]
    fn stable_uuid_derives_the_ids_it_always_did() {
        assert_eq!(
            stable_uuid(&["item", "qlee", "guid:1"]),
            "urn:uuid:0ab7bafe-58a1-8301-b787-d8a8cefd4bf2"
        );
        assert_eq!(
            stable_uuid(&["story", "", "link:x/ä"]),
            "urn:uuid:5682eb34-4f35-8e6e-ba94-428d6722e607"
        );
    }
}
