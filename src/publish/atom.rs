//! Atom 1.0 output (RFC 4287) via atom_syndication: rel=self, feed id and
//! updated, and per entry an atom:source crediting the original partner,
//! the original article as rel=alternate and other partners as rel=related;
//! RFC 5005 archive links and `<fh:archive/>`, WebSub `rel="hub"`;
//! attachments as `rel="enclosure"` links (type and length), the picture
//! as `media:thumbnail`.

use std::collections::BTreeMap;

use atom_syndication::extension::Extension;
use atom_syndication::{
    Category, Content, Entry as AtomEntry, Feed, FixedDateTime, Link, Person, Source, Text,
};
use chrono::{DateTime, Utc};

use super::Format;
use super::entries::{Credit, Entry, FeedDoc};
use super::media;
use crate::model::Media;

fn date(t: DateTime<Utc>) -> FixedDateTime {
    t.fixed_offset()
}

fn link(href: &str, rel: &str, mime: Option<&str>, title: Option<&str>) -> Link {
    Link {
        href: href.to_string(),
        rel: rel.to_string(),
        mime_type: mime.map(str::to_string),
        title: title.map(str::to_string),
        ..Default::default()
    }
}

fn source(c: &Credit) -> Source {
    let mut links = vec![link(&c.feed_url, "self", None, None)];
    if let Some(home) = &c.home_url {
        links.push(link(home, "alternate", Some("text/html"), None));
    }
    Source {
        title: Text::plain(c.name.clone()),
        id: c.feed_url.clone(),
        updated: date(c.published),
        links,
        ..Default::default()
    }
}

fn entry(e: &Entry, tags_base: &str) -> AtomEntry {
    let mut links = Vec::new();
    if let Some(href) = &e.link {
        links.push(link(href, "alternate", Some("text/html"), None));
    }
    for other in &e.also {
        if let Some(href) = &other.link {
            links.push(link(href, "related", Some("text/html"), Some(&other.name)));
        }
    }
    for m in Media::attachments(&e.media) {
        links.push(Link {
            length: m.length.map(|l| l.to_string()),
            ..link(
                &m.url,
                "enclosure",
                Some(media::mime_type(m)),
                m.title.as_deref(),
            )
        });
    }
    let mut extensions = BTreeMap::new();
    if let Some(picture) = Media::picture(&e.media) {
        let thumbnail = Extension {
            name: "media:thumbnail".into(),
            attrs: media::thumbnail_attrs(picture),
            ..Default::default()
        };
        extensions.insert(
            "media".to_string(),
            BTreeMap::from([("thumbnail".to_string(), vec![thumbnail])]),
        );
    }
    AtomEntry {
        title: Text::plain(e.title.clone()),
        id: e.id.clone(),
        updated: date(e.updated),
        published: Some(date(e.published)),
        authors: e
            .authors
            .iter()
            .map(|a| Person {
                name: a.clone(),
                ..Default::default()
            })
            .collect(),
        categories: e
            .categories
            .iter()
            .map(|c| Category {
                term: c.clone(),
                ..Default::default()
            })
            .chain(e.tags.iter().map(|t| Category {
                term: t.clone(),
                scheme: Some(tags_base.to_string()),
                label: None,
            }))
            .collect(),
        links,
        summary: e.summary.as_ref().map(|s| Text::plain(s.clone())),
        content: Some(Content {
            value: Some(e.content_html.clone()),
            content_type: Some("html".into()),
            ..Default::default()
        }),
        source: Some(source(&e.origin)),
        extensions,
        ..Default::default()
    }
}

/// RFC 5005 feed history namespace.
const FH: &str = "http://purl.org/syndication/history/1.0";

/// `doc` as an Atom feed document.
pub(crate) fn render(doc: &FeedDoc) -> Vec<u8> {
    let atom = Format::Atom.media_type();
    let mut links = vec![
        link(&doc.self_url(Format::Atom), "self", Some(atom), None),
        link(&doc.home_url, "alternate", Some("text/html"), None),
    ];
    if let Some(older) = &doc.older {
        links.push(link(
            &Format::Atom.path(older),
            "prev-archive",
            Some(atom),
            None,
        ));
    }
    links.extend(doc.links.iter().map(|l| {
        let mime = (l.rel != "hub").then_some(atom);
        link(&l.href, l.rel, mime, None)
    }));
    let mut namespaces = BTreeMap::new();
    let mut extensions = BTreeMap::new();
    if doc
        .entries
        .iter()
        .any(|e| Media::picture(&e.media).is_some())
    {
        namespaces.insert("media".to_string(), media::MRSS.to_string());
    }
    if doc.archive {
        namespaces.insert("fh".to_string(), FH.to_string());
        let archive = Extension {
            name: "fh:archive".into(),
            ..Default::default()
        };
        extensions.insert(
            "fh".to_string(),
            BTreeMap::from([("archive".to_string(), vec![archive])]),
        );
    }
    let feed = Feed {
        title: Text::plain(doc.title.clone()),
        id: doc.id.clone(),
        updated: date(doc.updated),
        authors: vec![Person {
            name: doc.author.clone(),
            ..Default::default()
        }],
        links,
        subtitle: doc.subtitle.as_ref().map(|s| Text::plain(s.clone())),
        generator: Some(atom_syndication::Generator {
            value: "revierfeed".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
            ..Default::default()
        }),
        lang: Some(doc.language.clone()),
        entries: doc
            .entries
            .iter()
            .map(|e| entry(e, &doc.tags_base))
            .collect(),
        namespaces,
        extensions,
        ..Default::default()
    };
    // The writer emits the XML declaration itself (UTF-8).
    feed.write_to(Vec::new())
        .expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use roxmltree::{Document, Node};

    use super::super::entries::sample;
    use super::*;

    const ATOM: &str = "http://www.w3.org/2005/Atom";

    fn children<'a, 'i>(n: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> {
        n.children()
            .filter(move |c| c.tag_name().namespace() == Some(ATOM) && c.tag_name().name() == name)
    }

    fn text<'a>(n: Node<'a, '_>, name: &'a str) -> &'a str {
        children(n, name)
            .next()
            .unwrap_or_else(|| panic!("no atom:{name}"))
            .text()
            .unwrap_or("")
    }

    fn links(n: Node) -> Vec<(String, String, Option<String>)> {
        children(n, "link")
            .map(|l| {
                (
                    l.attribute("rel").unwrap().to_string(),
                    l.attribute("href").unwrap().to_string(),
                    l.attribute("type").map(str::to_string),
                )
            })
            .collect()
    }

    #[test]
    fn feed_head_names_itself_its_page_and_its_hub() {
        let out = String::from_utf8(render(&sample::doc())).unwrap();
        assert!(out.starts_with("<?xml version=\"1.0\""), "{out}");
        let xml = Document::parse(&out).expect("well-formed, namespace-correct XML");
        let feed = xml.root_element();
        assert_eq!(
            (feed.tag_name().namespace(), feed.tag_name().name()),
            (Some(ATOM), "feed")
        );
        assert_eq!(
            text(feed, "id"),
            "urn:uuid:00000000-0000-4000-8000-000000000001"
        );
        assert_eq!(text(feed, "title"), "Lausitz & Umgebung");
        assert_eq!(text(feed, "subtitle"), "Neues <aus> der Region");
        assert_eq!(text(feed, "updated"), "2026-03-02T12:30:00+00:00");
        let author = children(feed, "author")
            .next()
            .expect("a feed author (RFC 4287 4.1.1)");
        assert_eq!(text(author, "name"), "Revier-Redaktion");
        assert_eq!(
            links(feed),
            vec![
                (
                    "self".into(),
                    "https://feed.example/feed.atom".into(),
                    Some("application/atom+xml".into())
                ),
                (
                    "alternate".into(),
                    "https://feed.example/".into(),
                    Some("text/html".into())
                ),
                ("hub".into(), "https://hub.example/".into(), None),
            ]
        );
        assert!(
            !out.contains("history/1.0"),
            "only archive documents declare RFC 5005"
        );
    }

    #[test]
    fn a_story_entry_credits_its_origin_and_links_every_other_partner() {
        let out = String::from_utf8(render(&sample::doc())).unwrap();
        let xml = Document::parse(&out).unwrap();
        let entries: Vec<Node> = children(xml.root_element(), "entry").collect();
        assert_eq!(entries.len(), 2);
        let e = entries[0];
        assert_eq!(
            text(e, "id"),
            "urn:uuid:11111111-1111-4111-8111-111111111111"
        );
        assert_eq!(text(e, "published"), "2026-03-02T09:30:00+00:00");
        assert_eq!(text(e, "updated"), "2026-03-02T12:30:00+00:00");
        assert_eq!(
            text(children(e, "author").next().unwrap(), "name"),
            "Anna Beispiel"
        );
        assert_eq!(
            links(e),
            vec![
                (
                    "alternate".into(),
                    "https://verein.example/a?x=1&y=2".into(),
                    Some("text/html".into())
                ),
                (
                    "related".into(),
                    "https://zeitung.example/b".into(),
                    Some("text/html".into())
                ),
            ],
            "the radio has no link of its own to relate"
        );
        let related = children(e, "link").nth(1).unwrap();
        assert_eq!(related.attribute("title"), Some("Quelle zeitung & Co"));
        let categories: Vec<(&str, Option<&str>)> = children(e, "category")
            .map(|c| (c.attribute("term").unwrap(), c.attribute("scheme")))
            .collect();
        assert_eq!(
            categories,
            vec![
                ("Energie", None),
                ("speicher", Some("https://feed.example/tags/"))
            ]
        );
        let content = children(e, "content").next().unwrap();
        assert_eq!(content.attribute("type"), Some("html"));
        assert_eq!(
            content.text(),
            Some(sample::doc().entries[0].content_html.as_str())
        );
        assert_eq!(text(e, "summary"), "Der Speicher läuft.");
        let source = children(e, "source").next().expect("atom:source");
        assert_eq!(text(source, "id"), "https://verein.example/feed/");
        assert_eq!(text(source, "title"), "Quelle verein & Co");
        assert_eq!(text(source, "updated"), "2026-03-02T09:30:00+00:00");
        assert_eq!(
            links(source),
            vec![
                ("self".into(), "https://verein.example/feed/".into(), None),
                (
                    "alternate".into(),
                    "https://verein.example/".into(),
                    Some("text/html".into())
                ),
            ]
        );
    }

    #[test]
    fn text_a_partner_wrote_round_trips_and_a_linkless_item_has_no_link() {
        let out = String::from_utf8(render(&sample::doc())).unwrap();
        let xml = Document::parse(&out).unwrap();
        let e = children(xml.root_element(), "entry").nth(1).unwrap();
        assert_eq!(text(e, "title"), sample::HOSTILE_TITLE);
        assert!(links(e).is_empty());
        assert!(children(e, "summary").next().is_none());
        assert!(children(e, "author").next().is_none());
        assert_eq!(
            children(e, "content").next().unwrap().text(),
            Some(sample::doc().entries[1].content_html.as_str())
        );
    }

    #[test]
    fn an_archive_document_says_so_in_the_rfc_5005_namespace() {
        let out = String::from_utf8(render(&sample::archive())).unwrap();
        let xml = Document::parse(&out).unwrap();
        let feed = xml.root_element();
        let marks: Vec<Node> = feed
            .children()
            .filter(|c| c.tag_name().namespace() == Some(FH) && c.tag_name().name() == "archive")
            .collect();
        assert_eq!(marks.len(), 1, "one fh:archive in {out}");
        assert!(links(feed).contains(&(
            "prev-archive".into(),
            "https://feed.example/archive/1.atom".into(),
            Some("application/atom+xml".into())
        )));
    }
}
