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
