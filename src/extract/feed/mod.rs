//! The feed-rs adapter: RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and JSON Feed 1.0/1.1
//! into `ExtractedItem`s, with our own id rule (feed-rs would invent random
//! ids) and our German-aware date parser plugged into its timestamp hook.

use feed_rs::model::{Entry, Feed, FeedType, Link, Text};
use url::Url;

use super::dates::parse_timestamp;
use super::{ExtractError, Extracted, charset};
use crate::model::{ExtractedItem, Fragment, Origin, Provenance};

mod dialect;
mod media;
mod recover;

/// Parses a feed document fetched from `url`.
///
/// Bytes are decoded by the WHATWG/RFC 7303 rules first. XML is read
/// strictly; when that fails it is repaired (see `recover`) and read again,
/// and when that fails too, entry by entry, so one bad entry costs only
/// itself. What had to be guessed, repaired or lost is listed in
/// `Extracted::problems`.
pub fn parse_feed(
    bytes: &[u8],
    content_type: Option<&str>,
    url: &Url,
    max_items: usize,
) -> Result<Extracted, ExtractError> {
    let first = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace() && **b != 0xEF && **b != 0xBB && **b != 0xBF);
    if first.is_none() {
        return Err(ExtractError::Empty);
    }
    if looks_like_html(bytes) {
        return Err(ExtractError::HtmlNotFeed);
    }
    let decoded = charset::decode_feed(bytes, content_type);
    let mut problems: Vec<String> = decoded.warning.into_iter().collect();
    let mut text = decoded.text.trim_start_matches('\u{feff}');
    // quick-xml panics on an XML declaration that does not open the document
    // (found by fuzzing); feeds with a comment before it exist, so it is dropped.
    let without_late = recover::drop_late_declarations(text);
    if let Some((fixed, n)) = &without_late {
        problems.push(format!(
            "{n} XML declaration(s) not at the start of the document dropped"
        ));
        text = fixed;
    }
    if text.trim_start().starts_with('{') {
        let feed = run_feed_rs(text.as_bytes(), url)?;
        let mut extracted = convert(feed, url, max_items, problems);
        media::attach_json(text, url, &mut extracted.items);
        return Ok(extracted);
    }
    // RSS enclosures feed-rs dropped are added from the document as received.
    let with_enclosures = |mut extracted: Extracted| {
        media::attach_rss_enclosures(text, url, &mut extracted.items);
        extracted
    };
    let strict_error = match read_xml(text, url, false) {
        Ok(feed) => return Ok(with_enclosures(convert(feed, url, max_items, problems))),
        // Repair cannot make a non-feed a feed.
        Err(e @ ExtractError::NotAFeed(_)) => return Err(e),
        Err(e) => e,
    };
    let repaired = recover::repair_markup(text);
    let why = match &strict_error {
        ExtractError::Malformed(m) => m.clone(),
        other => other.to_string(),
    };
    if let Ok(feed) = read_xml(&repaired.text, url, true) {
        let repairs = if repaired.notes.is_empty() {
            "mismatched tags closed".to_string()
        } else {
            repaired.notes.join(", ")
        };
        problems.push(format!(
            "not well-formed XML ({why}); read after repair: {repairs}"
        ));
        return Ok(with_enclosures(convert(feed, url, max_items, problems)));
    }
    let why = if repaired.notes.is_empty() {
        why
    } else {
        format!("{why}; repaired: {}", repaired.notes.join(", "))
    };
    read_entry_by_entry(&repaired.text, url, max_items, problems, why)
        .map(with_enclosures)
        .ok_or(strict_error)
}

/// The last resort: every entry as a document of its own (the head of the
/// feed, the entry, the closing tags); entries that still fail are named
/// in the problems and lost alone. `None` when no entry could be read.
fn read_entry_by_entry(
    text: &str,
    url: &Url,
    max_items: usize,
    mut problems: Vec<String>,
    why: String,
) -> Option<Extracted> {
    let split = recover::split_entries(text)?;
    let mut feed: Option<Feed> =
        read_xml(&format!("{}{}", split.head, split.closing), url, true).ok();
    let mut entries = Vec::new();
    let mut lost = Vec::new();
    for (i, entry) in split.entries.iter().enumerate() {
        let outcome = match entry {
            recover::Entry::Whole(markup) => read_xml(
                &format!("{}{markup}{}", split.head, split.closing),
                url,
                true,
            )
            .map_err(|e| match e {
                ExtractError::Malformed(m) => m,
                other => other.to_string(),
            }),
            recover::Entry::Unterminated => {
                Err("it never ends (the document is cut off or its end tag is wrong)".to_string())
            }
        };
        match outcome {
            Ok(one) => {
                if feed.is_none() {
                    feed = Some(Feed {
                        entries: Vec::new(),
                        ..one.clone()
                    });
                }
                entries.extend(one.entries);
            }
            Err(e) => lost.push(format!("entry {} lost: {e}", i + 1)),
        }
    }
    if entries.is_empty() {
        return None;
    }
    let mut feed = feed?;
    feed.entries = entries;
    problems.push(format!(
        "not well-formed XML ({why}); read entry by entry, {} of {} entries kept",
        feed.entries.len(),
        split.entries.len()
    ));
    problems.extend(lost);
    Some(convert(feed, url, max_items, problems))
}

/// Dialect upgrade, then feed-rs; a parser panic is a parse error like any other.
fn read_xml(text: &str, url: &Url, lenient: bool) -> Result<Feed, ExtractError> {
    let upgraded = std::panic::catch_unwind(|| dialect::upgrade(text, lenient))
        .map_err(|_| ExtractError::Malformed("the XML parser gave up on this document".into()))?
        .map_err(ExtractError::Malformed)?;
    run_feed_rs(&upgraded, url)
}

fn run_feed_rs(bytes: &[u8], url: &Url) -> Result<Feed, ExtractError> {
    // DTDs need no guard here: `dialect` drops the DOCTYPE, and feed-rs (over
    // quick-xml) never loads external entities and leaves entities it does
    // not know (anything but the five predefined ones and character
    // references) as literal text, so neither "billion laughs" nor XXE can
    // expand. The tests below pin that behaviour against future versions.
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(url.as_str()))
        .timestamp_parser(parse_timestamp)
        // An empty id tells us the partner gave none; `dedup` applies our own rule.
        .id_generator(|_, _, _| String::new())
        .sanitize_content(false)
        .build();
    // feed-rs (through quick-xml) can panic on some malformed documents, e.g. a
    // second XML declaration mid-document (found by fuzzing); a partner's bytes
    // must never take a poll down, so a panic is a parse error like any other.
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse(bytes)))
        .map_err(|_| ExtractError::Malformed("the XML parser gave up on this document".into()))?;
    parsed.map_err(|e| match e {
        feed_rs::parser::ParseFeedError::ParseError(
            feed_rs::parser::ParseErrorKind::NoFeedRoot,
        ) => ExtractError::NotAFeed("no <rss>, <feed>, <rdf:RDF> or JSON Feed root".into()),
        other => ExtractError::Malformed(other.to_string()),
    })
}

fn looks_like_html(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

fn convert(feed: Feed, url: &Url, max_items: usize, problems: Vec<String>) -> Extracted {
    let feed_authors: Vec<String> = feed.authors.iter().filter_map(|p| p.name.clone()).collect();
    let typed = TypedText(feed.feed_type == FeedType::Atom);
    let home = pick_link(&feed.links, url)
        .filter(|l| l != url)
        .or_else(|| feed.links.first().and_then(|l| Url::parse(&l.href).ok()))
        // The home page is republished in credits: a javascript: or data: URL there would be live.
        .filter(is_web_url);
    let total = feed.entries.len();
    let items: Vec<ExtractedItem> = feed
        .entries
        .into_iter()
        .take(max_items)
        .map(|e| convert_entry(e, url, &feed_authors, typed))
        .collect();
    Extracted {
        title: feed.title.map(|t| typed.fragment(&t).text),
        home,
        skipped: total.saturating_sub(items.len()),
        items,
        ttl_minutes: feed.ttl,
        problems,
    }
}

fn convert_entry(
    e: Entry,
    feed_url: &Url,
    feed_authors: &[String],
    typed: TypedText,
) -> ExtractedItem {
    let link = pick_link(&e.links, feed_url);
    let media = media::of_entry(&e, feed_url);
    let base = e
        .base
        .as_deref()
        .and_then(|b| feed_url.join(b).ok())
        .filter(is_web_url)
        .or_else(|| link.clone())
        .or_else(|| Some(feed_url.clone()));
    let mut authors: Vec<String> = e
        .authors
        .iter()
        .filter_map(|p| {
            p.name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
        })
        .collect();
    // RFC 4287 4.2.1: an entry without author inherits the feed's.
    if authors.is_empty() {
        authors = feed_authors.to_vec();
    }
    let content = e.content.and_then(|c| {
        let is_html = !c
            .content_type
            .essence()
            .to_string()
            .starts_with("text/plain");
        c.body.map(|body| Fragment {
            text: body,
            is_html,
            declared: true,
        })
    });
    ExtractedItem {
        guid: Some(e.id.trim().to_string()).filter(|id| !id.is_empty()),
        link,
        title: e.title.as_ref().map(|t| typed.fragment(t)),
        summary: e.summary.as_ref().map(|t| typed.fragment(t)),
        content,
        published: e.published,
        updated: e.updated,
        authors,
        categories: e
            .categories
            .iter()
            .map(|c| c.label.clone().unwrap_or_else(|| c.term.clone()))
            .filter(|c| !c.trim().is_empty())
            .collect(),
        base,
        media,
        origin: Origin {
            title: e.title.as_ref().map(|_| Provenance::Feed),
            date: e.published.map(|_| Provenance::Feed),
        },
    }
}

/// The article link: `alternate` (or no rel) and not an attachment; first wins.
fn pick_link(links: &[Link], base: &Url) -> Option<Url> {
    let is_attachment = |l: &Link| {
        l.media_type.as_deref().is_some_and(|t| {
            t.starts_with("audio/")
                || t.starts_with("video/")
                || t.starts_with("image/")
                || t == "application/pdf"
        })
    };
    links
        .iter()
        .filter(|l| matches!(l.rel.as_deref(), None | Some("alternate")) && !is_attachment(l))
        .filter(|l| l.href != dialect::NO_LINK)
        .find_map(|l| base.join(l.href.trim()).ok())
        .filter(is_web_url)
}

fn is_web_url(u: &Url) -> bool {
    matches!(u.scheme(), "http" | "https")
}

/// Whether the feed's format declares the type of its text constructs. Atom
/// does (`type`, "text" when absent), RSS does not: a plain RSS title may
/// hold HTML, and `normalize` guesses by feedparser's rule. Declared plain
/// text is never guessed at ("Example <b>Atom</b>" in a `type="text"` title
/// is those characters, as feedparser reads it): see `Fragment::declared`.
#[derive(Clone, Copy)]
struct TypedText(bool);

impl TypedText {
    fn fragment(self, t: &Text) -> Fragment {
        let essence = t.content_type.essence().to_string();
        let is_html = essence == "text/html" || essence.contains("xhtml");
        Fragment {
            text: t.content.clone(),
            is_html,
            declared: self.0,
        }
    }
}

#[cfg(test)]
mod tests;
