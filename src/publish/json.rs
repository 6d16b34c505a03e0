//! JSON Feed 1.1 output. Sources are credited in `_revierfeed`, the
//! extension namespace JSON Feed reserves for publishers (keys starting "_").
//! Paging: `next_url` names the next older archive page, as Atom's `prev-archive`.
//! The picture is the item's `image`, other files its `attachments`.

use serde::Serialize;

use super::Format;
use super::entries::{Credit, Entry, FeedDoc};
use super::media;
use crate::model::Media;

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: &'a str,
    feed_url: String,
    /// JSON Feed's paging: the next older page (the RFC 5005 archive the Atom feed names).
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    language: &'a str,
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<Hub<'a>>,
    items: Vec<JsonItem<'a>>,
}

#[derive(Serialize)]
struct Hub<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
struct Author<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    title: &'a str,
    content_html: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a str>,
    date_published: String,
    date_modified: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment<'a>>,
    _revierfeed: Extension<'a>,
}

#[derive(Serialize)]
struct Attachment<'a> {
    url: &'a str,
    mime_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_in_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_in_seconds: Option<u64>,
}

#[derive(Serialize)]
struct Extension<'a> {
    about: &'static str,
    sources: Vec<JsonSource<'a>>,
}

#[derive(Serialize)]
struct JsonSource<'a> {
    id: &'a str,
    name: &'a str,
    feed_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    home_page_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    date_published: String,
}

fn source(c: &Credit) -> JsonSource<'_> {
    JsonSource {
        id: &c.source_id,
        name: &c.name,
        feed_url: &c.feed_url,
        home_page_url: c.home_url.as_deref(),
        url: c.link.as_deref(),
        date_published: c
            .published
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

fn item(e: &Entry) -> JsonItem<'_> {
    JsonItem {
        id: &e.id,
        url: e.link.as_deref(),
        title: &e.title,
        content_html: &e.content_html,
        summary: e.summary.as_deref(),
        date_published: e
            .published
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        date_modified: e.updated.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        authors: e.authors.iter().map(|a| Author { name: a }).collect(),
        tags: e
            .categories
            .iter()
            .chain(e.tags.iter())
            .map(String::as_str)
            .collect(),
        image: Media::picture(&e.media).map(|m| m.url.as_str()),
        attachments: Media::attachments(&e.media)
            .map(|m| Attachment {
                url: &m.url,
                mime_type: media::mime_type(m),
                title: m.title.as_deref(),
                size_in_bytes: m.length,
                duration_in_seconds: m.duration_secs,
            })
            .collect(),
        _revierfeed: Extension {
            about: "https://github.com/revierfeed/revierfeed#json-feed-extension",
            sources: std::iter::once(&e.origin)
                .chain(e.also.iter())
                .map(source)
                .collect(),
        },
    }
}

/// `doc` as a JSON Feed 1.1 document.
pub(crate) fn render(doc: &FeedDoc) -> Vec<u8> {
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: &doc.title,
        home_page_url: &doc.home_url,
        feed_url: doc.self_url(Format::Json),
        next_url: doc.older.as_deref().map(|older| Format::Json.path(older)),
        description: doc.subtitle.as_deref(),
        language: &doc.language,
        authors: vec![Author { name: &doc.author }],
        hubs: doc
            .links
            .iter()
            .filter(|l| l.rel == "hub")
            .map(|l| Hub {
                kind: "WebSub",
                url: &l.href,
            })
            .collect(),
        items: doc.entries.iter().map(item).collect(),
    };
    serde_json::to_vec_pretty(&feed).expect("serialising plain data cannot fail")
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::entries::sample;
    use super::*;

    fn rendered(doc: &FeedDoc) -> Value {
        serde_json::from_slice(&render(doc)).expect("valid JSON")
    }

    /// JSON Feed readers expect a field to be absent, not null.
    fn assert_no_nulls(v: &Value, at: &str) {
        match v {
            Value::Null => panic!("{at} is null"),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, x)| assert_no_nulls(x, &format!("{at}[{i}]"))),
            Value::Object(o) => o
                .iter()
                .for_each(|(k, x)| assert_no_nulls(x, &format!("{at}.{k}"))),
            _ => {}
        }
    }

    #[test]
    fn the_feed_object_is_json_feed_1_1() {
        let feed = rendered(&sample::doc());
        assert_no_nulls(&feed, "feed");
        let keys: Vec<&str> = feed
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for key in &keys {
            assert!(
                [
                    "version",
                    "title",
                    "home_page_url",
                    "feed_url",
                    "description",
                    "language",
                    "authors",
                    "hubs",
                    "items"
                ]
                .contains(key),
                "{key} is no JSON Feed 1.1 top-level field"
            );
        }
        assert_eq!(feed["version"], "https://jsonfeed.org/version/1.1");
        assert_eq!(feed["title"], "Lausitz & Umgebung");
        assert_eq!(feed["home_page_url"], "https://feed.example/");
        assert_eq!(feed["feed_url"], "https://feed.example/feed.json");
        assert_eq!(feed["description"], "Neues <aus> der Region");
        assert_eq!(feed["authors"], json!([{"name": "Revier-Redaktion"}]));
        assert!(feed.get("author").is_none(), "1.0's author is gone in 1.1");
        assert_eq!(
            feed["hubs"],
            json!([{"type": "WebSub", "url": "https://hub.example/"}])
        );
        let mut no_hub = sample::doc();
        no_hub.links.clear();
        no_hub.subtitle = None;
        let feed = rendered(&no_hub);
        assert!(feed.get("hubs").is_none() && feed.get("description").is_none());
    }

    #[test]
    fn a_story_item_credits_every_partner_in_the_extension() {
        let doc = sample::doc();
        let feed = rendered(&doc);
        let item = &feed["items"][0];
        assert_eq!(item["id"], doc.entries[0].id.as_str());
        assert_eq!(item["url"], "https://verein.example/a?x=1&y=2");
        assert_eq!(item["title"], "Batteriespeicher am Netz");
        assert_eq!(item["content_html"], doc.entries[0].content_html.as_str());
        assert_eq!(item["summary"], "Der Speicher läuft.");
        assert_eq!(item["date_published"], "2026-03-02T09:30:00Z");
        assert_eq!(item["date_modified"], "2026-03-02T12:30:00Z");
        assert_eq!(item["authors"], json!([{"name": "Anna Beispiel"}]));
        assert_eq!(item["tags"], json!(["Energie", "speicher"]));
        let ext = &item["_revierfeed"];
        assert!(ext["about"].as_str().unwrap().starts_with("https://"));
        let sources: Vec<(&str, Option<&str>, &str)> = ext["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["id"].as_str().unwrap(),
                    s["url"].as_str(),
                    s["date_published"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            sources,
            vec![
                (
                    "verein",
                    Some("https://verein.example/a?x=1&y=2"),
                    "2026-03-02T09:30:00Z"
                ),
                (
                    "zeitung",
                    Some("https://zeitung.example/b"),
                    "2026-03-02T10:30:00Z"
                ),
                ("radio", None, "2026-03-02T11:30:00Z"),
            ],
            "the origin first, then the others"
        );
        assert_eq!(
            ext["sources"][0]["feed_url"],
            "https://verein.example/feed/"
        );
        assert_eq!(ext["sources"][0]["name"], "Quelle verein & Co");
    }

    #[test]
    fn an_item_without_link_authors_or_tags_leaves_them_out() {
        let feed = rendered(&sample::doc());
        let item = feed["items"][1].as_object().unwrap();
        assert_eq!(item["title"], sample::HOSTILE_TITLE);
        for absent in ["url", "summary", "authors", "tags"] {
            assert!(!item.contains_key(absent), "{absent} present: {item:?}");
        }
        assert_no_nulls(&feed, "feed");
    }
}
