//! RSS 2.0 output via the rss crate: atom:link rel=self, a permanent guid
//! per entry, `<source>` naming the original partner, dc:creator for authors;
//! one `<enclosure>` (RSS allows one: the first attachment, else the
//! picture) and every file as `media:content`, the picture as `media:thumbnail`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::extension::{Extension, ExtensionMap};
use rss::{Category, Channel, Enclosure, Guid, Item, Source};

use super::Format;
use super::entries::{Entry, FeedDoc};
use super::media;
use crate::model::{Media, Medium};

fn date(t: DateTime<Utc>) -> String {
    t.to_rfc2822()
}

/// `<enclosure>` and the Media RSS elements of an entry.
fn media_of(e: &Entry) -> (Option<Enclosure>, ExtensionMap) {
    let picture = Media::picture(&e.media);
    // A recording or document is what an enclosure is for; a picture only when there is nothing else.
    let enclosure = Media::attachments(&e.media)
        .find(|m| m.medium != Medium::Image)
        .or_else(|| Media::attachments(&e.media).next())
        .or(picture)
        .map(|m| Enclosure {
            url: m.url.clone(),
            // RSS requires a length; 0 is the RSS Advisory Board's "unknown".
            length: m.length.unwrap_or(0).to_string(),
            mime_type: media::mime_type(m).to_string(),
        });
    let element = |name: &str, attrs| Extension {
        name: format!("media:{name}"),
        attrs,
        ..Default::default()
    };
    let mut by_name: BTreeMap<String, Vec<Extension>> = BTreeMap::new();
    let contents: Vec<Extension> = Media::attachments(&e.media)
        .chain(picture.filter(|p| p.preview))
        .map(|m| element("content", media::content_attrs(m)))
        .collect();
    if !contents.is_empty() {
        by_name.insert("content".into(), contents);
    }
    if let Some(p) = picture {
        by_name.insert(
            "thumbnail".into(),
            vec![element("thumbnail", media::thumbnail_attrs(p))],
        );
    }
    let mut extensions = ExtensionMap::new();
    if !by_name.is_empty() {
        extensions.insert("media".into(), by_name);
    }
    (enclosure, extensions)
}

fn item(e: &Entry, tags_base: &str) -> Item {
    let (enclosure, extensions) = media_of(e);
    Item {
        enclosure,
        extensions,
        title: Some(e.title.clone()),
        link: e.link.clone(),
        description: Some(e.content_html.clone()),
        guid: Some(Guid {
            value: e.id.clone(),
            permalink: false,
        }),
        pub_date: Some(date(e.published)),
        categories: e
            .categories
            .iter()
            .map(|c| Category {
                name: c.clone(),
                domain: None,
            })
            .chain(e.tags.iter().map(|t| Category {
                name: t.clone(),
                domain: Some(tags_base.to_string()),
            }))
            .collect(),
        source: Some(Source {
            url: e.origin.feed_url.clone(),
            title: Some(e.origin.name.clone()),
        }),
        dublin_core_ext: (!e.authors.is_empty()).then(|| DublinCoreExtension {
            creators: e.authors.clone(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `doc` as an RSS 2.0 channel.
pub(crate) fn render(doc: &FeedDoc) -> Vec<u8> {
    let mut namespaces = BTreeMap::new();
    namespaces.insert(
        "atom".to_string(),
        "http://www.w3.org/2005/Atom".to_string(),
    );
    namespaces.insert(
        "dc".to_string(),
        "http://purl.org/dc/elements/1.1/".to_string(),
    );
    if doc.entries.iter().any(|e| !e.media.is_empty()) {
        namespaces.insert("media".to_string(), media::MRSS.to_string());
    }
    let channel = Channel {
        title: doc.title.clone(),
        link: doc.home_url.clone(),
        description: doc.subtitle.clone().unwrap_or_else(|| doc.title.clone()),
        language: Some(doc.language.clone()),
        last_build_date: Some(date(doc.updated)),
        generator: Some(format!("revierfeed {}", env!("CARGO_PKG_VERSION"))),
        docs: Some("https://www.rssboard.org/rss-specification".into()),
        atom_ext: Some(AtomExtension {
            links: std::iter::once(Link {
                href: doc.self_url(Format::Rss),
                rel: "self".into(),
                mime_type: Some(Format::Rss.media_type().into()),
                ..Default::default()
            })
            .chain(doc.links.iter().filter(|l| l.rel == "hub").map(|l| Link {
                href: l.href.clone(),
                rel: "hub".into(),
                ..Default::default()
            }))
            .collect(),
        }),
        items: doc
            .entries
            .iter()
            .map(|e| item(e, &doc.tags_base))
            .collect(),
        namespaces,
        ..Default::default()
    };
    // The writer emits the XML declaration itself (UTF-8).
    channel
        .write_to(Vec::new())
        .expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use roxmltree::{Document, Node};

    use super::super::entries::sample;
    use super::*;

    const ATOM: &str = "http://www.w3.org/2005/Atom";
    const DC: &str = "http://purl.org/dc/elements/1.1/";

    /// Children in no namespace (RSS 2.0's own elements) or in `ns`.
    fn children<'a, 'i>(
        n: Node<'a, 'i>,
        ns: Option<&'a str>,
        name: &'a str,
    ) -> impl Iterator<Item = Node<'a, 'i>> {
        n.children()
            .filter(move |c| c.tag_name().namespace() == ns && c.tag_name().name() == name)
    }

    fn text<'a>(n: Node<'a, '_>, name: &'a str) -> Option<&'a str> {
        children(n, None, name)
            .next()
            .map(|c| c.text().unwrap_or(""))
    }

    fn parse(out: &str) -> Document<'_> {
        Document::parse(out).expect("well-formed, namespace-correct XML")
    }

    #[test]
    fn channel_names_itself_in_atom_and_dates_in_rfc_2822() {
        let out = String::from_utf8(render(&sample::doc())).unwrap();
        assert!(out.starts_with("<?xml version=\"1.0\""), "{out}");
        let xml = parse(&out);
        let rss = xml.root_element();
        assert_eq!(
            (rss.tag_name().name(), rss.attribute("version")),
            ("rss", Some("2.0"))
        );
        let channel = children(rss, None, "channel").next().unwrap();
        assert_eq!(text(channel, "title"), Some("Lausitz & Umgebung"));
        assert_eq!(text(channel, "link"), Some("https://feed.example/"));
        assert_eq!(text(channel, "description"), Some("Neues <aus> der Region"));
        assert_eq!(text(channel, "language"), Some("de"));
        let built = text(channel, "lastBuildDate").unwrap();
        assert_eq!(
            DateTime::parse_from_rfc2822(built).unwrap(),
            sample::at(12),
            "{built}"
        );
        let atom_links: Vec<(Option<&str>, Option<&str>, Option<&str>)> =
            children(channel, Some(ATOM), "link")
                .map(|l| (l.attribute("rel"), l.attribute("href"), l.attribute("type")))
                .collect();
        assert_eq!(
            atom_links,
            vec![
                (
                    Some("self"),
                    Some("https://feed.example/feed.rss"),
                    Some("application/rss+xml")
                ),
                (Some("hub"), Some("https://hub.example/"), None),
            ]
        );
    }

    #[test]
    fn an_item_has_a_permanent_guid_its_source_creators_and_tag_domains() {
        let doc = sample::doc();
        let out = String::from_utf8(render(&doc)).unwrap();
        let xml = parse(&out);
        let channel = children(xml.root_element(), None, "channel")
            .next()
            .unwrap();
        let items: Vec<Node> = children(channel, None, "item").collect();
        assert_eq!(items.len(), 2);
        let story = items[0];
        let guid = children(story, None, "guid").next().unwrap();
        assert_eq!(guid.text(), Some(doc.entries[0].id.as_str()));
        assert_eq!(
            guid.attribute("isPermaLink"),
            Some("false"),
            "a urn:uuid is no link"
        );
        assert_eq!(
            text(story, "link"),
            Some("https://verein.example/a?x=1&y=2")
        );
        assert_eq!(
            DateTime::parse_from_rfc2822(text(story, "pubDate").unwrap()).unwrap(),
            sample::at(9)
        );
        // The story's other partners are credited in the description: RSS has one <source>.
        assert_eq!(
            text(story, "description"),
            Some(doc.entries[0].content_html.as_str())
        );
        assert!(
            doc.entries[0]
                .content_html
                .contains("https://zeitung.example/b")
        );
        let sources: Vec<Node> = children(story, None, "source").collect();
        assert_eq!(sources.len(), 1);
        assert_eq!(
            sources[0].attribute("url"),
            Some("https://verein.example/feed/")
        );
        assert_eq!(sources[0].text(), Some("Quelle verein & Co"));
        let creators: Vec<&str> = children(story, Some(DC), "creator")
            .map(|c| c.text().unwrap())
            .collect();
        assert_eq!(creators, vec!["Anna Beispiel"]);
        // RSS 2.0's <author> must be an e-mail address; names go in dc:creator.
        assert!(text(story, "author").is_none());
        let categories: Vec<(Option<&str>, Option<&str>)> = children(story, None, "category")
            .map(|c| (c.text(), c.attribute("domain")))
            .collect();
        assert_eq!(
            categories,
            vec![
                (Some("Energie"), None),
                (Some("speicher"), Some("https://feed.example/tags/"))
            ]
        );
    }

    #[test]
    fn text_a_partner_wrote_round_trips_and_a_linkless_item_has_no_link() {
        let doc = sample::doc();
        let out = String::from_utf8(render(&doc)).unwrap();
        let xml = parse(&out);
        let channel = children(xml.root_element(), None, "channel")
            .next()
            .unwrap();
        let lone = children(channel, None, "item").nth(1).unwrap();
        assert_eq!(text(lone, "title"), Some(sample::HOSTILE_TITLE));
        assert_eq!(text(lone, "link"), None);
        assert_eq!(
            text(lone, "description"),
            Some(doc.entries[1].content_html.as_str())
        );
        assert!(children(lone, Some(DC), "creator").next().is_none());
    }
}
