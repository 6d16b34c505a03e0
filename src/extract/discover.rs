//! Finding a partner's feed from any URL it gives us: is the document itself
//! a feed, which feeds does an HTML page announce (`<link rel="alternate">`,
//! or plain "RSS" links), and which common feed paths are worth one try.

use url::Url;

use super::html::{Page, same_site, sel, text_of};

/// A feed a page points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedLink {
    pub url: Url,
    pub title: Option<String>,
    /// Declared media type, if any.
    pub media_type: Option<String>,
}

const FEED_TYPES: &[&str] = &[
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
    "text/xml",
    "application/xml",
];

/// Whether fetched bytes are a feed rather than a web page (by type, then by content).
pub fn looks_like_feed(body: &[u8], content_type: Option<&str>) -> bool {
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    if ct.contains("rss") || ct.contains("atom") || ct.contains("rdf") || ct.contains("feed+json") {
        return true;
    }
    let head = String::from_utf8_lossy(&body[..body.len().min(2048)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    if head.starts_with('{') {
        return head.contains("jsonfeed.org");
    }
    if head.starts_with("<!doctype html") || head.starts_with("<html") {
        return false;
    }
    head.contains("<rss") || head.contains("<feed") || head.contains("<rdf:rdf")
}

/// Feeds an HTML page announces, best first: `<link rel="alternate">` in
/// document order (comment feeds last), then body links that look like feeds.
pub fn feed_links(page: &Page) -> Vec<FeedLink> {
    let mut out: Vec<FeedLink> = Vec::new();
    let mut comments = Vec::new();
    for link in page.doc.select(&sel("link[rel][href]")) {
        let v = link.value();
        let rel = v.attr("rel").unwrap_or("").to_ascii_lowercase();
        let ty = v.attr("type").unwrap_or("").trim().to_ascii_lowercase();
        if !rel.split_whitespace().any(|r| r == "alternate") || !FEED_TYPES.contains(&ty.as_str()) {
            continue;
        }
        let Some(url) = v.attr("href").and_then(|h| page.resolve(h)) else {
            continue;
        };
        let title = v
            .attr("title")
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let is_comments = url.path().contains("/comments/")
            || title.as_deref().is_some_and(|t| {
                let t = t.to_lowercase();
                t.contains("kommentar") || t.contains("comments")
            });
        let feed = FeedLink {
            url,
            title,
            media_type: Some(ty),
        };
        if is_comments {
            comments.push(feed);
        } else if !out.iter().any(|f| f.url == feed.url) {
            out.push(feed);
        }
    }
    for a in page.doc.select(&sel("a[href]")) {
        let Some(url) = a.value().attr("href").and_then(|h| page.resolve(h)) else {
            continue;
        };
        let text = text_of(&a).to_lowercase();
        let path = url.path().to_ascii_lowercase();
        let feedish_path = path.ends_with(".rss")
            || path.ends_with("/rss")
            || path.ends_with("/feed")
            || path.ends_with("/feed/")
            || path.ends_with("rss.xml")
            || path.ends_with("atom.xml")
            || path.ends_with("feed.xml")
            || path.ends_with("feed.json");
        let feedish_text = matches!(
            text.as_str(),
            "rss" | "rss-feed" | "rss feed" | "feed" | "atom" | "newsfeed" | "news-feed"
        );
        if (feedish_path || feedish_text)
            && same_site(&url, &page.url)
            && !out.iter().chain(comments.iter()).any(|f| f.url == url)
        {
            out.push(FeedLink {
                url,
                title: None,
                media_type: None,
            });
        }
    }
    out.extend(comments);
    out
}

/// Where CMSs usually put feeds, tried (once, at discovery) when a page announces none.
pub fn common_feed_urls(page_url: &Url) -> Vec<Url> {
    [
        "/feed/",
        "/rss.xml",
        "/feed.xml",
        "/atom.xml",
        "/index.xml",
        "/rss/",
    ]
    .iter()
    .filter_map(|p| page_url.join(p).ok())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(html: &str) -> Page {
        Page::parse(html, &Url::parse("https://site.example/start/").unwrap()).unwrap()
    }

    #[test]
    fn alternate_links_first_comments_last_relative_resolved() {
        let p = page(
            r#"<head><link rel="alternate" type="application/rss+xml" title="Kommentar-Feed" href="/comments/feed/">
            <link rel="alternate" type="application/atom+xml" title="Aktuelles" href="aktuelles/atom.xml">
            <link rel="stylesheet" href="x.css"></head><body><a href="/rss.xml">RSS</a></body>"#,
        );
        let urls: Vec<String> = feed_links(&p)
            .into_iter()
            .map(|f| f.url.to_string())
            .collect();
        assert_eq!(
            urls,
            vec![
                "https://site.example/start/aktuelles/atom.xml",
                "https://site.example/rss.xml",
                "https://site.example/comments/feed/"
            ]
        );
    }

    #[test]
    fn feeds_are_told_from_pages() {
        assert!(looks_like_feed(
            b"<?xml version=\"1.0\"?><rss version=\"2.0\">",
            Some("text/xml")
        ));
        assert!(looks_like_feed(
            b"{\"version\":\"https://jsonfeed.org/version/1.1\"}",
            Some("application/json")
        ));
        assert!(!looks_like_feed(
            b"<!DOCTYPE html><html>",
            Some("text/html")
        ));
        assert!(looks_like_feed(
            b"<feed xmlns=\"http://www.w3.org/2005/Atom\">",
            None
        ));
    }
}
