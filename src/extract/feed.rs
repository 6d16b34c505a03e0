//! The feed-rs adapter: RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and JSON Feed 1.0/1.1
//! into `ExtractedItem`s, with our own id rule (feed-rs would invent random
//! ids) and our German-aware date parser plugged into its timestamp hook.

use feed_rs::model::{Entry, Feed, Link, Text};
use url::Url;

use super::dates::parse_timestamp;
use super::{ExtractError, Extracted, charset};
use crate::model::{ExtractedItem, Fragment, Origin, Provenance};

/// Parses a feed document fetched from `url`.
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
    if let Some(at) = late_xml_declaration(bytes) {
        // quick-xml panics on this (found by fuzzing); no real feed has one.
        return Err(ExtractError::Malformed(format!(
            "a second XML declaration at byte {at}"
        )));
    }
    let prepared = charset::prepare_feed_bytes(bytes, content_type);
    if charset::feed_encoding(bytes, content_type) == encoding_rs::UTF_8 {
        // feed-rs reports this as "cannot decode input" or, before the root
        // element, as "no feed root"; say what is really wrong, and where.
        let text = prepared.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&prepared);
        if let Err(e) = std::str::from_utf8(text) {
            return Err(ExtractError::Malformed(format!(
                "invalid UTF-8 at byte {} (the document is declared as, or defaults to, UTF-8)",
                e.valid_up_to() + (prepared.len() - text.len())
            )));
        }
    }
    // DTDs need no guard here: feed-rs (over quick-xml) skips <!DOCTYPE>,
    // never loads external entities and leaves entities it does not know
    // (anything but the five predefined ones and character references) as
    // literal text, so neither "billion laughs" nor XXE can expand. The
    // tests below pin that behaviour against future versions.
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
    let parsed =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse(&prepared[..])))
            .map_err(|_| {
                ExtractError::Malformed("the XML parser gave up on this document".into())
            })?;
    let feed = parsed.map_err(|e| match e {
        feed_rs::parser::ParseFeedError::ParseError(
            feed_rs::parser::ParseErrorKind::NoFeedRoot,
        ) => ExtractError::NotAFeed("no <rss>, <feed>, <rdf:RDF> or JSON Feed root".into()),
        other => ExtractError::Malformed(other.to_string()),
    })?;
    Ok(convert(feed, url, max_items))
}

/// Position of an `<?xml ` declaration that is not at the start of the document.
fn late_xml_declaration(bytes: &[u8]) -> Option<usize> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace() && !matches!(b, 0xEF | 0xBB | 0xBF))
        .unwrap_or(0);
    bytes
        .windows(6)
        .enumerate()
        .skip(start + 1)
        .find(|(_, w)| w[..5].eq_ignore_ascii_case(b"<?xml") && w[5].is_ascii_whitespace())
        .map(|(i, _)| i)
}

fn looks_like_html(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

fn convert(feed: Feed, url: &Url, max_items: usize) -> Extracted {
    let feed_authors: Vec<String> = feed.authors.iter().filter_map(|p| p.name.clone()).collect();
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
        .map(|e| convert_entry(e, url, &feed_authors))
        .collect();
    Extracted {
        title: feed.title.map(|t| text_of(&t).text),
        home,
        skipped: total.saturating_sub(items.len()),
        items,
        ttl_minutes: feed.ttl,
    }
}

fn convert_entry(e: Entry, feed_url: &Url, feed_authors: &[String]) -> ExtractedItem {
    let link = pick_link(&e.links, feed_url);
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
        })
    });
    ExtractedItem {
        guid: Some(e.id.trim().to_string()).filter(|id| !id.is_empty()),
        link,
        title: e.title.as_ref().map(text_of),
        summary: e.summary.as_ref().map(text_of),
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
        .find_map(|l| base.join(l.href.trim()).ok())
        .filter(is_web_url)
}

fn is_web_url(u: &Url) -> bool {
    matches!(u.scheme(), "http" | "https")
}

fn text_of(t: &Text) -> Fragment {
    let essence = t.content_type.essence().to_string();
    Fragment {
        text: t.content.clone(),
        is_html: essence == "text/html" || essence.contains("xhtml"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("http://partner.example/feed/").unwrap()
    }

    #[test]
    fn items_without_ids_get_no_invented_id() {
        let rss = br#"<rss version="2.0"><channel><title>T</title><item><title>A</title><link>/a</link></item></channel></rss>"#;
        let doc = parse_feed(rss, None, &url(), 10).unwrap();
        assert_eq!(doc.items[0].guid, None);
        assert_eq!(
            doc.items[0].link.as_ref().unwrap().as_str(),
            "http://partner.example/a"
        );
    }

    #[test]
    fn html_and_empty_bodies_are_clear_errors() {
        assert_eq!(
            parse_feed(b"  ", None, &url(), 10),
            Err(ExtractError::Empty)
        );
        assert_eq!(
            parse_feed(
                b"<!doctype html><html><body>Wartung</body></html>",
                None,
                &url(),
                10
            ),
            Err(ExtractError::HtmlNotFeed)
        );
        assert!(matches!(
            parse_feed(
                b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><item><title>Abgeschn",
                None,
                &url(),
                10
            ),
            Err(ExtractError::Malformed(_))
        ));
    }

    #[test]
    fn a_parser_panic_is_a_parse_error() {
        // Found by the feed_ingest fuzz target: quick-xml panics on a second XML declaration.
        let bytes =
            include_bytes!("../../tests/fixtures/fuzz-regressions/feed-second-xml-declaration.xml");
        assert!(matches!(
            parse_feed(bytes, None, &url(), 10),
            Err(ExtractError::Malformed(_))
        ));
    }

    #[test]
    fn entity_bombs_and_external_entities_stay_literal_text() {
        let bomb = br#"<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY xxe SYSTEM "file:///etc/passwd">
 <!ENTITY net SYSTEM "http://127.0.0.1:9/entity">
]>
<rss version="2.0"><channel><title>T &lol3;</title><item><title>A &lol3; &xxe; &net;</title><guid>g1</guid><description>&lol3; &xxe; &amp; &#228;</description></item></channel></rss>"#;
        let doc = parse_feed(bomb, None, &url(), 10).unwrap();
        assert_eq!(doc.title.as_deref(), Some("T &lol3;"));
        let item = &doc.items[0];
        assert_eq!(item.title.as_ref().unwrap().text, "A &lol3; &xxe; &net;");
        // The five predefined entities and character references still work.
        assert_eq!(item.summary.as_ref().unwrap().text, "&lol3; &xxe; & ä");
    }

    #[test]
    fn invalid_utf8_is_named_with_its_offset() {
        for feed in [
            &b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>T</title><item><title>Gr\xfc\xdfe</title></item></channel></rss>"[..],
            &b"<rss version=\"2.0\"><channel><title>T</title><item><title>Gr\xfc\xdfe</title></item></channel></rss>"[..],
            &b"{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"Gr\xfc\xdfe\",\"items\":[]}"[..],
        ] {
            let offset = feed.iter().position(|b| *b == 0xfc).unwrap();
            match parse_feed(feed, Some("application/xml"), &url(), 10) {
                Err(ExtractError::Malformed(m)) => {
                    assert!(m.contains(&format!("invalid UTF-8 at byte {offset}")), "{m}")
                }
                other => panic!("{other:?}"),
            }
        }
        // The same bytes are fine where the feed or the server names Latin-1.
        let latin1 = b"<rss version=\"2.0\"><channel><title>T</title><item><title>Gr\xfc\xdfe</title></item></channel></rss>";
        let doc = parse_feed(latin1, Some("text/xml; charset=iso-8859-1"), &url(), 10).unwrap();
        assert_eq!(doc.items[0].title.as_ref().unwrap().text, "Grüße");
    }

    #[test]
    fn script_urls_never_become_home_or_base() {
        let rss = br#"<rss version="2.0"><channel><title>T</title><link>javascript:alert(1)</link><item><title>A</title><guid>g</guid></item></channel></rss>"#;
        assert_eq!(parse_feed(rss, None, &url(), 10).unwrap().home, None);
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>x</id><link href="data:text/html,hi"/><entry xml:base="javascript:alert(1)//"><id>e</id><title>A</title></entry></feed>"#;
        let doc = parse_feed(atom, None, &url(), 10).unwrap();
        assert_eq!(doc.home, None);
        assert!(
            doc.items[0].base.as_ref().is_none_or(is_web_url),
            "{:?}",
            doc.items[0].base
        );
    }

    #[test]
    fn item_cap_is_reported() {
        let mut rss = String::from(r#"<rss version="2.0"><channel><title>T</title>"#);
        for i in 0..30 {
            rss.push_str(&format!("<item><title>{i}</title><guid>g{i}</guid></item>"));
        }
        rss.push_str("</channel></rss>");
        let doc = parse_feed(rss.as_bytes(), None, &url(), 10).unwrap();
        assert_eq!((doc.items.len(), doc.skipped), (10, 20));
    }
}
