//! RSS 2.0 output via the rss crate: atom:link rel=self, a permanent guid
//! per entry, `<source>` naming the original partner, dc:creator for authors.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, Channel, Guid, Item, Source};

use super::Format;
use super::entries::{Entry, FeedDoc};

fn date(t: DateTime<Utc>) -> String {
    t.to_rfc2822()
}

fn item(e: &Entry, tags_base: &str) -> Item {
    Item {
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
